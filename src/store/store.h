// Store is the persistence boundary of the control plane: sandbox records,
// processed event ids, history, job runs and browser sessions, and the
// deletion of old rows (retention). SqliteStore serves single-node installs
// and tests; a PostgreSQL store serves replicas. Thread-safe. Every call
// blocks, for at most the store's deadline (its options say how long): run it
// on a BlockingPool, never on an I/O thread. A call that misses its deadline,
// or finds the database unreachable, busy or full, returns kUnavailable and
// writes nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "base/status.h"
#include "base/time.h"
#include "core/sandbox.h"

namespace sbx::store {

// One line of a project's history: every event sandboxd saw for it, with what
// became of it.
struct HistoryRow {
  int64_t seq = 0;  // assigned by the store, increasing
  std::string project_id;  // empty for orphans (events for unknown sandboxes)
  std::string sandbox_id;
  std::string event_id;
  std::string type;     // provider type ("sandbox.lifecycle.paused") or command name
  std::string source;   // webhook, enforcer, api, reconciler, runtime
  std::string outcome;  // applied, duplicate, stale, ignored, orphan, rejected
  SystemTime at{};           // when the event happened
  SystemTime recorded_at{};  // when sandboxd stored it
  std::optional<std::string> status;  // sandbox status after the event, if applied
  std::string detail;                 // free text: error, reason
  // What the decision saw (core::LifecycleEvent::inputs): a JSON object's
  // text, empty for none.
  std::string inputs;
  friend bool operator==(const HistoryRow&, const HistoryRow&) = default;
};

// One run of a background job (the idle enforcer's sweeps).
struct JobRun {
  int64_t id = 0;  // assigned by the store
  std::string job;  // "idle-enforcer"
  std::string trigger;  // what started it: "schedule" (cron sweep), "timer" (a pauseAt)
  SystemTime started_at{};
  SystemTime finished_at{};
  int64_t checked = 0;
  int64_t paused = 0;
  int64_t failed = 0;
  std::vector<std::string> errors;
  // The projects it paused, in the order it paused them (schema version 5;
  // runs recorded before have none).
  std::vector<std::string> paused_projects;
  friend bool operator==(const JobRun&, const JobRun&) = default;
};

// A signed-in browser session. Only a hash of the session id is stored: the
// caller hashes the id it hands out and looks sessions up by that hash.
struct SessionRecord {
  std::string id_hash;
  SystemTime created_at{};
  SystemTime expires_at{};
  friend bool operator==(const SessionRecord&, const SessionRecord&) = default;
};

// How many history rows of one source had one outcome in one bucket of time
// (Store::CountHistory).
struct HistoryCount {
  int64_t bucket = 0;  // the bucket's index: (recorded_at - since) / width
  std::string source;
  std::string outcome;
  int64_t count = 0;
  friend bool operator==(const HistoryCount&, const HistoryCount&) = default;
};

// What the history says of the provider's webhook delivery
// (Store::SummarizeDelivery, lifecycle::DeliveryHealth). "After" is by seq,
// the store's order of recording, not by the recording replicas' clocks.
struct DeliverySummary {
  std::optional<SystemTime> last_webhook;  // recorded_at of the newest row from the receiver
  std::optional<SystemTime> last_drift;    // of the newest repair (applied row) of the reconciler
  int64_t drift_since_webhook = 0;  // repairs after the newest webhook row (all, if none)
  friend bool operator==(const DeliverySummary&, const DeliverySummary&) = default;
};

// The arguments of one Store::CommitTransition, for CommitTransitions.
struct TransitionWrite {
  core::Sandbox next;
  int64_t expected_version = 0;
  std::string event_id;
  std::optional<HistoryRow> history;
};

struct ListOptions {
  std::optional<core::SandboxStatus> status;  // only this status
  int limit = 100;
  std::string after_project_id;  // keyset cursor: projects sorted by id
};

class Store {
 public:
  virtual ~Store() = default;

