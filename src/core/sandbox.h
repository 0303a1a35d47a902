// The sandbox record and its lifecycle vocabulary: the pure domain shared by
// every module. No I/O; all functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/time.h"

namespace sbx::core {

enum class SandboxStatus { kStarting, kRunning, kPausing, kPaused, kKilled };

// "STARTING", "RUNNING", … as on the wire.
std::string_view StatusName(SandboxStatus s);
// Parses the wire name (case-sensitive); kInvalidArgument otherwise.
Result<SandboxStatus> ParseStatus(std::string_view name);

struct LastError {
  std::string code;     // "pause_failed", "resume_failed", "create_failed", …
  std::string message;  // human-readable, names the sandbox
  SystemTime at;
  friend bool operator==(const LastError&, const LastError&) = default;
};

using Metadata = std::map<std::string, std::string>;

// Busy holds: named, expiring keep-alives (POST …/sandbox/holds), by name,
// each with the instant it expires. While one is unexpired the sandbox's
// pauseAt is at least its expiry.
using Holds = std::map<std::string, SystemTime>;

// The newest activity of each source that reported any ("api", "presence",
// "preview", and "start" for the sandbox starting to run), by
// core::EventSourceName. lastActivityAt is the latest of them.
using ActivityBySource = std::map<std::string, SystemTime>;

// One project's current sandbox. A project has at most one; when it is killed
// the record stays (status KILLED) until a wake or create replaces it.
struct Sandbox {
  std::string project_id;
  std::string sandbox_id;  // provider's id; empty while the first create runs
  SandboxStatus status = SandboxStatus::kStarting;
  std::optional<std::string> url;
  std::string template_name;
  int64_t idle_timeout_s = 180;
  // The idle policy the project chose (policy/policy.h names); empty: the
  // deployment's (--idle-policy).
  std::string idle_policy;
  SystemTime last_activity_at{};
  SystemTime created_at{};
  SystemTime updated_at{};
  int64_t version = 0;  // 0 = never stored; increments on every change
  std::optional<LastError> last_error;
  // Timestamp of the newest provider/lifecycle event applied: events older
  // than this are stale and never move the record.
  SystemTime last_event_at{};
  // Provider-side end of life (E2B `set_timeout`), when known.
  std::optional<SystemTime> provider_end_at;
  Metadata metadata;
  // Placed while STARTING or RUNNING; an expired one is dropped at the next
  // write, and every hold ends when the sandbox is paused or killed.
  Holds holds;
  // Who kept it awake: cleared when a new sandbox is made for the project,
  // kept through a pause (what it last saw before pausing).
  ActivityBySource activity;

  friend bool operator==(const Sandbox&, const Sandbox&) = default;
};

// When the enforcer will pause the sandbox absent new activity: last activity
// plus the idle timeout, or the latest hold's expiry if that is later; only
// while RUNNING.
std::optional<SystemTime> PauseAt(const Sandbox& s);
// True when the sandbox is RUNNING and `now` has reached PauseAt.
bool IsIdleDue(const Sandbox& s, SystemTime now);

}  // namespace sbx::core
