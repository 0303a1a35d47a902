#include "store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <thread>

#include "base/time.h"
#include "store/sqlite/sqlite_checkpointer.h"
#include "store/sqlite/sqlite_migrations.h"
#include "store/sqlite/sqlite_statement.h"

// The connection, its deadlines, transactions and migrations. The Store's
// reads and writes are in sqlite_records.cc.

namespace sbx::store {
namespace {

using Steady = std::chrono::steady_clock;

// SQLite calls the progress handler every this many virtual machine steps
// (a few microseconds' work): how late past its deadline a statement stops.
constexpr int kProgressSteps = 1000;

}  // namespace

SqliteStore::SqliteStore(sqlite3* db, SqliteOptions options) : db_(db), options_(options) {}

SqliteStore::Call::Call(Call&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)), lock_(std::move(other.lock_)) {}

SqliteStore::Call::~Call() {
  if (store_ && --store_->depth_ == 0) store_->deadline_.reset();
}

namespace {

// Waits for `lock`'s mutex until `deadline`. libstdc++ waits on a steady
// deadline with pthread_mutex_clocklock, which GCC 12's ThreadSanitizer does
// not intercept: it then misses the lock and reports its unlock as an unlock
// of an unlocked mutex. Under TSan the wait goes through the system clock
// (pthread_mutex_timedlock, intercepted); a wall-clock jump can only stretch
// or cut that one wait.
bool LockUntil(std::unique_lock<std::recursive_timed_mutex>& lock,
               std::chrono::steady_clock::time_point deadline) {
#if defined(__SANITIZE_THREAD__)
  return lock.try_lock_until(std::chrono::system_clock::now() +
                             (deadline - std::chrono::steady_clock::now()));
#else
  return lock.try_lock_until(deadline);
#endif
}

}  // namespace

Result<SqliteStore::Call> SqliteStore::BeginCall() {
  const Deadline deadline = Steady::now() + options_.timeout;
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock() && !LockUntil(lock, deadline)) {
    return Unavailable(fmt::format(
        "sqlite: store busy: the database stayed in use by other calls for {}",
        FormatDuration(options_.timeout)));
  }
  if (depth_++ == 0) deadline_ = deadline;
  return Call(this, std::move(lock));
}

int SqliteStore::OnProgress(void* self) {
  auto* store = static_cast<SqliteStore*>(self);
  if (!store->deadline_ || store->rolling_back_) return 0;
  return Steady::now() >= *store->deadline_ ? 1 : 0;
}

int SqliteStore::OnBusy(void* self, int count) {
  // Another process holds the lock (a backup, the sqlite3 shell): retry with
  // a growing pause until the call's deadline, then give up (SQLITE_BUSY).
  auto* store = static_cast<SqliteStore*>(self);
  const Deadline deadline = store->deadline_.value_or(Steady::now() + store->options_.timeout);
  const auto left = deadline - Steady::now();
  if (left <= Steady::duration::zero()) return 0;
  const auto pause = std::chrono::milliseconds(std::min(1 << std::min(count, 5), 25));
  std::this_thread::sleep_for(std::min<Steady::duration>(pause, left));
  return 1;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::OpenFile(const std::string& path,
                                                           SqliteOptions options) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Status s = Unavailable(fmt::format("sqlite open {}: {}", path,
                                       db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, options));
  sqlite3_busy_handler(db, &SqliteStore::OnBusy, store.get());
  sqlite3_progress_handler(db, kProgressSteps, &SqliteStore::OnProgress, store.get());
  // WAL + synchronous=NORMAL: a commit survives a crash of the process (the
  // WAL is in the OS page cache); only a power loss can drop the last commits.
  SBX_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  SBX_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=NORMAL"));
  SBX_RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys=ON"));
  return store;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       SqliteOptions options) {
  SBX_ASSIGN_OR_RETURN(auto store, OpenFile(path, options));
  {
    std::lock_guard lock(store->mu_);
    SBX_RETURN_IF_ERROR(store->MigrateLocked(LatestSchemaVersion()).status());
  }
  if (path != ":memory:" && !path.empty()) {
    SBX_ASSIGN_OR_RETURN(store->checkpointer_, SqliteCheckpointer::Start(store->db_, path));
  }
  return store;
}

int64_t SqliteStore::LatestSchemaVersion() {
  return static_cast<int64_t>(SqliteMigrations().size());
}

