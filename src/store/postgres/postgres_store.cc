#include "store/postgres/postgres_store.h"

#include <fmt/format.h>

#include "store/codec.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_migrations.h"
#include "store/postgres/pg_notify.h"

namespace sbx::store {
namespace {

using core::Sandbox;

constexpr const char* kSandboxColumns =
    "project_id, sandbox_id, status, url, template, idle_timeout_s, last_activity_at_ms, "
    "created_at_ms, updated_at_ms, version, last_error_code, last_error_message, "
    "last_error_at_ms, last_event_at_ms, provider_end_at_ms, metadata";

constexpr const char* kInsertSandboxSql =
    "INSERT INTO sandboxes (project_id, sandbox_id, status, url, template, idle_timeout_s, "
    "last_activity_at_ms, created_at_ms, updated_at_ms, version, last_error_code, "
    "last_error_message, last_error_at_ms, last_event_at_ms, provider_end_at_ms, metadata, "
    "pause_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
    "$17) ON CONFLICT (project_id) DO NOTHING";

constexpr const char* kUpdateSandboxSql =
    "UPDATE sandboxes SET sandbox_id = $2, status = $3, url = $4, template = $5, "
    "idle_timeout_s = $6, last_activity_at_ms = $7, created_at_ms = $8, updated_at_ms = $9, "
    "version = $10, last_error_code = $11, last_error_message = $12, last_error_at_ms = $13, "
    "last_event_at_ms = $14, provider_end_at_ms = $15, metadata = $16, pause_at_ms = $17 "
    "WHERE project_id = $1 AND version = $18";

// LIMIT NULL is no limit, as a negative LIMIT is in SQLite.
PgParam LimitParam(int limit) {
  if (limit < 0) return std::nullopt;
  return Param(int64_t{limit});
}

std::vector<PgParam> SandboxParams(const Sandbox& s) {
  std::optional<int64_t> pause_at;
  if (auto at = core::PauseAt(s)) pause_at = ToUnixMillis(*at);
  std::optional<int64_t> end_at;
  if (s.provider_end_at) end_at = ToUnixMillis(*s.provider_end_at);
  std::vector<PgParam> p;
  p.reserve(18);
  p.push_back(Param(s.project_id));
  p.push_back(Param(s.sandbox_id));
  p.push_back(Param(std::string(core::StatusName(s.status))));
  p.push_back(Param(s.url));
  p.push_back(Param(s.template_name));
  p.push_back(Param(s.idle_timeout_s));
  p.push_back(Param(ToUnixMillis(s.last_activity_at)));
  p.push_back(Param(ToUnixMillis(s.created_at)));
  p.push_back(Param(ToUnixMillis(s.updated_at)));
  p.push_back(Param(s.version));
  if (s.last_error) {
    p.push_back(Param(s.last_error->code));
    p.push_back(Param(s.last_error->message));
    p.push_back(Param(ToUnixMillis(s.last_error->at)));
  } else {
    p.insert(p.end(), 3, std::nullopt);
  }
  p.push_back(Param(ToUnixMillis(s.last_event_at)));
  p.push_back(Param(end_at));
  p.push_back(Param(EncodeMetadata(s.metadata)));
  p.push_back(Param(pause_at));
  return p;
}

Result<Sandbox> ReadSandbox(const PgResult& result, int i) {
  PgRow row(result, i);
  Sandbox s;
  s.project_id = row.Text(0);
  s.sandbox_id = row.Text(1);
  auto status = core::ParseStatus(row.Text(2));
  if (!status) return Internal("stored status is invalid: " + status.error().message());
  s.status = *status;
  s.url = row.OptText(3);
  s.template_name = row.Text(4);
  s.idle_timeout_s = row.Int(5);
  s.last_activity_at = FromUnixMillis(row.Int(6));
  s.created_at = FromUnixMillis(row.Int(7));
  s.updated_at = FromUnixMillis(row.Int(8));
  s.version = row.Int(9);
  if (auto code = row.OptText(10)) {
    s.last_error = core::LastError{*code, row.Text(11), FromUnixMillis(row.Int(12))};
  }
  s.last_event_at = FromUnixMillis(row.Int(13));
  if (auto end = row.OptInt(14)) s.provider_end_at = FromUnixMillis(*end);
  SBX_RETURN_IF_ERROR(row.status());
  SBX_ASSIGN_OR_RETURN(s.metadata, DecodeMetadata(row.Text(15)));
  return s;
}

Status MarkProcessed(PgConnection& conn, const std::string& event_id, SystemTime now) {
  SBX_ASSIGN_OR_RETURN(
      PgResult r,
      conn.Run("INSERT INTO processed_events (event_id, processed_at_ms) VALUES ($1, $2) "
               "ON CONFLICT (event_id) DO NOTHING",
               {Param(event_id), Param(ToUnixMillis(now))}));
  if (r.affected() == 0) {
    return AlreadyExists(fmt::format("event {} was already processed", event_id));
  }
  return OkStatus();
}

Status InsertHistory(PgConnection& conn, const HistoryRow& row) {
  return conn
      .Run(
          "INSERT INTO history (project_id, sandbox_id, event_id, type, source, outcome, at_ms, "
          "recorded_at_ms, status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          {Param(row.project_id), Param(row.sandbox_id), Param(row.event_id), Param(row.type),
           Param(row.source), Param(row.outcome), Param(ToUnixMillis(row.at)),
           Param(ToUnixMillis(row.recorded_at)), Param(row.status), Param(row.detail)})
      .status();
}

}  // namespace

