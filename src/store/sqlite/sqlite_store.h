// SqliteStore: the Store on one SQLite file (WAL mode), for single-node
// installs and tests (":memory:"). One connection guarded by a mutex: SQLite
// serializes writers anyway, and every call is short. A Batch holds the mutex
// until it commits (the mutex is recursive so the batch's own calls get in).
// WAL checkpoints (which sync the database file) run on a thread of their own
// with a second connection, so that no commit waits for one.
// Thread-safe; blocks.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/codec.h"
#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sbx::store {

class SqliteCheckpointer;
class SqliteStatement;

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database at `path` and applies pending
  // migrations. ":memory:" gives a private in-memory database.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  // Store
  Result<std::vector<core::Sandbox>> LoadSandboxes() override;
  Result<core::Sandbox> GetSandbox(const std::string& project_id) override;
  Result<std::vector<core::Sandbox>> ListSandboxes(const ListOptions& options) override;
  Result<std::vector<core::Sandbox>> ListIdleDue(SystemTime now, int limit) override;
  Status CommitTransition(const core::Sandbox& next, int64_t expected_version,
                          const std::string& event_id,
                          const std::optional<HistoryRow>& history) override;
  Status RecordEvent(const std::string& event_id, const HistoryRow& history) override;
  Status AppendHistory(const HistoryRow& history) override;
  Status Batch(const std::function<Status()>& body) override;
  Result<bool> IsEventProcessed(const std::string& event_id) override;
  Result<std::vector<HistoryRow>> ListHistory(const std::string& project_id, int limit) override;
  Result<int64_t> RecordJobRun(const JobRun& run) override;
  Result<std::vector<JobRun>> ListJobRuns(const std::string& job, int limit) override;
  Status Ping() override;

  // Applied schema version (tests).
  Result<int64_t> SchemaVersion();
  // Waits up to `timeout` until the background checkpointer has run at least
  // `n` checkpoints; returns whether it has (tests).
  bool WaitForCheckpoints(int64_t n, std::chrono::milliseconds timeout);

  // WAL pages after a commit that wake the checkpointer (SQLite's own
  // wal_autocheckpoint default).
  static constexpr int kCheckpointPages = 1000;
  // WAL pages at which the writer checkpoints itself (see
  // SqliteCheckpointer::Start).
  static constexpr int kWalLimitPages = 16 * kCheckpointPages;

 private:
  explicit SqliteStore(sqlite3* db);
  Status Exec(const std::string& sql);
  Status Migrate();
  // The cached statement for `sql`, prepared on first use. Caller holds mu_
  // while the statement lives.
  Result<SqliteStatement> PrepareLocked(const std::string& sql);
  // Runs `body` all-or-nothing: its own transaction, or a savepoint when a
  // batch's transaction is open. Caller holds mu_.
  Status AtomicallyLocked(const std::function<Status()>& body);
  Status MarkProcessedLocked(const std::string& event_id, SystemTime now);
  Status InsertHistoryLocked(const HistoryRow& row);
  // Runs `sql` (a SELECT of schema::ReadList(kSandboxes)) with `params`.
  Result<std::vector<core::Sandbox>> QuerySandboxesLocked(const std::string& sql,
                                                          const std::vector<SqlValue>& params);

  std::recursive_mutex mu_;
  sqlite3* db_;
  // Prepared statements by SQL text, finalized with the connection.
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
  // Set for a database file (not ":memory:"); destroyed before db_ closes.
  std::unique_ptr<SqliteCheckpointer> checkpointer_;
};

}  // namespace sbx::store