Result<int64_t> SqliteStore::MigrateTo(const std::string& path, int64_t version) {
  if (version < 1 || version > LatestSchemaVersion()) {
    return InvalidArgument(fmt::format("schema version {}: this sandboxd knows versions 1 to {}",
                                       version, LatestSchemaVersion()));
  }
  SBX_ASSIGN_OR_RETURN(auto store, OpenFile(path, {}));
  std::lock_guard lock(store->mu_);
  return store->MigrateLocked(version);
}

SqliteStore::~SqliteStore() {
  checkpointer_.reset();
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  // The last connection to close checkpoints what is left in the WAL.
  sqlite3_close(db_);
}

bool SqliteStore::WaitForCheckpoints(int64_t n, std::chrono::milliseconds timeout) {
  if (!checkpointer_) return n <= 0;
  return checkpointer_->WaitForCheckpoints(n, timeout);
}

Status SqliteStore::Exec(const std::string& sql) {
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "exec");
  }
  return OkStatus();
}

Result<SqliteStatement> SqliteStore::PrepareLocked(const std::string& sql) {
  sqlite3_stmt*& stmt = stmts_[sql];
  if (!stmt && sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                  nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare");
  }
  return SqliteStatement(db_, stmt);
}

Result<int64_t> SqliteStore::MigrateLocked(int64_t version) {
  SBX_RETURN_IF_ERROR(Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
      "applied_at_ms BIGINT NOT NULL)"));
  SBX_ASSIGN_OR_RETURN(int64_t current, SchemaVersion());
  const int64_t found = current;
  const auto& migrations = SqliteMigrations();
  if (current > LatestSchemaVersion()) {
    return FailedPrecondition(fmt::format(
        "database schema version {} is newer than this sandboxd ({}): refusing to run", current,
        migrations.size()));
  }
  // The statements of the migration lists were prepared against the old
  // schema: drop them so the next use prepares them afresh.
  auto forget_statements = [this] {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    stmts_.clear();
  };
  for (; current < version; ++current) {
    const auto i = static_cast<size_t>(current);
    Status s = AtomicallyLocked([&]() -> Status {
      SBX_RETURN_IF_ERROR(Exec(migrations[i].up));
      return Exec(fmt::format("INSERT INTO schema_migrations VALUES ({}, 0)", current + 1));
    });
    forget_statements();
    if (!s.ok()) return s.WithContext(fmt::format("migration {}", current + 1));
  }
  for (; current > version; --current) {
    const auto i = static_cast<size_t>(current - 1);
    Status s = AtomicallyLocked([&]() -> Status {
      SBX_RETURN_IF_ERROR(Exec(migrations[i].down));
      return Exec(fmt::format("DELETE FROM schema_migrations WHERE version = {}", current));
    });
    forget_statements();
    if (!s.ok()) return s.WithContext(fmt::format("undo migration {}", current));
  }
  return found;
}

Result<int64_t> SqliteStore::SchemaVersion() {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st,
                       PrepareLocked("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  SBX_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : 0;
}

Status SqliteStore::Batch(const std::function<Status()>& body) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  return AtomicallyLocked(body);
}

Status SqliteStore::AtomicallyLocked(const std::function<Status()>& body) {
  // Inside a transaction already (a batch): a savepoint makes this unit
  // all-or-nothing without committing the batch.
  const bool nested = open_units_ > 0;
  // A full disk, an I/O error or an interrupted statement may make SQLite
  // roll back the whole transaction, savepoints and all. Whatever runs after
  // that in the batch would start transactions of its own and commit on its
  // own, so it fails instead, and so does the batch.
  auto lost = [] {
    return Unavailable("sqlite: an earlier error rolled the transaction back");
  };
  if (nested && sqlite3_get_autocommit(db_) != 0) return lost();
  SBX_RETURN_IF_ERROR(Exec(nested ? "SAVEPOINT unit" : "BEGIN IMMEDIATE"));
  ++open_units_;
  Status s = body();
  --open_units_;
  if (s.ok() && sqlite3_get_autocommit(db_) != 0) s = lost();
  if (s.ok()) {
    s = Exec(nested ? "RELEASE unit" : "COMMIT");
    if (s.ok()) return s;
  }
  // Roll back only what is still open. A rollback past the deadline still
  // runs: interrupting it would leave the transaction open.
  if (sqlite3_get_autocommit(db_) == 0) {
    rolling_back_ = true;
    (void)Exec(nested ? "ROLLBACK TO unit; RELEASE unit" : "ROLLBACK");
    rolling_back_ = false;
  }
  return s;
}

Status SqliteStore::Ping() {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  return Exec("SELECT 1");
}

}  // namespace sbx::store