PostgresStore::PostgresStore(std::string url, PostgresOptions options, std::unique_ptr<PgPool> pool)
    : url_(std::move(url)), options_(options), pool_(std::move(pool)) {}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url,
                                                           PostgresOptions options) {
  if (options.pool_size < 1) {
    return InvalidArgument(fmt::format("postgres pool size {} is below 1", options.pool_size));
  }
  SBX_ASSIGN_OR_RETURN(
      auto pool,
      PgPool::Create({.url = url, .connect_timeout = options.connect_timeout}, options.pool_size));
  {
    SBX_ASSIGN_OR_RETURN(auto conn, pool->Borrow());
    SBX_RETURN_IF_ERROR(MigratePostgres(*conn));
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(url, options, std::move(pool)));
}

Result<std::vector<Sandbox>> PostgresStore::QuerySandboxes(const std::string& sql,
                                                           const std::vector<PgParam>& params) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(sql, params));
  std::vector<Sandbox> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    SBX_ASSIGN_OR_RETURN(Sandbox s, ReadSandbox(r, i));
    out.push_back(std::move(s));
  }
  return out;
}

Status PostgresStore::Batch(const std::function<Status()>& body) {
  // Every call of this thread borrows the pinned connection and so joins
  // its transaction; a batch inside a batch is a savepoint (InTransaction).
  return pool_->Pinned([&](PgConnection& conn) { return InTransaction(conn, body); });
}

// Store

Result<std::vector<Sandbox>> PostgresStore::LoadSandboxes() {
  return QuerySandboxes(
      fmt::format("SELECT {} FROM sandboxes ORDER BY project_id", kSandboxColumns), {});
}

Result<Sandbox> PostgresStore::GetSandbox(const std::string& project_id) {
  SBX_ASSIGN_OR_RETURN(
      auto rows,
      QuerySandboxes(fmt::format("SELECT {} FROM sandboxes WHERE project_id = $1", kSandboxColumns),
                     {Param(project_id)}));
  if (rows.empty()) return NotFound(fmt::format("project {} has no sandbox", project_id));
  return std::move(rows.front());
}

Result<std::vector<Sandbox>> PostgresStore::ListSandboxes(const ListOptions& options) {
  if (options.status) {
    return QuerySandboxes(
        fmt::format("SELECT {} FROM sandboxes WHERE project_id > $1 AND status = $2 "
                    "ORDER BY project_id LIMIT $3",
                    kSandboxColumns),
        {Param(options.after_project_id), Param(std::string(core::StatusName(*options.status))),
         LimitParam(options.limit)});
  }
  return QuerySandboxes(fmt::format("SELECT {} FROM sandboxes WHERE project_id > $1 "
                                    "ORDER BY project_id LIMIT $2",
                                    kSandboxColumns),
                        {Param(options.after_project_id), LimitParam(options.limit)});
}

Result<std::vector<Sandbox>> PostgresStore::ListIdleDue(SystemTime now, int limit) {
  // Served by the partial index sandboxes_pause_at: pause_at_ms is NULL
  // unless RUNNING.
  return QuerySandboxes(
      fmt::format("SELECT {} FROM sandboxes WHERE pause_at_ms IS NOT NULL AND pause_at_ms <= $1 "
                  "ORDER BY pause_at_ms LIMIT $2",
                  kSandboxColumns),
      {Param(ToUnixMillis(now)), LimitParam(limit)});
}

