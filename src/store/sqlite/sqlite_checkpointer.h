// Private to store/sqlite: WAL checkpoints for SqliteStore on a thread of
// their own with a second connection, so that no commit waits for one (a
// checkpoint syncs the database file, which takes milliseconds). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"

struct sqlite3;

namespace sbx::store {

class SqliteCheckpointer {
 public:
  // Opens a second connection to the database at `path` and takes over the
  // checkpoints of `db`, the store's connection to it: `db` no longer
  // checkpoints by itself, and a commit that leaves
  // SqliteStore::kCheckpointPages in the WAL wakes this thread.
  // kUnavailable when the file cannot be opened.
  static Result<std::unique_ptr<SqliteCheckpointer>> Start(sqlite3* db, const std::string& path);
  // Unhooks `db`, stops the thread and closes the second connection. `db`
  // must still be open.
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  // Waits up to `timeout` until at least `n` checkpoints have run; returns
  // whether they have (tests).
  bool WaitForCheckpoints(int64_t n, std::chrono::milliseconds timeout);

 private:
  SqliteCheckpointer(sqlite3* db, sqlite3* own_db) : db_(db), own_db_(own_db) {}
  void Request();
  void Run();

  sqlite3* db_;      // the store's connection, whose commits wake us
  sqlite3* own_db_;  // the connection that checkpoints
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable due_cv_;
  std::condition_variable done_cv_;
  bool due_ = false;         // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
  int64_t checkpoints_ = 0;  // guarded by mu_
};

}  // namespace sbx::store
