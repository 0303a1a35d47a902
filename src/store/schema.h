// The SQL schema of the stores: every table, what each column holds, the
// order in which SqliteStore and PostgresStore read and write a row's columns
// (the row codec, codec.h, decodes and encodes by that order), the indexes, and
// the schema version that added each table and index. Each backend creates
// them in its own dialect (sqlite/sqlite_migrations.cc,
// postgres/pg_migrations.cc), and a test beside each compares what it created,
// at every version, with this description. Constants and pure functions;
// thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace sbx::store::schema {

enum class Type { kText, kBigint };  // SQL TEXT and BIGINT

// Who sets a column's value.
enum class Access {
  kReadWrite,  // written from the record, read back into it
  kAssigned,   // assigned by the store on insert, then read back: only a table's first column
  kWriteOnly,  // derived from the others on every write and never read: only a table's last
};

struct Column {
  int id;  // the column's position in its table: the value of the table's column enum
  std::string_view name;
  Type type;
  bool nullable;
  Access access;
  std::string_view meaning;
  int since = 1;  // the schema version that added the column
};

struct Table {
  std::string_view name;
  std::span<const Column> columns;
  int since = 1;  // the schema version that added the table
};

// An index a store keeps besides each table's primary key. Both backends
// create every one under this name (PostgreSQL's sandboxes_pause_at leaves out
// the NULL rows, which the sweep never asks for).
struct Index {
  std::string_view name;
  std::string_view table;
  std::string_view columns;  // "a, b": the indexed columns, in order
  int since;                 // the schema version that added the index
  std::string_view meaning;
};

// The schema version this description is at: each backend's migration list
// has this many entries, and a database at an older version holds only the
// tables and indexes whose `since` is not above its version.
inline constexpr int kVersion = 7;

// Every time is in Unix milliseconds (UTC), every duration says its unit.

// sandboxes: each project's current sandbox, one row per project (core::Sandbox).
struct SandboxColumn {
  enum : int {
    kProjectId, kSandboxId, kStatus, kUrl, kTemplate, kIdleTimeoutS, kLastActivityAtMs,
    kCreatedAtMs, kUpdatedAtMs, kVersion, kLastErrorCode, kLastErrorMessage, kLastErrorAtMs,
    kLastEventAtMs, kProviderEndAtMs, kMetadata, kHolds, kActivity, kIdlePolicy, kPauseAtMs,
  };
};
inline constexpr Column kSandboxColumns[] = {
    {SandboxColumn::kProjectId, "project_id", Type::kText, false, Access::kReadWrite,
     "the project that owns the sandbox (primary key)"},
    {SandboxColumn::kSandboxId, "sandbox_id", Type::kText, false, Access::kReadWrite,
     "the provider's id of the sandbox; empty while the first create runs"},
    {SandboxColumn::kStatus, "status", Type::kText, false, Access::kReadWrite,
     "STARTING, RUNNING, PAUSING, PAUSED or KILLED (core::StatusName)"},
    {SandboxColumn::kUrl, "url", Type::kText, true, Access::kReadWrite,
     "the preview URL; NULL when there is none"},
    {SandboxColumn::kTemplate, "template", Type::kText, false, Access::kReadWrite,
     "the template the sandbox was created from"},
    {SandboxColumn::kIdleTimeoutS, "idle_timeout_s", Type::kBigint, false, Access::kReadWrite,
     "how long without activity before the enforcer pauses it, in seconds"},
    {SandboxColumn::kLastActivityAtMs, "last_activity_at_ms", Type::kBigint, false,
     Access::kReadWrite, "the newest recorded activity"},
    {SandboxColumn::kCreatedAtMs, "created_at_ms", Type::kBigint, false, Access::kReadWrite,
     "when the sandbox was created"},
    {SandboxColumn::kUpdatedAtMs, "updated_at_ms", Type::kBigint, false, Access::kReadWrite,
     "when the record last changed"},
    {SandboxColumn::kVersion, "version", Type::kBigint, false, Access::kReadWrite,
     "1 for a new record, +1 on every change: the compare-and-set key"},
    {SandboxColumn::kLastErrorCode, "last_error_code", Type::kText, true, Access::kReadWrite,
     "the code of the last failure (pause_failed, …); NULL, with the next two, when none"},
    {SandboxColumn::kLastErrorMessage, "last_error_message", Type::kText, true,
     Access::kReadWrite, "what the last failure said"},
    {SandboxColumn::kLastErrorAtMs, "last_error_at_ms", Type::kBigint, true, Access::kReadWrite,
     "when the last failure happened"},
    {SandboxColumn::kLastEventAtMs, "last_event_at_ms", Type::kBigint, false, Access::kReadWrite,
     "the timestamp of the newest event applied: older events are stale"},
    {SandboxColumn::kProviderEndAtMs, "provider_end_at_ms", Type::kBigint, true,
     Access::kReadWrite, "the provider's end of life for the sandbox, NULL when unknown"},
    {SandboxColumn::kMetadata, "metadata", Type::kText, false, Access::kReadWrite,
     "the project's metadata: a JSON object of strings"},
    {SandboxColumn::kHolds, "holds", Type::kText, false, Access::kReadWrite,
     "busy holds: a JSON object of hold name to expiry (Unix ms)", /*since=*/3},
    {SandboxColumn::kActivity, "activity", Type::kText, false, Access::kReadWrite,
     "the newest activity of each source: a JSON object of source to time (Unix ms)",
     /*since=*/4},
    {SandboxColumn::kIdlePolicy, "idle_policy", Type::kText, false, Access::kReadWrite,
     "the idle policy the project chose (fixed, adaptive, warmup); empty: the deployment's",
     /*since=*/6},
    {SandboxColumn::kPauseAtMs, "pause_at_ms", Type::kBigint, true, Access::kWriteOnly,
     "core::PauseAt: last activity + idle timeout while RUNNING, else NULL; the idle sweep's "
     "index (ListIdleDue)"},
};
inline constexpr Table kSandboxes{"sandboxes", kSandboxColumns};

