#include "store/sqlite/sqlite_checkpointer.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include "base/log.h"
#include "store/sqlite/sqlite_statement.h"
#include "store/sqlite/sqlite_store.h"

namespace sbx::store {

Result<std::unique_ptr<SqliteCheckpointer>> SqliteCheckpointer::Start(sqlite3* db,
                                                                      const std::string& path) {
  sqlite3* own_db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &own_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    Status s = Unavailable(fmt::format("sqlite open {} for checkpoints: {}", path,
                                       own_db ? sqlite3_errmsg(own_db) : "no memory"));
    sqlite3_close(own_db);
    return s;
  }
  std::unique_ptr<SqliteCheckpointer> checkpointer(new SqliteCheckpointer(db, own_db));
  sqlite3_busy_timeout(own_db, 5000);
  // The committing connection no longer checkpoints by itself; its WAL hook
  // wakes the checkpointer instead, once a commit leaves kCheckpointPages.
  // The WAL starts over only when a checkpoint has caught up with it before
  // the next write; under writes without a pause that never happens, so at
  // kWalLimitPages the writer checkpoints (RESTART) itself, once, keeping
  // the file bounded. Calling a checkpoint from this hook is what SQLite's
  // own auto-checkpoint does.
  if (sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db, "wal_autocheckpoint");
  }
  sqlite3_wal_hook(
      db,
      [](void* self, sqlite3* hooked, const char*, int pages) {
        if (pages >= SqliteStore::kWalLimitPages) {
          if (sqlite3_wal_checkpoint_v2(hooked, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr,
                                        nullptr) != SQLITE_OK) {
            SBX_LOG_WARN("sqlite checkpoint at the WAL limit: {}", sqlite3_errmsg(hooked));
          }
        } else if (pages >= SqliteStore::kCheckpointPages) {
          static_cast<SqliteCheckpointer*>(self)->Request();
        }
        return SQLITE_OK;
      },
      checkpointer.get());
  checkpointer->thread_ = std::thread([c = checkpointer.get()] { c->Run(); });
  return checkpointer;
}

SqliteCheckpointer::~SqliteCheckpointer() {
  sqlite3_wal_hook(db_, nullptr, nullptr);
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    due_cv_.notify_one();
    thread_.join();
  }
  sqlite3_close(own_db_);
}

void SqliteCheckpointer::Request() {
  {
    std::lock_guard lock(mu_);
    due_ = true;
  }
  due_cv_.notify_one();
}

void SqliteCheckpointer::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      due_cv_.wait(lock, [this] { return due_ || stopping_; });
      if (stopping_) return;
      due_ = false;
    }
    // PASSIVE: copies what it can without blocking the writer; the writer
    // starts the WAL over once a checkpoint has caught up.
    const int rc =
        sqlite3_wal_checkpoint_v2(own_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      SBX_LOG_WARN("sqlite checkpoint: {}", sqlite3_errmsg(own_db_));
    }
    {
      std::lock_guard lock(mu_);
      ++checkpoints_;
    }
    done_cv_.notify_all();
  }
}

bool SqliteCheckpointer::WaitForCheckpoints(int64_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return done_cv_.wait_for(lock, timeout, [&] { return checkpoints_ >= n; });
}

}  // namespace sbx::store
