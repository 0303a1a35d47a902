// The idle policy report (GET /api/policy/report): what idle pausing did
// since a time, overall and per project, read from history as the overview
// is (overview.h: the same bounded reads). Measured before any policy is
// changed: idle pauses, regret wakes (a wake within `regret_window` of the
// idle pause before it: the pause saved little and cost a resume),
// sandbox-minutes the idle pauses saved, and the resumes users waited for
// with how long they took. Pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "lifecycle/overview.h"
#include "policy/replay.h"

namespace sbx::lifecycle {

struct PolicyTally {
  int64_t pauses = 0;       // reached PAUSED, by whoever asked
  int64_t idle_pauses = 0;  // the idle enforcer paused a RUNNING sandbox
  int64_t wakes = 0;        // PAUSING or PAUSED to STARTING or RUNNING
  int64_t regret_wakes = 0;
  // Wakes through sandboxd (to STARTING): a client asked and waited.
  int64_t resume_waits = 0;
  // Each idle pause until the sandbox was next woken or killed, or now.
  double saved_minutes = 0;
};

struct ProjectPolicyTally {
  std::string project_id;
  PolicyTally tally;
};

// What a replay can and cannot see, for readers of its numbers.
inline constexpr char kReplayNote[] =
    "Each policy replayed over the same idle episodes of history (from the last activity "
    "before an idle pause to the user's return). Activity writes no history, so gaps shorter "
    "than the timeout in force then are not seen: under a shorter timeout, pauses and waits are "
    "a lower bound.";

// Policies replayed over the report's idle episodes (policy/replay.h): the
// deployment's default beside the shadow (--policy-shadow).
struct PolicyReplay {
  int64_t episodes = 0;
  std::vector<policy::ReplayTally> policies;
};

struct PolicyReport {
  SystemTime from{};
  SystemTime to{};
  SystemTime covered_from{};  // as Overview::covered_from
  bool truncated = false;
  Millis regret_window{};
  PolicyTally totals;
  // How long the resumes took (STARTING to RUNNING), over every project.
  std::optional<int64_t> resume_wait_median_ms;
  std::optional<int64_t> resume_wait_p95_ms;
  // The projects with the most regret wakes (then resume waits), at most
  // `top`; `project_count` is how many had any idle pause or wake.
  std::vector<ProjectPolicyTally> projects;
  int64_t project_count = 0;
  std::optional<PolicyReplay> replay;  // only when asked for policies to replay
};

// `in`: as for Summarize (only transitions, truncated and before are read).
PolicyReport ReportPolicy(SystemTime from, SystemTime now, const OverviewInputs& in,
                          Millis regret_window, size_t top);

// What the policies learn from in `in`'s transitions, oldest first
// (policy::Moment): idle pauses (the enforcer moving RUNNING to PAUSING, with
// the lastActivityAt its stored inputs saw), other pauses, wakes by users
// (returns) and by the policy (pre-wakes), kills.
std::vector<policy::Moment> MomentsFrom(const OverviewInputs& in);

// Replays each of `policies` (fresh instances) over MomentsFrom(in) up to
// `now`.
PolicyReplay ReplayPolicies(const OverviewInputs& in, SystemTime now, Millis regret_window,
                            std::span<policy::Policy* const> policies);

}  // namespace sbx::lifecycle