// processed_events: the provider event ids already applied or recorded, so
// that an event delivered twice changes nothing the second time.
struct ProcessedEventColumn {
  enum : int { kEventId, kProcessedAtMs };
};
inline constexpr Column kProcessedEventColumns[] = {
    {ProcessedEventColumn::kEventId, "event_id", Type::kText, false, Access::kReadWrite,
     "the provider's event id (primary key)"},
    {ProcessedEventColumn::kProcessedAtMs, "processed_at_ms", Type::kBigint, false,
     Access::kReadWrite,
     "when the event was recorded (sandboxd's clock); retention deletes the id after "
     "--retain-event-ids"},
};
inline constexpr Table kProcessedEvents{"processed_events", kProcessedEventColumns};

// history: every event sandboxd saw for a project and what became of it
// (HistoryRow).
struct HistoryColumn {
  enum : int {
    kSeq, kProjectId, kSandboxId, kEventId, kType, kSource, kOutcome, kAtMs, kRecordedAtMs,
    kStatus, kDetail, kInputs,
  };
};
inline constexpr Column kHistoryColumns[] = {
    {HistoryColumn::kSeq, "seq", Type::kBigint, false, Access::kAssigned,
     "increases with every row (primary key)"},
    {HistoryColumn::kProjectId, "project_id", Type::kText, false, Access::kReadWrite,
     "the project; empty for orphans (events for unknown sandboxes)"},
    {HistoryColumn::kSandboxId, "sandbox_id", Type::kText, false, Access::kReadWrite,
     "the provider's sandbox id the event named"},
    {HistoryColumn::kEventId, "event_id", Type::kText, false, Access::kReadWrite,
     "the provider's event id; empty for commands"},
    {HistoryColumn::kType, "type", Type::kText, false, Access::kReadWrite,
     "the provider's event type or the command's name"},
    {HistoryColumn::kSource, "source", Type::kText, false, Access::kReadWrite,
     "webhook, enforcer, api, reconciler or runtime"},
    {HistoryColumn::kOutcome, "outcome", Type::kText, false, Access::kReadWrite,
     "applied, duplicate, stale, ignored, orphan or rejected"},
    {HistoryColumn::kAtMs, "at_ms", Type::kBigint, false, Access::kReadWrite,
     "when the event happened"},
    {HistoryColumn::kRecordedAtMs, "recorded_at_ms", Type::kBigint, false, Access::kReadWrite,
     "when sandboxd stored it"},
    {HistoryColumn::kStatus, "status", Type::kText, true, Access::kReadWrite,
     "the sandbox's status after the event if it was applied, else NULL"},
    {HistoryColumn::kDetail, "detail", Type::kText, false, Access::kReadWrite,
     "free text: an error, a reason"},
    {HistoryColumn::kInputs, "inputs", Type::kText, false, Access::kReadWrite,
     "what the decision saw when it was taken: a JSON object, {} when none", /*since=*/4},
};
inline constexpr Table kHistory{"history", kHistoryColumns};

