// SqliteStore: the Store on one SQLite file (WAL mode), for single-node
// installs and tests (":memory:"). One connection guarded by a mutex: SQLite
// serializes writers anyway, and every call is short. A Batch holds the mutex
// until it commits (the mutex is recursive so the batch's own calls get in).
// Every call has a deadline (SqliteOptions::timeout): waiting for the mutex,
// for another process's lock and running its statements all count against it.
// WAL checkpoints (which sync the database file) run on a thread of their own
// with a second connection, so that no commit waits for one.
// Thread-safe; blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

struct SqliteOptions {
  // The longest one call may take, ms: waiting for this process's other calls
  // (a batch holds the database until it commits), waiting for another
  // process's lock (SQLite's busy wait), and its statements, which are
  // interrupted once it passes. Such a call returns kUnavailable and writes
  // nothing. Calls inside a Batch share the batch's deadline. Disk I/O
  // that hangs in the kernel is not bounded.
  std::chrono::milliseconds timeout{5000};
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database at `path` and applies pending
  // migrations. ":memory:" gives a private in-memory database.
  // kFailedPrecondition when the database's schema is newer than this binary.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   SqliteOptions options = {});
  // Brings the database at `path` (created if missing) to schema `version`,
  // applying migrations or undoing them (newest first), each in its own
  // transaction, and returns the version it started from. Undoing a
  // migration drops what it added (the sessions table: everyone signs in
  // again). For rolling back to an older sandboxd, which refuses a newer
  // schema; no sandboxd may be running on the file. kInvalidArgument for a
  // version outside 1..LatestSchemaVersion(); kFailedPrecondition when the
  // database is at a version this binary does not know.
  static Result<int64_t> MigrateTo(const std::string& path, int64_t version);
  // The schema version this binary's migrations lead to.
  static int64_t LatestSchemaVersion();
  ~SqliteStore() override;

  // Store. Besides the contract's codes, kUnavailable when the call ran past
  // its deadline or the disk is full or failing (the message says which).
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
  using Store::ListHistory;
  Result<std::vector<HistoryRow>> ListHistory(const std::string& project_id, int limit,
                                              int64_t before_seq) override;
  Result<int64_t> RecordJobRun(const JobRun& run) override;
  using Store::ListJobRuns;
  Result<std::vector<JobRun>> ListJobRuns(const std::string& job, int limit,
                                          int64_t before_id) override;
  Result<std::vector<HistoryCount>> CountHistory(SystemTime since, SystemTime until,
                                                 Millis width) override;
  Result<std::vector<HistoryRow>> ListTransitions(SystemTime since, int limit) override;
  Result<DeliverySummary> SummarizeDelivery() override;
  Result<std::map<std::string, std::string>> StatusesBefore(
      std::span<const std::string> projects, int64_t before_seq) override;
  Result<int64_t> ForgetSandbox(const std::string& project_id, int64_t expected_version,
                                const HistoryRow& forgotten, bool remove_history) override;
  Status CreateSession(const std::string& id_hash, SystemTime created_at,
                       SystemTime expires_at) override;
  Result<SessionRecord> GetSession(const std::string& id_hash) override;
  Status DeleteSession(const std::string& id_hash) override;
  Result<int64_t> PruneHistory(SystemTime recorded_before, int limit) override;
  Result<int64_t> PruneProcessedEvents(SystemTime processed_before, int limit) override;
  Result<int64_t> PruneJobRuns(SystemTime finished_before, int limit) override;
  Result<int64_t> PruneExpiredSessions(SystemTime now, int limit) override;
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
  using Deadline = std::chrono::steady_clock::time_point;

  // One call's hold on the connection: the mutex, and the deadline that the
  // outermost call arms and every call inside it (a batch's) shares.
  class Call {
   public:
    Call(SqliteStore* store, std::unique_lock<std::recursive_timed_mutex> lock)
        : store_(store), lock_(std::move(lock)) {}
    Call(Call&& other) noexcept;
    Call& operator=(Call&&) = delete;
    ~Call();

   private:
    SqliteStore* store_;
    std::unique_lock<std::recursive_timed_mutex> lock_;
  };

  SqliteStore(sqlite3* db, SqliteOptions options);
  // Opens the file and sets the connection up, without migrating.
  static Result<std::unique_ptr<SqliteStore>> OpenFile(const std::string& path,
                                                       SqliteOptions options);
  // Waits (until the deadline) for the connection. kUnavailable "store busy"
  // when another call holds it past the deadline.
  Result<Call> BeginCall();
  // SQLite's callbacks: interrupt statements past the deadline; wait for
  // another process's lock until the deadline.
  static int OnProgress(void* self);
  static int OnBusy(void* self, int count);
  Status Exec(const std::string& sql);
  // Migrates to `version` (up or down) with no deadline: an index on a big
  // table takes as long as it takes. Returns the version it found. Caller
  // holds mu_.
  Result<int64_t> MigrateLocked(int64_t version);
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
  // Runs one prune statement (sql.h) with `before` and `limit`; returns the
  // rows it deleted.
  Result<int64_t> Prune(const std::string& sql, SystemTime before, int limit);

  std::recursive_timed_mutex mu_;
  sqlite3* db_;
  SqliteOptions options_;
  int depth_ = 0;                    // nested calls holding mu_; guarded by mu_
  std::optional<Deadline> deadline_;  // the outermost call's; guarded by mu_
  bool rolling_back_ = false;  // a rollback is never interrupted; guarded by mu_
  int open_units_ = 0;  // AtomicallyLocked bodies running; guarded by mu_
  // Prepared statements by SQL text, finalized with the connection.
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
  // Set for a database file (not ":memory:"); destroyed before db_ closes.
  std::unique_ptr<SqliteCheckpointer> checkpointer_;
};

}  // namespace sbx::store
