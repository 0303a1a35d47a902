#include "store/sqlite/sqlite_migrations.h"

namespace sbx::store {

// Over 80 lines on purpose: a data table, one SQL migration per version, best read in one piece.
const std::vector<SqliteMigration>& SqliteMigrations() {
  // history.seq and job_runs.id are plain BIGINT keys, not rowid aliases:
  // the store assigns MAX + 1 in the insert (the one writer holds the lock).
  static const std::vector<SqliteMigration> kMigrations = {
      // 1: the initial schema.
      {.up = R"sql(
CREATE TABLE sandboxes (
  project_id TEXT PRIMARY KEY,
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
CREATE INDEX sandboxes_pause_at ON sandboxes (pause_at_ms);
CREATE INDEX sandboxes_sandbox_id ON sandboxes (sandbox_id);
CREATE TABLE processed_events (
  event_id TEXT PRIMARY KEY,
  processed_at_ms BIGINT NOT NULL
);
CREATE TABLE history (
  seq BIGINT PRIMARY KEY,
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
  id BIGINT PRIMARY KEY,
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
)sql",
       .down = ""},
      // 2: retention's time indexes and the sessions table.
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

}  // namespace sbx::store
