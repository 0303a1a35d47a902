// Overview: what the fleet did over the last hour or day (GET /api/overview,
// the dashboard's overview page), summarized from bounded reads of the
// store: the applied history rows of the window (newest first, at most a
// limit), the status each of their projects had before the window, and the
// rows counted by bucket, source and outcome. Statuses over time are
// replayed backwards from every record's status now. Pure and thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/time.h"
#include "core/sandbox.h"
#include "store/store.h"

namespace sbx::lifecycle {

struct OverviewWindow {
  std::string name;  // "1h", "24h"
  Millis length{};
  Millis bucket{};
};

// "1h": 60 buckets of a minute; "24h": 96 of 15 minutes. kInvalidArgument
// for anything else.
Result<OverviewWindow> ParseOverviewWindow(std::string_view name);

struct OverviewBucket {
  SystemTime start{};
  SystemTime end{};  // the last bucket ends now
  // How many records had each status at the bucket's end.
  std::map<core::SandboxStatus, int64_t> statuses;
  // Transitions within the bucket: a sandbox made (from none or KILLED), paused (to PAUSED), woken
  // (PAUSING or PAUSED to STARTING or RUNNING), killed.
  int64_t creates = 0;
  int64_t pauses = 0;
  int64_t wakes = 0;
  int64_t kills = 0;
  std::map<std::string, int64_t> webhooks;  // verified deliveries by outcome
  // Idle enforcer pauses: the clock at the decision minus the pauseAt it saw.
  std::vector<int64_t> lateness_ms;
};

struct Overview {
  OverviewWindow window;
  SystemTime from{};
  SystemTime to{};
  // The oldest time the replay covers: `from`, unless the window held more
  // applied rows than were read (`truncated`): older transitions are then
  // missing from the buckets and the hours.
  SystemTime covered_from{};
  bool truncated = false;
  std::map<core::SandboxStatus, int64_t> current;
  std::vector<OverviewBucket> buckets;  // oldest first
  // Sandbox-hours awake (STARTING, RUNNING or PAUSING) in the window, and what
  // they would have been had the idle enforcer paused nothing: each idle pause
  // would have run on until the sandbox was next woken, killed, or now.
  double running_hours = 0;
  double without_idle_pauses_hours = 0;
  int64_t idle_pauses = 0;
};

struct OverviewInputs {
  // Every record's status now, by project.
  std::map<std::string, core::SandboxStatus> current;
  // Store::ListTransitions(from, limit): newest first.
  std::vector<store::HistoryRow> transitions;
  bool truncated = false;  // the list stopped at its limit
  // Store::StatusesBefore for the projects of `transitions`, each before
  // its oldest row there.
  std::map<std::string, std::string> before;
  // Store::CountHistory(from, to, window.bucket).
  std::vector<store::HistoryCount> counts;
};

// The window's first bucket starts here: buckets are aligned to multiples
// of their width, and the last one holds `now`.
SystemTime OverviewFrom(const OverviewWindow& window, SystemTime now);

Overview Summarize(const OverviewWindow& window, SystemTime now, const OverviewInputs& in);

// Reads the applied history rows recorded since `from` (at most `limit`) and
// their projects' statuses before them into `in` (transitions, truncated,
// before). Blocking: one ListTransitions and a StatusesBefore per thousand
// projects.
Status ReadTransitions(store::Store& store, SystemTime from, int limit, OverviewInputs& in);

// Each of `rows`' status before it (rows newest first, as
// Store::ListTransitions gives them): the one its project's next older row
// left, or else `before`'s (Store::StatusesBefore); nullopt for none.
std::vector<std::optional<core::SandboxStatus>> StatusesBeforeEach(
    const std::vector<store::HistoryRow>& rows, const std::map<std::string, std::string>& before);
// The oldest time `in` covers for a window starting at `from` (see
// Overview::covered_from).
SystemTime CoveredFrom(SystemTime from, const OverviewInputs& in);

// The median of `values` (the lower middle one of an even count), nullopt
// for none.
std::optional<int64_t> Median(std::vector<int64_t> values);

}  // namespace sbx::lifecycle
