// Explain: why a project's sandbox is in its status, since when, who put it
// there and what happens next (GET /api/projects/{id}/sandbox/explain). Read
// from what was stored: the record (holds, the newest activity of each
// source) and the history rows, whose decision inputs each automatic
// decision recorded as it was taken (apply.h DecisionInputs), plus the open
// dashboard streams this server counts. Pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "core/sandbox.h"
#include "store/store.h"

namespace sbx::lifecycle {

// One live reason a STARTING or RUNNING sandbox stays awake.
struct AwakeReason {
  std::string kind;    // "activity", "presence" or "hold"
  std::string source;  // activity: api, presence, preview, start
  std::string name;    // hold: its name
  std::optional<SystemTime> at;     // activity: when
  std::optional<SystemTime> until;  // activity: at + idle timeout; hold: its expiry
  int streams = 0;                  // presence: open dashboard streams on this server
};

// The history row that brought the sandbox to its current status (the first
// of the run of rows that left it there).
struct Cause {
  std::string type;    // pause_requested, sandbox.lifecycle.paused, …
  std::string source;  // enforcer, api, webhook, reconciler, runtime, preview, …
  std::string by;      // who, in words: "the idle enforcer (timer)"
  SystemTime at{};     // when sandboxd recorded it
  std::string detail;
  std::string inputs;  // the decision's inputs (a JSON object's text), "" when none
};

struct Failure {
  core::LastError error;
  std::string retry;  // what happens next about it, in words
};

struct Explanation {
  core::Sandbox sandbox;
  std::optional<SystemTime> since;  // when it reached its status, if the history says
  std::vector<AwakeReason> awake;   // empty unless STARTING or RUNNING
  std::optional<SystemTime> pause_at;
  std::optional<AwakeReason> pause_at_set_by;  // the reason that sets pauseAt
  std::optional<Cause> cause;
  std::optional<Failure> failure;
  // The idle policy's change that set the idle timeout in force, when the
  // newest settings change in history is one.
  std::optional<Cause> timeout_set_by;
  std::string summary;  // one sentence for people
  std::string next;     // what happens next, in words
};

// `history`: the project's rows, newest first (the newest 100 or so are
// enough); `streams`: its open event streams on this server.
Explanation Explain(const core::Sandbox& sandbox, const std::vector<store::HistoryRow>& history,
                    SystemTime now, int streams);

}  // namespace sbx::lifecycle
