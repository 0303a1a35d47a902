// What a policy learns from, as history shows it, and the replay of a
// policy over it. History (lifecycle::MomentsFrom reads it) tells, per
// project: when the idle enforcer paused it and the last activity it saw then,
// when anyone else paused it, when a user came back (a wake) and when the
// policy woke it ahead of its user. A Teacher feeds these moments to running
// policies; Replay asks what a policy would have done over the same idle
// episodes: each runs from an idle pause's last activity to the user's return
// (or a kill, or the end). Pure, deterministic, not thread-safe.
//
// What history cannot show: activity writes no history row, so an idle gap
// shorter than the timeout in force at the time left no trace. A replayed
// policy sees every gap the recorded one paused for, never a shorter one:
// its pauses and waits under a shorter timeout are a lower bound.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/time.h"
#include "policy/policy.h"

namespace sbx::policy {

struct Moment {
  enum class Kind {
    kIdlePause,  // the idle enforcer paused it; `last_activity` is what it saw
    kPause,      // anyone else paused it (a user, the provider's own timeout)
    kReturn,     // a user woke it
    kPreWake,    // the policy woke it before its user came back
    kEnd,        // it was killed
  };
  Kind kind = Kind::kReturn;
  std::string project;
  SystemTime at{};
  SystemTime last_activity{};  // kIdlePause only
  Millis timeout{};            // kIdlePause: the idle timeout it had; zero when unknown
  int64_t seq = 0;             // the history row it was read from
};

// Feeds moments (oldest first) to policies: OnIdlePause at idle pauses, and
// OnReturn with the pause it ended at a user's return.
class Teacher {
 public:
  void Feed(const Moment& m, std::span<Policy* const> policies);
  // When `project`'s open pause began; nullopt when it is not paused (as
  // far as the moments fed tell).
  std::optional<SystemTime> PausedAt(const std::string& project) const;
 private:
  std::map<std::string, SystemTime> paused_at_;
};

// What a policy did, or would have done, over a replay's idle episodes.
struct ReplayTally {
  std::string policy;
  int64_t episodes = 0;     // idle episodes replayed
  int64_t idle_pauses = 0;  // episodes it paused
  int64_t regret_wakes = 0;
  int64_t resume_waits = 0;  // returns that found the sandbox paused
  double idle_minutes = 0;   // sandbox-minutes awake and idle before a pause or return
  double saved_minutes = 0;  // minutes paused
  int64_t timeout_changes = 0;
  int64_t pre_wakes = 0;
  int64_t pre_wake_hits = 0;  // the user came back within the grace
  int64_t pre_wake_misses = 0;
};

struct ReplayOptions {
  SystemTime until{};  // episodes still open end here, without a return
  Millis regret_window = std::chrono::minutes(10);
  // How often a paused sandbox is offered to PreWake.
  Millis pre_wake_step = std::chrono::minutes(5);
};

// Replays `policy` (fresh: it learns as it goes) over the idle episodes of
// `moments` (oldest first). Each project starts from the timeout its first
// idle pause had (Policy::Adopt), where known: a fixed policy replays what
// was recorded.
ReplayTally Replay(Policy& policy, std::span<const Moment> moments, const ReplayOptions& options);

}  // namespace sbx::policy
