// The statements both SQL stores run alike, built once from schema.h's column
// lists. Only the parameter syntax differs: SQLite numbers them ?1, ?2, …,
// PostgreSQL $1, $2, …. What differs by more (how history.seq and job_runs.id
// are assigned) each backend writes itself. Pure; thread-safe.
#pragma once

#include <string>

namespace sbx::store {

enum class Dialect { kSqlite, kPostgres };

struct SqlStatements {
  // Each selects schema::ReadList(kSandboxes): rows for DecodeSandbox.
  std::string load_sandboxes;  // every record, by project id
  std::string get_sandbox;     // 1: project id
  std::string list_sandboxes;  // 1: after this project id, 2: limit; by project id
  std::string list_sandboxes_with_status;  // 1: after, 2: status name, 3: limit
  std::string list_idle_due;  // 1: now (ms), 2: limit; pause_at_ms <= now, earliest first
  // Parameters: EncodeSandbox's values. Writes no row when the project has a
  // record already.
  std::string insert_sandbox;
  // Parameters: EncodeSandbox's values, then the expected version. Writes no
  // row unless the stored version is the expected one.
  std::string update_sandbox;
  // 1: event id, 2: now (ms). Writes no row when the id is there already.
  std::string mark_processed;
  std::string is_processed;  // 1: event id; a row when processed
  // 1: project id, 2: limit; newest first, rows for DecodeHistoryRow.
  std::string list_history;
  // 1: job, 2: limit, 3: below this id; newest first, rows for DecodeJobRun.
  std::string list_job_runs;
  // 1: since (ms), 2: until (ms), 3: bucket width (ms): rows of bucket
  // index, source, outcome, count.
  std::string count_history;
  // 1: since (ms), 2: limit: applied rows, newest first, as seq, project_id,
  // type, source, outcome, recorded_at_ms, status, inputs (enforcer rows only).
  std::string list_transitions;
  // Webhook delivery (Store::SummarizeDelivery), both through history_source.
  // No parameters: the newest webhook row's seq and recorded_at_ms, or no row.
  std::string newest_webhook;
  // 1: after this seq, 2: count up to: one row, the recorded_at_ms of the
  // newest reconciler repair (or NULL) and how many repairs (at most
  // parameter 2) have a seq above parameter 1.
  std::string drift_after;
  // 1: project id, 2: expected version: deletes the record if it matches.
  std::string forget_sandbox;
  // 1: project id, 2: below this seq: deletes the project's older rows.
  std::string forget_history;

  // Parameters: EncodeSession's values. Writes no row when the hash is there.
  std::string insert_session;
  std::string get_session;     // 1: id hash; a row for DecodeSession
  std::string delete_session;  // 1: id hash

  // Retention: each deletes at most parameter 2 (a limit) of the oldest rows
  // older than parameter 1 (Unix ms); history and job runs keep their newest
  // row whatever its age.
  std::string prune_history;           // recorded_at_ms < 1
  std::string prune_processed_events;  // processed_at_ms < 1
  std::string prune_job_runs;          // finished_at_ms < 1
  std::string prune_sessions;          // expires_at_ms <= 1
};

const SqlStatements& Statements(Dialect dialect);

}  // namespace sbx::store
