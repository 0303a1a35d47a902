#include "store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <unordered_map>

#include "base/log.h"
#include "store/codec.h"

namespace sbx::store {
namespace {

using core::Sandbox;

Status SqliteError(sqlite3* db, std::string_view what) {
  const int code = sqlite3_errcode(db);
  std::string msg = fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db));
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR ||
      code == SQLITE_FULL || code == SQLITE_CANTOPEN) {
    return Unavailable(std::move(msg));
  }
  return Internal(std::move(msg));
}

std::optional<int64_t> PauseAtMs(const Sandbox& s) {
  auto at = core::PauseAt(s);
  if (!at) return std::nullopt;
  return ToUnixMillis(*at);
}

}  // namespace

// A prepared statement bound and stepped under the store's mutex; reset and
// cleared when it goes out of scope so the cached handle can be reused.
class SqliteStore::Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt() {
    if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, const std::optional<std::string>& v) {
    if (v) {
      Bind(i, *v);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
  }
  void Bind(int i, const std::optional<int64_t>& v) {
    if (v) {
      Bind(i, *v);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
  }
  // Returns true while a row is available.
  Result<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, "step");
  }
  Status Run() {
    auto r = Step();
    if (!r) return r.error();
    return OkStatus();
  }
  std::string Text(int col) {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  std::optional<std::string> OptText(int col) {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return Text(col);
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  std::optional<int64_t> OptInt(int col) {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return Int(col);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

namespace {

constexpr const char* kSandboxColumns =
    "project_id, sandbox_id, status, url, template, idle_timeout_s, last_activity_at_ms, "
    "created_at_ms, updated_at_ms, version, last_error_code, last_error_message, "
    "last_error_at_ms, last_event_at_ms, provider_end_at_ms, metadata";

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Status s = Unavailable(fmt::format("sqlite open {}: {}", path,
                                       db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_busy_timeout(db, 5000);
  // WAL + synchronous=NORMAL: a commit survives a crash of the process (the
  // WAL is in the OS page cache); only a power loss can drop the last commits.
  SBX_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  SBX_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=NORMAL"));
  SBX_RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys=ON"));
  SBX_RETURN_IF_ERROR(store->Migrate());
  if (path != ":memory:" && !path.empty()) SBX_RETURN_IF_ERROR(store->StartCheckpointer(path));
  return store;
}

SqliteStore::~SqliteStore() {
  if (checkpointer_.joinable()) {
    {
      std::lock_guard lock(checkpoint_mu_);
      stopping_ = true;
    }
    checkpoint_cv_.notify_one();
    checkpointer_.join();
  }
  sqlite3_close(checkpoint_db_);
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  // The last connection to close checkpoints what is left in the WAL.
  sqlite3_close(db_);
}

Status SqliteStore::StartCheckpointer(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &checkpoint_db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return Unavailable(fmt::format("sqlite open {} for checkpoints: {}", path,
                                   checkpoint_db_ ? sqlite3_errmsg(checkpoint_db_) : "no memory"));
  }
  sqlite3_busy_timeout(checkpoint_db_, 5000);
  // The committing connection no longer checkpoints by itself; its WAL hook
  // wakes the checkpointer instead, once a commit leaves kCheckpointPages.
  // The WAL starts over only when a checkpoint has caught up with it before
  // the next write; under writes without a pause that never happens, so at
  // kWalLimitPages the writer checkpoints (RESTART) itself, once, keeping
  // the file bounded. Calling a checkpoint from this hook is what SQLite's
  // own auto-checkpoint does.
  SBX_RETURN_IF_ERROR(Exec("PRAGMA wal_autocheckpoint=0"));
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3* db, const char*, int pages) {
        if (pages >= kWalLimitPages) {
          if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr) !=
              SQLITE_OK) {
            SBX_LOG_WARN("sqlite checkpoint at the WAL limit: {}", sqlite3_errmsg(db));
          }
        } else if (pages >= kCheckpointPages) {
          static_cast<SqliteStore*>(self)->RequestCheckpoint();
        }
        return SQLITE_OK;
      },
      this);
  checkpointer_ = std::thread([this] { RunCheckpointer(); });
  return OkStatus();
}