// job_runs: each finished run of a background job (JobRun).
struct JobRunColumn {
  enum : int {
    kId, kJob, kTrigger, kStartedAtMs, kFinishedAtMs, kChecked, kPaused, kFailed, kErrors,
    kPausedProjects,
  };
};
inline constexpr Column kJobRunColumns[] = {
    {JobRunColumn::kId, "id", Type::kBigint, false, Access::kAssigned,
     "increases with every run (primary key)"},
    {JobRunColumn::kJob, "job", Type::kText, false, Access::kReadWrite,
     "the job's name (idle-enforcer)"},
    {JobRunColumn::kTrigger, "trigger", Type::kText, false, Access::kReadWrite,
     "what started the run: schedule or timer"},
    {JobRunColumn::kStartedAtMs, "started_at_ms", Type::kBigint, false, Access::kReadWrite,
     "when the run started"},
    {JobRunColumn::kFinishedAtMs, "finished_at_ms", Type::kBigint, false, Access::kReadWrite,
     "when it finished"},
    {JobRunColumn::kChecked, "checked", Type::kBigint, false, Access::kReadWrite,
     "sandboxes it looked at"},
    {JobRunColumn::kPaused, "paused", Type::kBigint, false, Access::kReadWrite,
     "sandboxes it paused"},
    {JobRunColumn::kFailed, "failed", Type::kBigint, false, Access::kReadWrite,
     "sandboxes it failed to pause"},
    {JobRunColumn::kErrors, "errors", Type::kText, false, Access::kReadWrite,
     "what the failures said: a JSON array of strings"},
    {JobRunColumn::kPausedProjects, "paused_projects", Type::kText, false, Access::kReadWrite,
     "the projects it paused: a JSON array of strings, [] when none", /*since=*/5},
};
inline constexpr Table kJobRuns{"job_runs", kJobRunColumns};

// schema_migrations: one row per applied migration of the backend's own list.
struct SchemaMigrationColumn {
  enum : int { kVersion, kAppliedAtMs };
};
inline constexpr Column kSchemaMigrationColumns[] = {
    {SchemaMigrationColumn::kVersion, "version", Type::kBigint, false, Access::kReadWrite,
     "the schema version the migration brought the database to (primary key)"},
    {SchemaMigrationColumn::kAppliedAtMs, "applied_at_ms", Type::kBigint, false,
     Access::kReadWrite, "when it was applied; 0 on SQLite, which does not record it"},
};
inline constexpr Table kSchemaMigrations{"schema_migrations", kSchemaMigrationColumns};

// leases: named leases with fencing tokens (LeaseStore). Only a store that
// replicas share keeps it (PostgreSQL).
struct LeaseColumn {
  enum : int { kName, kHolder, kExpiresAtMs, kFencingToken };
};
inline constexpr Column kLeaseColumns[] = {
    {LeaseColumn::kName, "name", Type::kText, false, Access::kReadWrite,
     "the lease's name (primary key)"},
    {LeaseColumn::kHolder, "holder", Type::kText, false, Access::kReadWrite,
     "who holds it; empty once released"},
    {LeaseColumn::kExpiresAtMs, "expires_at_ms", Type::kBigint, false, Access::kReadWrite,
     "when it is free again unless renewed"},
    {LeaseColumn::kFencingToken, "fencing_token", Type::kBigint, false, Access::kReadWrite,
     "grows each time the lease changes hands"},
};
inline constexpr Table kLeases{"leases", kLeaseColumns};

