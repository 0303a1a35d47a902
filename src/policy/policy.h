// Idle policies: a project's effective idle timeout, and whether to resume a
// paused sandbox shortly before its user is likely to come back. A policy
// learns only from what happened to the project: the idle enforcer's pauses
// and the moments its users came back after one. Three ship:
//   fixed    — one timeout for everyone (sandboxd's behaviour without a policy);
//   adaptive — multiplicative increase after a regret (the user came back soon
//              after an idle pause: the pause saved little and cost a resume),
//              but not past what would have covered that gap; additive
//              decrease after a long idle episode; within bounds;
//   warmup   — a fixed timeout, plus pre-wakes: returns after long pauses are
//              counted by time of week (weekday or weekend × quarter hour,
//              decayed by age), and a paused sandbox is resumed `lead` before a
//              quarter hour that has seen enough recent returns.
// Every change a policy makes is kept with its reason in words (TakeChanges),
// for history and explain. Deterministic: every call says what time it is
// about; no clock, no randomness. Not thread-safe: one owner.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/time.h"

namespace sbx::policy {

using namespace std::chrono_literals;

// The range every policy keeps a project's idle timeout in.
struct Bounds {
  Millis min = 1min;
  Millis max = 1h;
};

// One decision, with its reason: "regret: back 40s after an idle pause; 3m -> 6m".
struct Change {
  std::string project;
  SystemTime at{};
  Millis from{};
  Millis to{};
  std::string reason;
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string_view name() const = 0;
  // The idle timeout `project` runs with from now on.
  virtual Millis IdleTimeout(const std::string& project) const = 0;
  // The idle enforcer paused `project` at `at`.
  virtual void OnIdlePause(const std::string& project, SystemTime at) = 0;
  // A user came back to `project` at `at`: its first activity after the pause
  // that began at `paused_at` (whether or not a pre-wake had it running).
  virtual void OnReturn(const std::string& project, SystemTime at, SystemTime paused_at) = 0;
  // Whether to resume `project`, paused since `paused_at`, at `now`, before
  // its user comes back. A policy that says yes counts the pre-wake against
  // its caps; the caller pauses it again after PreWakeGrace() without use.
  virtual bool PreWake(const std::string& project, SystemTime now, SystemTime paused_at);
  // How long a pre-woken sandbox waits for its user before it is paused again;
  // zero for a policy that never pre-wakes.
  virtual Millis PreWakeGrace() const { return Millis::zero(); }
  // `project` runs with `timeout` now (its record says so: someone set it):
  // fixed and warmup keep it as the project's, adaptive steps from there.
  virtual void Adopt(const std::string& project, Millis timeout);

  // The changes made since the last call, oldest first.
  std::vector<Change> TakeChanges();

 protected:
  void Record(Change change) { changes_.push_back(std::move(change)); }

 private:
  std::vector<Change> changes_;
};

// "fixed", "adaptive", "warmup"; kInvalidArgument for any other name.
Status CheckPolicyName(std::string_view name);

// What a deployment sets for every policy: the idle timeout it starts from
// (--idle-timeout) and the bounds (--idle-policy-min, --idle-policy-max).
// The other knobs keep the defaults of AdaptiveOptions and WarmupOptions.
struct PolicyConfig {
  Millis timeout = 3min;
  Bounds bounds;
};
// The policy named `name` (CheckPolicyName) with `config`.
Result<std::unique_ptr<Policy>> MakePolicy(std::string_view name, const PolicyConfig& config);

std::unique_ptr<Policy> MakeFixed(Millis timeout);

struct AdaptiveOptions {
  Millis initial = 3min;
  Bounds bounds;
  // A return within this of an idle pause is a regret: the timeout is
  // multiplied by `increase`.
  Millis regret_window = 10min;
  double increase = 2.0;
  // Never raise past the timeout that would have kept the sandbox up through
  // the regretted gap (rounded up to the minute).
  bool cover_only = true;
  // A pause that lasted at least this long lowers it by `decrease`.
  Millis long_idle = 2h;
  Millis decrease = 1min;
};
std::unique_ptr<Policy> MakeAdaptive(AdaptiveOptions options);

struct WarmupOptions {
  Millis timeout = 3min;  // everyone's idle timeout, as fixed
  // Only returns after pauses this long are learned and only such pauses
  // are cut short: a coffee break is no pattern.
  Millis min_pause = 30min;
  Millis lead = 10min;             // resume this long before a likely return
  Millis grace = 25min;            // a pre-woken sandbox nobody uses is paused after
  double min_weight = 2.0;         // recent returns a quarter hour needs
  double weekly_decay = 0.5;       // a return a week old counts this much
  int max_per_hour = 100;          // pre-wakes across all projects
};
std::unique_ptr<Policy> MakeWarmup(WarmupOptions options);

// The warmup histogram's slot of `t`: weekday (Mon–Fri) or weekend, and the
// quarter hour of the day, in UTC: 0 … 2×96−1.
int WeekSlot(SystemTime t);

}  // namespace sbx::policy