  // Every sandbox record (the read model loads them at start).
  virtual Result<std::vector<core::Sandbox>> LoadSandboxes() = 0;
  // The project's record, or kNotFound.
  virtual Result<core::Sandbox> GetSandbox(const std::string& project_id) = 0;
  // The records of those of `project_ids` that have one, in no particular
  // order. The default asks GetSandbox for each; a store with a round trip
  // per call answers in one query.
  virtual Result<std::vector<core::Sandbox>> GetSandboxes(
      std::span<const std::string> project_ids) {
    std::vector<core::Sandbox> out;
    for (const std::string& id : project_ids) {
      auto s = GetSandbox(id);
      if (s.ok()) {
        out.push_back(std::move(*s));
      } else if (s.error().code() != StatusCode::kNotFound) {
        return s.error();
      }
    }
    return out;
  }
  // Records sorted by project id, after the cursor, filtered by status.
  virtual Result<std::vector<core::Sandbox>> ListSandboxes(const ListOptions& options) = 0;
  // RUNNING records whose pauseAt (last activity + idle timeout) <= now,
  // earliest first, at most `limit`.
  virtual Result<std::vector<core::Sandbox>> ListIdleDue(SystemTime now, int limit) = 0;

  // Writes `next` if the stored version of its project still equals
  // `expected_version` (0: no record may exist yet), marks `event_id`
  // processed (if non-empty) and appends `history` (if given), all in one
  // transaction. `next.version` must be expected_version + 1.
  // kAlreadyExists: `event_id` was processed before. kFailedPrecondition: the
  // version moved (someone else changed the record). On error nothing is written.
  virtual Status CommitTransition(const core::Sandbox& next, int64_t expected_version,
                                  const std::string& event_id,
                                  const std::optional<HistoryRow>& history) = 0;
  // Several CommitTransition calls, in order, each seeing the ones before.
  // OK when every one was written; otherwise the status of the first that
  // was not (as CommitTransition returns it, naming its index), and some
  // others may have been written: call it inside Batch and fail the batch.
  // The default calls CommitTransition for each; a store with a round trip
  // per call sends them all at once.
  virtual Status CommitTransitions(std::span<const TransitionWrite> writes) {
    for (size_t i = 0; i < writes.size(); ++i) {
      const TransitionWrite& w = writes[i];
      Status s = CommitTransition(w.next, w.expected_version, w.event_id, w.history);
      if (!s.ok()) return s.WithContext(fmt::format("write {} of {}", i + 1, writes.size()));
    }
    return OkStatus();
  }
  // Appends `history` and marks `event_id` processed (if non-empty) in one
  // transaction, without touching any record: for stale, ignored and orphan
  // events. kAlreadyExists if `event_id` was processed before (nothing written).
  virtual Status RecordEvent(const std::string& event_id, const HistoryRow& history) = 0;
  // Appends a history row only (duplicates are recorded this way).
  virtual Status AppendHistory(const HistoryRow& history) = 0;
  virtual Result<bool> IsEventProcessed(const std::string& event_id) = 0;
  // Those of `ids` that were processed before: the apply pipeline asks once
  // per batch instead of once per event. The default asks IsEventProcessed
  // for each; a store with a round trip per call answers in one query.
  virtual Result<std::unordered_set<std::string>> ProcessedAmong(
      std::span<const std::string> ids) {
    std::unordered_set<std::string> seen;
    for (const std::string& id : ids) {
      SBX_ASSIGN_OR_RETURN(bool processed, IsEventProcessed(id));
      if (processed) seen.insert(id);
    }
    return seen;
  }

  // Group commit: runs `body`, which calls this store from the calling
  // thread, inside one transaction, so that many events cost one commit.
  // Each write call inside stays all-or-nothing by itself (a savepoint): a
  // failed one undoes only its own writes, and later calls see the earlier
  // ones' writes. When `body` returns an error or the commit fails, every
  // write of the batch is undone and that error is returned. A batch inside
  // a batch is one more savepoint.
  virtual Status Batch(const std::function<Status()>& body) = 0;
  // Newest first: at most `limit` rows whose seq is below `before_seq` (0:
  // from the newest), so that the last seq of a page asks for the next one.
  virtual Result<std::vector<HistoryRow>> ListHistory(const std::string& project_id, int limit,
                                                      int64_t before_seq) = 0;
  Result<std::vector<HistoryRow>> ListHistory(const std::string& project_id, int limit) {
    return ListHistory(project_id, limit, 0);
  }