void SqliteStore::RequestCheckpoint() {
  {
    std::lock_guard lock(checkpoint_mu_);
    checkpoint_due_ = true;
  }
  checkpoint_cv_.notify_one();
}

void SqliteStore::RunCheckpointer() {
  for (;;) {
    {
      std::unique_lock lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_due_ || stopping_; });
      if (stopping_) return;
      checkpoint_due_ = false;
    }
    // PASSIVE: copies what it can without blocking the writer; the writer
    // starts the WAL over once a checkpoint has caught up.
    const int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                             nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      SBX_LOG_WARN("sqlite checkpoint: {}", sqlite3_errmsg(checkpoint_db_));
    }
    {
      std::lock_guard lock(checkpoint_mu_);
      ++checkpoints_;
    }
    checkpoint_done_cv_.notify_all();
  }
}

bool SqliteStore::WaitForCheckpoints(int64_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(checkpoint_mu_);
  return checkpoint_done_cv_.wait_for(lock, timeout, [&] { return checkpoints_ >= n; });
}

Status SqliteStore::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Internal(fmt::format("sqlite exec: {}", msg));
  }
  return OkStatus();
}

Status SqliteStore::Migrate() {
  std::lock_guard lock(mu_);
  SBX_RETURN_IF_ERROR(Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
      "applied_at_ms BIGINT NOT NULL)"));
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare");
  }
  int64_t current = 0;
  if (sqlite3_step(raw) == SQLITE_ROW) current = sqlite3_column_int64(raw, 0);
  sqlite3_finalize(raw);
  const auto& migrations = Migrations();
  if (current > static_cast<int64_t>(migrations.size())) {
    return FailedPrecondition(fmt::format(
        "database schema version {} is newer than this sandboxd ({}): refusing to run", current,
        migrations.size()));
  }
  for (size_t i = static_cast<size_t>(current); i < migrations.size(); ++i) {
    Status s = AtomicallyLocked([&]() -> Status {
      SBX_RETURN_IF_ERROR(Exec(migrations[i]));
      return Exec(fmt::format("INSERT INTO schema_migrations VALUES ({}, 0)", i + 1));
    });
    if (!s.ok()) return s.WithContext(fmt::format("migration {}", i + 1));
  }
  return OkStatus();
}

Result<int64_t> SqliteStore::SchemaVersion() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT MAX(version) FROM schema_migrations", -1, &raw, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db_, "prepare");
  }
  int64_t v = 0;
  if (sqlite3_step(raw) == SQLITE_ROW) v = sqlite3_column_int64(raw, 0);
  sqlite3_finalize(raw);
  return v;
}

