#include "store/postgres/pg_migrations.h"

#include <optional>

#include <fmt/format.h>

namespace sbx::store {
namespace {

// Key of the advisory lock that serializes migrations ("sbxdmigr").
constexpr int64_t kMigrationLockKey = 0x736278646d696772;

}  // namespace

// Over 80 lines on purpose: a data table, one SQL migration per version, best read in one piece.
const std::vector<PgMigration>& PostgresMigrations() {
  // The tables, columns and types of store/schema.h (postgres_store_test
  // checks). Unlike SQLite's list (sqlite/sqlite_migrations.cc): identity
  // columns, project_id ordered bytewise (COLLATE "C", like SQLite) whatever
  // the database's locale, a partial pause_at index, and the leases table.
  static const std::vector<PgMigration> kMigrations = {
      // 1: the initial schema.
      {.up = R"sql(
CREATE TABLE sandboxes (
  project_id TEXT COLLATE "C" PRIMARY KEY,
  sandbox_id TEXT NOT NULL,
  status TEXT NOT NULL,
  url TEXT,
  template TEXT NOT NULL,
  idle_timeout_s BIGINT NOT NULL,
  last_activity_at_ms BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  version BIGINT NOT NULL,
  last_error_code TEXT,
  last_error_message TEXT,
  last_error_at_ms BIGINT,
  last_event_at_ms BIGINT NOT NULL,
  provider_end_at_ms BIGINT,
  metadata TEXT NOT NULL,
  pause_at_ms BIGINT
);
CREATE INDEX sandboxes_pause_at ON sandboxes (pause_at_ms) WHERE pause_at_ms IS NOT NULL;
CREATE INDEX sandboxes_sandbox_id ON sandboxes (sandbox_id);
CREATE TABLE processed_events (
  event_id TEXT PRIMARY KEY,
  processed_at_ms BIGINT NOT NULL
);
CREATE TABLE history (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id TEXT NOT NULL,
  sandbox_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  outcome TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  recorded_at_ms BIGINT NOT NULL,
  status TEXT,
  detail TEXT NOT NULL
);
CREATE INDEX history_project ON history (project_id, seq);
CREATE TABLE job_runs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job TEXT NOT NULL,
  trigger TEXT NOT NULL,
  started_at_ms BIGINT NOT NULL,
  finished_at_ms BIGINT NOT NULL,
  checked BIGINT NOT NULL,
  paused BIGINT NOT NULL,
  failed BIGINT NOT NULL,
  errors TEXT NOT NULL
);
CREATE INDEX job_runs_job ON job_runs (job, id);
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  fencing_token BIGINT NOT NULL
);
)sql",
       .down = ""},
      // 2: retention's time indexes and the sessions table. The indexes are
      // built in the migration's transaction: writes to those tables wait
      // for the build (seconds per million rows).
      {.up = R"sql(
CREATE INDEX processed_events_processed_at ON processed_events (processed_at_ms);
CREATE INDEX history_recorded_at ON history (recorded_at_ms);
CREATE INDEX job_runs_finished_at ON job_runs (finished_at_ms);
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at_ms);
)sql",
       .down = R"sql(
DROP TABLE sessions;
DROP INDEX job_runs_finished_at;
DROP INDEX history_recorded_at;
DROP INDEX processed_events_processed_at;
)sql"},
      // 3: busy holds on the sandbox record. Rows written before have none.
      {.up = R"sql(
ALTER TABLE sandboxes ADD COLUMN holds TEXT NOT NULL DEFAULT '{}';
)sql",
       .down = R"sql(
ALTER TABLE sandboxes DROP COLUMN holds;
)sql"},
      // 4: the newest activity of each source on the record, and the inputs
      // of each decision in its history row. Rows written before have none.
      {.up = R"sql(
ALTER TABLE sandboxes ADD COLUMN activity TEXT NOT NULL DEFAULT '{}';
ALTER TABLE history ADD COLUMN inputs TEXT NOT NULL DEFAULT '{}';
)sql",
       .down = R"sql(
ALTER TABLE history DROP COLUMN inputs;
ALTER TABLE sandboxes DROP COLUMN activity;
)sql"},
      // 5: the projects each job run paused. Runs recorded before have none.
      {.up = R"sql(
ALTER TABLE job_runs ADD COLUMN paused_projects TEXT NOT NULL DEFAULT '[]';
)sql",
       .down = R"sql(
ALTER TABLE job_runs DROP COLUMN paused_projects;
)sql"},
      // 6: the idle policy each project chose. Rows written before have the
      // deployment's.
      {.up = R"sql(
ALTER TABLE sandboxes ADD COLUMN idle_policy TEXT NOT NULL DEFAULT '';
)sql",
       .down = R"sql(
ALTER TABLE sandboxes DROP COLUMN idle_policy;
)sql"},
      // 7: an index for webhook delivery health (Store::SummarizeDelivery).
      {.up = R"sql(
CREATE INDEX history_source ON history (source, seq);
)sql",
       .down = R"sql(
DROP INDEX history_source;
)sql"},
  };
  return kMigrations;
}

Result<int64_t> MigratePostgres(PgConnection& conn, int64_t version) {
  const auto& migrations = PostgresMigrations();
  const auto latest = static_cast<int64_t>(migrations.size());
  std::optional<int64_t> found;
  for (;;) {
    bool done = false;
    // One migration per transaction; the lock is released at its end.
    Status s = InTransaction(conn, [&]() -> Status {
      SBX_RETURN_IF_ERROR(
          conn.Exec(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLockKey)).status());
      SBX_RETURN_IF_ERROR(conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                    "version BIGINT PRIMARY KEY, applied_at_ms BIGINT NOT NULL)")
                              .status());
      SBX_ASSIGN_OR_RETURN(PgResult r,
                           conn.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
      PgRow row(r, 0);
      const int64_t current = row.Int(0);
      SBX_RETURN_IF_ERROR(row.status());
      if (!found) found = current;
      if (current > latest) {
        return FailedPrecondition(fmt::format(
            "database schema version {} is newer than this sandboxd ({}): refusing to run", current,
            latest));
      }
      if (current == version) {
        done = true;
        return OkStatus();
      }
      if (current < version) {
        Status m = conn.Exec(migrations[static_cast<size_t>(current)].up).status();
        if (m.ok()) {
          m = conn.Exec(fmt::format("INSERT INTO schema_migrations VALUES ({}, "
                                    "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)",
                                    current + 1))
                  .status();
        }
        return m.WithContext(fmt::format("migration {}", current + 1));
      }
      Status m = conn.Exec(migrations[static_cast<size_t>(current - 1)].down).status();
      if (m.ok()) {
        m = conn.Exec(fmt::format("DELETE FROM schema_migrations WHERE version = {}", current))
                .status();
      }
      return m.WithContext(fmt::format("undo migration {}", current));
    });
    if (!s.ok()) return s;
    if (done) return *found;
  }
}

}  // namespace sbx::store