  // The overview's reads (api's /api/overview): each is bounded by the time
  // window it is given and served by the history_recorded_at index, however
  // many records and rows there are.
  // The rows recorded in [since, until), counted by bucket of `width` from
  // `since`, source and outcome. kInvalidArgument unless width > 0.
  virtual Result<std::vector<HistoryCount>> CountHistory(SystemTime since, SystemTime until,
                                                         Millis width) = 0;
  // The applied rows (those that set a status) recorded at or after `since`,
  // newest first, at most `limit`. Only seq, project_id, type, source,
  // outcome, recorded_at and status are filled, and `inputs` for rows of the
  // idle enforcer.
  virtual Result<std::vector<HistoryRow>> ListTransitions(SystemTime since, int limit) = 0;
  // Webhook delivery as every replica recorded it: the newest webhook row,
  // and the reconciler's repairs after it (counted up to kMaxDriftCounted).
  // Index reads of history_source (source, seq).
  virtual Result<DeliverySummary> SummarizeDelivery() = 0;
  static constexpr int kMaxDriftCounted = 1000;
  // For each of `projects`, the status its newest applied row below
  // `before_seq` left it in; a project with no such row is left out.
  virtual Result<std::map<std::string, std::string>> StatusesBefore(
      std::span<const std::string> projects, int64_t before_seq) = 0;

  // Forgets a project: deletes its record if the stored version is still
  // `expected_version`, appends `forgotten` (the row that says so) to its
  // history, and with `remove_history` deletes every older history row of
  // the project; returns how many it deleted. One transaction; on a store
  // that replicas share it announces the change as version
  // expected_version + 1, for which there is no record. kNotFound without a
  // record, kFailedPrecondition when the version moved.
  virtual Result<int64_t> ForgetSandbox(const std::string& project_id, int64_t expected_version,
                                        const HistoryRow& forgotten, bool remove_history) = 0;

  // Stores a finished run and returns its id.
  virtual Result<int64_t> RecordJobRun(const JobRun& run) = 0;
  // Newest first: at most `limit` runs of `job` whose id is below `before_id`
  // (0: from the newest).
  virtual Result<std::vector<JobRun>> ListJobRuns(const std::string& job, int limit,
                                                  int64_t before_id) = 0;
  Result<std::vector<JobRun>> ListJobRuns(const std::string& job, int limit) {
    return ListJobRuns(job, limit, 0);
  }

  // Browser sessions.
  // Stores a new session. kAlreadyExists if `id_hash` is stored already
  // (nothing changes); kInvalidArgument for an empty hash.
  virtual Status CreateSession(const std::string& id_hash, SystemTime created_at,
                               SystemTime expires_at) = 0;
  // The session stored under `id_hash`, or kNotFound. An expired session is
  // returned until it is pruned: the caller compares expires_at with its clock.
  virtual Result<SessionRecord> GetSession(const std::string& id_hash) = 0;
  // Deletes the session; OK when there is none.
  virtual Status DeleteSession(const std::string& id_hash) = 0;

  // Retention: each call deletes at most `limit` (> 0) of the oldest rows
  // older than the given time, in one short transaction, and returns how many
  // it deleted; a caller that wants more calls again. kInvalidArgument for a
  // limit below 1.
  // History rows recorded before `recorded_before`. The newest row of the
  // table always stays, so its sequence numbers never start over.
  virtual Result<int64_t> PruneHistory(SystemTime recorded_before, int limit) = 0;
  // Processed event ids recorded before `processed_before`: an event with
  // such an id delivered again is no longer known as a duplicate.
  virtual Result<int64_t> PruneProcessedEvents(SystemTime processed_before, int limit) = 0;
  // Job runs that finished before `finished_before`; the newest run stays.
  virtual Result<int64_t> PruneJobRuns(SystemTime finished_before, int limit) = 0;
  // Sessions with expires_at <= `now`.
  virtual Result<int64_t> PruneExpiredSessions(SystemTime now, int limit) = 0;

  // OK when the store answers (readiness).
  virtual Status Ping() = 0;
};

}  // namespace sbx::store