// sessions: signed-in browser sessions (SessionRecord). The session id itself
// is never stored, only a hash of it, which the caller computes.
struct SessionColumn {
  enum : int { kIdHash, kCreatedAtMs, kExpiresAtMs };
};
inline constexpr Column kSessionColumns[] = {
    {SessionColumn::kIdHash, "id_hash", Type::kText, false, Access::kReadWrite,
     "a hash of the session id (primary key); the id itself is never stored"},
    {SessionColumn::kCreatedAtMs, "created_at_ms", Type::kBigint, false, Access::kReadWrite,
     "when the session was created"},
    {SessionColumn::kExpiresAtMs, "expires_at_ms", Type::kBigint, false, Access::kReadWrite,
     "when it stops being valid; the retention job deletes it after that"},
};
inline constexpr Table kSessions{"sessions", kSessionColumns, /*since=*/2};

// The tables every SQL store keeps.
inline constexpr Table kTables[] = {kSandboxes, kProcessedEvents, kHistory, kJobRuns,
                                    kSchemaMigrations, kSessions};

// The indexes every SQL store keeps. Those of version 2 serve retention
// (jobs/retention.h), which deletes rows by age in small batches.
inline constexpr Index kIndexes[] = {
    {"sandboxes_pause_at", "sandboxes", "pause_at_ms", 1,
     "the idle sweep: RUNNING records by pauseAt (ListIdleDue)"},
    {"sandboxes_sandbox_id", "sandboxes", "sandbox_id", 1,
     "the project of a provider sandbox id"},
    {"history_project", "history", "project_id, seq", 1, "a project's history, newest first"},
    {"job_runs_job", "job_runs", "job, id", 1, "a job's runs, newest first"},
    {"processed_events_processed_at", "processed_events", "processed_at_ms", 2,
     "event ids past --retain-event-ids"},
    {"history_recorded_at", "history", "recorded_at_ms", 2, "history past --retain-history"},
    {"job_runs_finished_at", "job_runs", "finished_at_ms", 2, "job runs past --retain-job-runs"},
    {"sessions_expires_at", "sessions", "expires_at_ms", 2, "expired sessions"},
    {"history_source", "history", "source, seq", 7,
     "webhook delivery health: the newest webhook row and the reconciler's repairs"},
};

// True when column i has id i, an assigned column comes only first and
// write-only ones only last: then a row selected by ReadList holds column id
// i at position i, which is how the codec reads it.
constexpr bool WellFormed(const Table& table) {
  const auto n = static_cast<int>(table.columns.size());
  bool write_only_seen = false;
  for (int i = 0; i < n; ++i) {
    const Column& c = table.columns[static_cast<size_t>(i)];
    if (c.id != i) return false;
    if (c.access == Access::kAssigned && i != 0) return false;
    if (c.access == Access::kWriteOnly) write_only_seen = true;
    if (c.access != Access::kWriteOnly && write_only_seen) return false;
  }
  return true;
}
static_assert(WellFormed(kSandboxes) && WellFormed(kProcessedEvents) && WellFormed(kHistory) &&
              WellFormed(kJobRuns) && WellFormed(kSchemaMigrations) && WellFormed(kLeases) &&
              WellFormed(kSessions));

// "a, b, c": the columns a store reads back (all but the write-only ones), in
// id order: a SELECT list.
std::string ReadList(const Table& table);
// The columns a store writes when it inserts a row (all but the assigned
// one), in id order: an INSERT's column list.
std::string WriteList(const Table& table);
// How many columns WriteList names.
int WriteCount(const Table& table);
// Numbered parameters for WriteList's columns: "?1, ?2, …" with mark '?'
// (SQLite), "$1, $2, …" with mark '$' (PostgreSQL).
std::string WriteParams(const Table& table, char mark);
// PostgreSQL parameters for WriteList's columns numbered from `first`, each
// cast to its column's type ("$5::text, $6::bigint, …"): for INSERT … SELECT,
// where the target columns do not give the parameters their types.
std::string TypedParams(const Table& table, int first);
// "b = ?2, c = ?3, …": an UPDATE's SET list that gives every written column
// but the first (the key, parameter 1) its parameter of WriteParams.
std::string UpdateAssignments(const Table& table, char mark);

}  // namespace sbx::store::schema
