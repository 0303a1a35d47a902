#include "store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include "store/sqlite/sqlite_checkpointer.h"
#include "store/sqlite/sqlite_migrations.h"
#include "store/sqlite/sqlite_statement.h"

// The connection, its transactions and migrations. The Store's reads and
// writes are in sqlite_records.cc.

namespace sbx::store {

SqliteStore::SqliteStore(sqlite3* db) : db_(db) {}

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
  if (path != ":memory:" && !path.empty()) {
    SBX_ASSIGN_OR_RETURN(store->checkpointer_, SqliteCheckpointer::Start(db, path));
  }
  return store;
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
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Internal(fmt::format("sqlite exec: {}", msg));
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

Status SqliteStore::Migrate() {
  std::lock_guard lock(mu_);
  SBX_RETURN_IF_ERROR(Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
      "applied_at_ms BIGINT NOT NULL)"));
  SBX_ASSIGN_OR_RETURN(const int64_t current, SchemaVersion());
  const auto& migrations = SqliteMigrations();
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
  SBX_ASSIGN_OR_RETURN(SqliteStatement st,
                       PrepareLocked("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  SBX_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : 0;
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

Status SqliteStore::Ping() {
  std::lock_guard lock(mu_);
  return Exec("SELECT 1");
}

}  // namespace sbx::store