#define SBX_PREPARE(var, sql)                                                           \
  sqlite3_stmt*& var##_raw = stmts_[sql];                                         \
  if (!var##_raw && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT,         \
                                       &var##_raw, nullptr) != SQLITE_OK) {             \
    return SqliteError(db_, "prepare");                                                 \
  }                                                                                     \
  Stmt var(db_, var##_raw)

namespace {

Result<Sandbox> ReadSandbox(auto& st) {
  Sandbox s;
  s.project_id = st.Text(0);
  s.sandbox_id = st.Text(1);
  auto status = core::ParseStatus(st.Text(2));
  if (!status) return Internal("stored status is invalid: " + status.error().message());
  s.status = *status;
  s.url = st.OptText(3);
  s.template_name = st.Text(4);
  s.idle_timeout_s = st.Int(5);
  s.last_activity_at = FromUnixMillis(st.Int(6));
  s.created_at = FromUnixMillis(st.Int(7));
  s.updated_at = FromUnixMillis(st.Int(8));
  s.version = st.Int(9);
  if (auto code = st.OptText(10)) {
    s.last_error = core::LastError{*code, st.Text(11), FromUnixMillis(st.Int(12))};
  }
  s.last_event_at = FromUnixMillis(st.Int(13));
  if (auto end = st.OptInt(14)) s.provider_end_at = FromUnixMillis(*end);
  SBX_ASSIGN_OR_RETURN(s.metadata, DecodeMetadata(st.Text(15)));
  return s;
}

}  // namespace

Result<std::vector<Sandbox>> SqliteStore::QuerySandboxesLocked(
    const std::string& sql, const std::vector<std::string>& text_args,
    const std::vector<int64_t>& int_args) {
  SBX_PREPARE(st, sql.c_str());
  int i = 1;
  for (const auto& t : text_args) st.Bind(i++, t);
  for (int64_t v : int_args) st.Bind(i++, v);
  std::vector<Sandbox> out;
  for (;;) {
    SBX_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SBX_ASSIGN_OR_RETURN(Sandbox s, ReadSandbox(st));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<Sandbox>> SqliteStore::LoadSandboxes() {
  std::lock_guard lock(mu_);
  return QuerySandboxesLocked(
      fmt::format("SELECT {} FROM sandboxes ORDER BY project_id", kSandboxColumns), {}, {});
}

Result<Sandbox> SqliteStore::GetSandbox(const std::string& project_id) {
  std::lock_guard lock(mu_);
  SBX_ASSIGN_OR_RETURN(
      auto rows,
      QuerySandboxesLocked(
          fmt::format("SELECT {} FROM sandboxes WHERE project_id = ?", kSandboxColumns),
          {project_id}, {}));
  if (rows.empty()) return NotFound(fmt::format("project {} has no sandbox", project_id));
  return std::move(rows.front());
}

Result<std::vector<Sandbox>> SqliteStore::ListSandboxes(const ListOptions& options) {
  std::lock_guard lock(mu_);
  std::vector<std::string> texts{options.after_project_id};
  std::string where = "project_id > ?";
  if (options.status) {
    where += " AND status = ?";
    texts.emplace_back(core::StatusName(*options.status));
  }
  return QuerySandboxesLocked(
      fmt::format("SELECT {} FROM sandboxes WHERE {} ORDER BY project_id LIMIT ?", kSandboxColumns,
                  where),
      texts, {options.limit});
}

Result<std::vector<Sandbox>> SqliteStore::ListIdleDue(SystemTime now, int limit) {
  std::lock_guard lock(mu_);
  return QuerySandboxesLocked(
      fmt::format("SELECT {} FROM sandboxes WHERE pause_at_ms IS NOT NULL AND pause_at_ms <= ? "
                  "ORDER BY pause_at_ms LIMIT ?",
                  kSandboxColumns),
      {}, {ToUnixMillis(now), limit});
}

Status SqliteStore::MarkProcessedLocked(const std::string& event_id, SystemTime now) {
  SBX_PREPARE(st,
              "INSERT INTO processed_events (event_id, processed_at_ms) VALUES (?, ?) "
              "ON CONFLICT (event_id) DO NOTHING");
  st.Bind(1, event_id);
  st.Bind(2, ToUnixMillis(now));
  SBX_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(db_) == 0) {
    return AlreadyExists(fmt::format("event {} was already processed", event_id));
  }
  return OkStatus();
}

Status SqliteStore::InsertHistoryLocked(const HistoryRow& row) {
  SBX_PREPARE(st,
              "INSERT INTO history (seq, project_id, sandbox_id, event_id, type, source, outcome, "
              "at_ms, recorded_at_ms, status, detail) VALUES "
              "((SELECT COALESCE(MAX(seq), 0) + 1 FROM history), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  st.Bind(1, row.project_id);
  st.Bind(2, row.sandbox_id);
  st.Bind(3, row.event_id);
  st.Bind(4, row.type);
  st.Bind(5, row.source);
  st.Bind(6, row.outcome);
  st.Bind(7, ToUnixMillis(row.at));
  st.Bind(8, ToUnixMillis(row.recorded_at));
  st.Bind(9, row.status);
  st.Bind(10, row.detail);
  return st.Run();
}

Status SqliteStore::CommitTransition(const Sandbox& next, int64_t expected_version,
                                     const std::string& event_id,
                                     const std::optional<HistoryRow>& history) {
  if (next.version != expected_version + 1) {
    return InvalidArgument(fmt::format("version {} does not follow {}", next.version,
                                       expected_version));
  }
  std::lock_guard lock(mu_);
  return AtomicallyLocked([&]() -> Status {
    if (!event_id.empty()) SBX_RETURN_IF_ERROR(MarkProcessedLocked(event_id, next.updated_at));
    const char* sql =
        expected_version == 0
            ? "INSERT INTO sandboxes (project_id, sandbox_id, status, url, template, "
              "idle_timeout_s, last_activity_at_ms, created_at_ms, updated_at_ms, version, "
              "last_error_code, last_error_message, last_error_at_ms, last_event_at_ms, "
              "provider_end_at_ms, metadata, pause_at_ms) VALUES "
              "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
              "?17) ON CONFLICT (project_id) DO NOTHING"
            : "UPDATE sandboxes SET sandbox_id = ?2, status = ?3, url = ?4, template = ?5, "
              "idle_timeout_s = ?6, last_activity_at_ms = ?7, created_at_ms = ?8, "
              "updated_at_ms = ?9, version = ?10, last_error_code = ?11, "
              "last_error_message = ?12, last_error_at_ms = ?13, last_event_at_ms = ?14, "
              "provider_end_at_ms = ?15, metadata = ?16, pause_at_ms = ?17 "
              "WHERE project_id = ?1 AND version = ?18";
    SBX_PREPARE(st, sql);
    st.Bind(1, next.project_id);
    st.Bind(2, next.sandbox_id);
    st.Bind(3, std::string(core::StatusName(next.status)));
    st.Bind(4, next.url);
    st.Bind(5, next.template_name);
    st.Bind(6, next.idle_timeout_s);
    st.Bind(7, ToUnixMillis(next.last_activity_at));
    st.Bind(8, ToUnixMillis(next.created_at));
    st.Bind(9, ToUnixMillis(next.updated_at));
    st.Bind(10, next.version);
    if (next.last_error) {
      st.Bind(11, next.last_error->code);
      st.Bind(12, next.last_error->message);
      st.Bind(13, ToUnixMillis(next.last_error->at));
    } else {
      st.Bind(11, std::optional<std::string>());
      st.Bind(12, std::optional<std::string>());
      st.Bind(13, std::optional<int64_t>());
    }
    st.Bind(14, ToUnixMillis(next.last_event_at));
    st.Bind(15, next.provider_end_at ? std::optional<int64_t>(ToUnixMillis(*next.provider_end_at))
                                     : std::nullopt);
    st.Bind(16, EncodeMetadata(next.metadata));
    st.Bind(17, PauseAtMs(next));
    if (expected_version != 0) st.Bind(18, expected_version);
    SBX_RETURN_IF_ERROR(st.Run());
    if (sqlite3_changes(db_) == 0) {
      return FailedPrecondition(fmt::format("sandbox of project {} changed (expected version {})",
                                            next.project_id, expected_version));
    }
    if (history) SBX_RETURN_IF_ERROR(InsertHistoryLocked(*history));
    return OkStatus();
  });
}

Status SqliteStore::RecordEvent(const std::string& event_id, const HistoryRow& history) {
  std::lock_guard lock(mu_);
  return AtomicallyLocked([&]() -> Status {
    if (!event_id.empty()) SBX_RETURN_IF_ERROR(MarkProcessedLocked(event_id, history.recorded_at));
    return InsertHistoryLocked(history);
  });
}

Status SqliteStore::Batch(const std::function<Status()>& body) {
  std::lock_guard lock(mu_);
  return AtomicallyLocked(body);
}

Status SqliteStore::AtomicallyLocked(const std::function<Status()>& body) {
  // Inside a transaction already (a batch): a savepoint makes this unit
  // all-or-nothing without committing the batch.
  const bool nested = sqlite3_get_autocommit(db_) == 0;
  SBX_RETURN_IF_ERROR(Exec(nested ? "SAVEPOINT unit" : "BEGIN IMMEDIATE"));
  Status s = body();
  if (s.ok()) {
    s = Exec(nested ? "RELEASE unit" : "COMMIT");
    if (s.ok()) return s;
  }
  // Some errors (I/O, full disk) end the transaction by themselves; roll
  // back only what is still open.
  if (sqlite3_get_autocommit(db_) == 0) {
    (void)Exec(nested ? "ROLLBACK TO unit; RELEASE unit" : "ROLLBACK");
  }
  return s;
}

Status SqliteStore::AppendHistory(const HistoryRow& history) {
  std::lock_guard lock(mu_);
  return InsertHistoryLocked(history);
}

Result<bool> SqliteStore::IsEventProcessed(const std::string& event_id) {
  std::lock_guard lock(mu_);
  SBX_PREPARE(st, "SELECT 1 FROM processed_events WHERE event_id = ?");
  st.Bind(1, event_id);
  return st.Step();
}

Result<std::vector<HistoryRow>> SqliteStore::ListHistory(const std::string& project_id,
                                                         int limit) {
  std::lock_guard lock(mu_);
  SBX_PREPARE(st,
              "SELECT seq, project_id, sandbox_id, event_id, type, source, outcome, at_ms, "
              "recorded_at_ms, status, detail FROM history WHERE project_id = ? "
              "ORDER BY seq DESC LIMIT ?");
  st.Bind(1, project_id);
  st.Bind(2, int64_t{limit});
  std::vector<HistoryRow> out;
  for (;;) {
    SBX_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    HistoryRow h;
    h.seq = st.Int(0);
    h.project_id = st.Text(1);
    h.sandbox_id = st.Text(2);
    h.event_id = st.Text(3);
    h.type = st.Text(4);
    h.source = st.Text(5);
    h.outcome = st.Text(6);
    h.at = FromUnixMillis(st.Int(7));
    h.recorded_at = FromUnixMillis(st.Int(8));
    h.status = st.OptText(9);
    h.detail = st.Text(10);
    out.push_back(std::move(h));
  }
  return out;
}

Result<int64_t> SqliteStore::RecordJobRun(const JobRun& run) {
  std::lock_guard lock(mu_);
  SBX_PREPARE(st,
              "INSERT INTO job_runs (id, job, trigger, started_at_ms, finished_at_ms, checked, "
              "paused, failed, errors) VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM job_runs), "
              "?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  st.Bind(1, run.job);
  st.Bind(2, run.trigger);
  st.Bind(3, ToUnixMillis(run.started_at));
  st.Bind(4, ToUnixMillis(run.finished_at));
  st.Bind(5, run.checked);
  st.Bind(6, run.paused);
  st.Bind(7, run.failed);
  st.Bind(8, EncodeStrings(run.errors));
  SBX_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Internal("job run insert returned no id");
  const int64_t id = st.Int(0);
  SBX_ASSIGN_OR_RETURN(bool more, st.Step());
  (void)more;
  return id;
}

Result<std::vector<JobRun>> SqliteStore::ListJobRuns(const std::string& job, int limit) {
  std::lock_guard lock(mu_);
  SBX_PREPARE(st,
              "SELECT id, job, trigger, started_at_ms, finished_at_ms, checked, paused, failed, "
              "errors "
              "FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT ?");
  st.Bind(1, job);
  st.Bind(2, int64_t{limit});
  std::vector<JobRun> out;
  for (;;) {
    SBX_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    JobRun r;
    r.id = st.Int(0);
    r.job = st.Text(1);
    r.trigger = st.Text(2);
    r.started_at = FromUnixMillis(st.Int(3));
    r.finished_at = FromUnixMillis(st.Int(4));
    r.checked = st.Int(5);
    r.paused = st.Int(6);
    r.failed = st.Int(7);
    SBX_ASSIGN_OR_RETURN(r.errors, DecodeStrings(st.Text(8)));
    out.push_back(std::move(r));
  }
  return out;
}

Status SqliteStore::Ping() {
  std::lock_guard lock(mu_);
  return Exec("SELECT 1");
}

}  // namespace sbx::store