Status PostgresStore::CommitTransition(const Sandbox& next, int64_t expected_version,
                                       const std::string& event_id,
                                       const std::optional<HistoryRow>& history) {
  if (next.version != expected_version + 1) {
    return InvalidArgument(
        fmt::format("version {} does not follow {}", next.version, expected_version));
  }
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  return InTransaction(*conn, [&]() -> Status {
    if (!event_id.empty()) SBX_RETURN_IF_ERROR(MarkProcessed(*conn, event_id, next.updated_at));
    std::vector<PgParam> params = SandboxParams(next);
    const char* sql = kInsertSandboxSql;
    if (expected_version != 0) {
      params.push_back(Param(expected_version));
      sql = kUpdateSandboxSql;
    }
    // A concurrent writer's update or insert makes ours wait for its
    // commit, then match no row (the version moved; the key exists).
    SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(sql, params));
    if (r.affected() == 0) {
      return FailedPrecondition(fmt::format("sandbox of project {} changed (expected version {})",
                                            next.project_id, expected_version));
    }
    if (history) SBX_RETURN_IF_ERROR(InsertHistory(*conn, *history));
    if (!options_.change_channel.empty()) {
      SBX_RETURN_IF_ERROR(
          conn->Run("SELECT pg_notify($1, $2)",
                    {Param(options_.change_channel), Param(ChangePayload(next))})
              .status());
    }
    return OkStatus();
  });
}

Status PostgresStore::RecordEvent(const std::string& event_id, const HistoryRow& history) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  return InTransaction(*conn, [&]() -> Status {
    if (!event_id.empty()) {
      SBX_RETURN_IF_ERROR(MarkProcessed(*conn, event_id, history.recorded_at));
    }
    return InsertHistory(*conn, history);
  });
}

Status PostgresStore::AppendHistory(const HistoryRow& history) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  // In a transaction of its own (a savepoint inside a batch), so that a
  // refused row never aborts the rest of a batch.
  return InTransaction(*conn, [&] { return InsertHistory(*conn, history); });
}

Result<bool> PostgresStore::IsEventProcessed(const std::string& event_id) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run("SELECT 1 FROM processed_events WHERE event_id = $1",
                                             {Param(event_id)}));
  return r.rows() > 0;
}

Result<std::vector<HistoryRow>> PostgresStore::ListHistory(const std::string& project_id,
                                                           int limit) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(
      PgResult r,
      conn->Run("SELECT seq, project_id, sandbox_id, event_id, type, source, outcome, at_ms, "
                "recorded_at_ms, status, detail FROM history WHERE project_id = $1 "
                "ORDER BY seq DESC LIMIT $2",
                {Param(project_id), LimitParam(limit)}));
  std::vector<HistoryRow> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    PgRow row(r, i);
    HistoryRow h;
    h.seq = row.Int(0);
    h.project_id = row.Text(1);
    h.sandbox_id = row.Text(2);
    h.event_id = row.Text(3);
    h.type = row.Text(4);
    h.source = row.Text(5);
    h.outcome = row.Text(6);
    h.at = FromUnixMillis(row.Int(7));
    h.recorded_at = FromUnixMillis(row.Int(8));
    h.status = row.OptText(9);
    h.detail = row.Text(10);
    SBX_RETURN_IF_ERROR(row.status());
    out.push_back(std::move(h));
  }
  return out;
}

Result<int64_t> PostgresStore::RecordJobRun(const JobRun& run) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(
      PgResult r,
      conn->Run("INSERT INTO job_runs (job, trigger, started_at_ms, finished_at_ms, checked, "
                "paused, failed, errors) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                {Param(run.job), Param(run.trigger), Param(ToUnixMillis(run.started_at)),
                 Param(ToUnixMillis(run.finished_at)), Param(run.checked), Param(run.paused),
                 Param(run.failed), Param(EncodeStrings(run.errors))}));
  if (r.rows() != 1) return Internal("job run insert returned no id");
  PgRow row(r, 0);
  const int64_t id = row.Int(0);
  SBX_RETURN_IF_ERROR(row.status());
  return id;
}

Result<std::vector<JobRun>> PostgresStore::ListJobRuns(const std::string& job, int limit) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(
      PgResult r,
      conn->Run("SELECT id, job, trigger, started_at_ms, finished_at_ms, checked, paused, failed, "
                "errors FROM job_runs WHERE job = $1 ORDER BY id DESC LIMIT $2",
                {Param(job), LimitParam(limit)}));
  std::vector<JobRun> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    PgRow row(r, i);
    JobRun run;
    run.id = row.Int(0);
    run.job = row.Text(1);
    run.trigger = row.Text(2);
    run.started_at = FromUnixMillis(row.Int(3));
    run.finished_at = FromUnixMillis(row.Int(4));
    run.checked = row.Int(5);
    run.paused = row.Int(6);
    run.failed = row.Int(7);
    SBX_RETURN_IF_ERROR(row.status());
    SBX_ASSIGN_OR_RETURN(run.errors, DecodeStrings(row.Text(8)));
    out.push_back(std::move(run));
  }
  return out;
}

Status PostgresStore::Ping() {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  return conn->Exec("SELECT 1").status();
}

Result<int64_t> PostgresStore::SchemaVersion() {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r,
                       conn->Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  PgRow row(r, 0);
  const int64_t version = row.Int(0);
  SBX_RETURN_IF_ERROR(row.status());
  return version;
}

}  // namespace sbx::store
