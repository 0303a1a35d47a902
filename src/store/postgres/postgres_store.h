// PostgresStore: the Store on PostgreSQL, shared by sandboxd replicas. It also
// offers what only a shared database can: leases with fencing tokens (one
// leader per job, LeaseStore) and NOTIFY, heard by a PostgresListener on every
// replica; OpenChangeFeed wraps one as the store-level ChangeFeed.
// Thread-safe. Every call blocks on one of a fixed pool of connections (more
// callers than connections wait their turn), for at most its deadlines (see
// PostgresOptions): run it on a BlockingPool.
// A broken connection is reset on its next use, so the store recovers by
// itself when the server comes back; while it is down calls return
// kUnavailable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/change_feed.h"
#include "store/leases.h"
#include "store/store.h"

namespace sbx::store {

class PgConnection;
class PgPool;
class PostgresListener;

struct PostgresOptions {
  int pool_size = 4;  // connections, all opened by Open
  // Per connection attempt; overrides connect_timeout in the URL. libpq
  // waits at least 2 s.
  std::chrono::seconds connect_timeout{5};
  // Deadlines of every call. The server ends a statement that runs longer
  // than statement_timeout, or waits longer than lock_timeout for a lock
  // (kUnavailable), and a session idle inside a transaction for twice
  // statement_timeout. A server that hangs ends nothing, so the store waits
  // statement_timeout + 1 s for an answer, then closes the connection
  // (kUnavailable); until the server answers again every call fails at once,
  // but one each retry_interval that tries. A call waits at most
  // borrow_timeout for a free connection ("store busy"). A statement_timeout
  // of 0 turns the statement, idle and answer deadlines off.
  std::chrono::milliseconds statement_timeout{5000};
  std::chrono::milliseconds lock_timeout{2000};
  std::chrono::milliseconds borrow_timeout{5000};
  std::chrono::milliseconds retry_interval{1000};
  // When set, every committed sandbox change also sends a NOTIFY on
  // <channel> inside its transaction (ChangePayload: the version, the project
  // id and, when it fits, the record), so other replicas learn of it exactly
  // when (and only if) it commits.
  std::string change_channel;
};

class PostgresStore final : public Store, public LeaseStore {
 public:
  // Connects to `url` ("postgres://user:pass@host:port/db?…", or a libpq
  // key=value conninfo), opens the pool and applies pending migrations.
  // kUnavailable when the server cannot be reached; kFailedPrecondition when
  // the database's schema is newer than this binary; kInvalidArgument for a
  // pool size below 1.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url,
                                                     PostgresOptions options = {});
  // Brings the database at `url` to schema `version`, applying migrations or
  // undoing them (newest first), and returns the version it started from.
  // Undoing a migration drops what it added (the sessions table: everyone
  // signs in again). For rolling back to an older sandboxd, which refuses a
  // newer schema: stop every replica first. kInvalidArgument for a version
  // outside 1..LatestSchemaVersion(); kFailedPrecondition when the database
  // is at a version this binary does not know; kUnavailable as for Open.
  static Result<int64_t> MigrateTo(const std::string& url, int64_t version,
                                   PostgresOptions options = {});
  // The schema version this binary's migrations lead to.
  static int64_t LatestSchemaVersion();
  ~PostgresStore() override;

  // Store. Besides the contract's codes, every call returns kUnavailable when
  // the server cannot be reached, hangs or misses a deadline (see
  // PostgresOptions); kInvalidArgument for text the database cannot hold (a
  // NUL byte, invalid UTF-8). If the connection drops or the answer is late
  // during COMMIT the write may or may not have happened: repeat it with the
  // same event id to find out (kAlreadyExists).
  Result<std::vector<core::Sandbox>> LoadSandboxes() override;
  Result<core::Sandbox> GetSandbox(const std::string& project_id) override;
  Result<std::vector<core::Sandbox>> GetSandboxes(
      std::span<const std::string> project_ids) override;
  Result<std::vector<core::Sandbox>> ListSandboxes(const ListOptions& options) override;
  Result<std::vector<core::Sandbox>> ListIdleDue(SystemTime now, int limit) override;
  Status CommitTransition(const core::Sandbox& next, int64_t expected_version,
                          const std::string& event_id,
                          const std::optional<HistoryRow>& history) override;
  Status CommitTransitions(std::span<const TransitionWrite> writes) override;
  Status RecordEvent(const std::string& event_id, const HistoryRow& history) override;
  Status AppendHistory(const HistoryRow& history) override;
  // The batch holds one connection until it commits; other threads' calls
  // use the other connections meanwhile.
  Status Batch(const std::function<Status()>& body) override;
  Result<bool> IsEventProcessed(const std::string& event_id) override;
  Result<std::unordered_set<std::string>> ProcessedAmong(
      std::span<const std::string> ids) override;
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

  // LeaseStore
  Result<Lease> TryAcquireLease(const std::string& name, const std::string& holder,
                                std::chrono::milliseconds ttl, SystemTime now) override;
  Status ReleaseLease(const std::string& name, const std::string& holder) override;

  // Sends `payload` to every PostgresListener on `channel` (any replica).
  // Delivery is best effort: a listener that was disconnected misses it and
  // says so (Notifications::reconnected). kInvalidArgument for a payload of
  // 8000 bytes or more.
  Status Notify(const std::string& channel, const std::string& payload);
  // Opens a PostgresListener on `channel` with this store's URL and options.
  Result<std::unique_ptr<PostgresListener>> Listen(const std::string& channel);
  // The feed of committed sandbox changes on the options' change_channel
  // (a listener that parses what each commit notifies).
  // kFailedPrecondition when the store was opened without a change_channel.
  Result<std::unique_ptr<ChangeFeed>> OpenChangeFeed();

  // Applied schema version (tests, diagnostics).
  Result<int64_t> SchemaVersion();

 private:
  PostgresStore(std::string url, PostgresOptions options, std::unique_ptr<PgPool> pool);
  Result<std::vector<core::Sandbox>> QuerySandboxes(
      const std::string& sql, const std::vector<std::optional<std::string>>& params);
  // Runs one prune statement (sql.h) with `before` and `limit`; returns the
  // rows it deleted.
  Result<int64_t> Prune(const std::string& sql, SystemTime before, int limit);

  std::string url_;
  PostgresOptions options_;
  std::unique_ptr<PgPool> pool_;
};

// What one PostgresListener::Poll heard.
struct Notifications {
  std::vector<std::string> payloads;  // in the order they were sent
  // The connection was lost and LISTEN re-established during this Poll:
  // anything sent in between was missed. Reload state from the store.
  bool reconnected = false;
};

// Hears NOTIFY on one channel over a dedicated connection. Not thread-safe:
// one thread polls. Poll blocks up to its timeout (plus one connect timeout
// while reconnecting).
class PostgresListener {
 public:
  // Connects and LISTENs on `channel` (case-sensitive, any text).
  // kUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<PostgresListener>> Open(const std::string& url,
                                                        const std::string& channel,
                                                        PostgresOptions options = {});
  ~PostgresListener();

  // Waits up to `timeout` for notifications and returns as soon as there are
  // some (possibly none, at the timeout). When the connection is lost it
  // reconnects, retrying until the timeout, and returns with reconnected =
  // true once listening again; kUnavailable if the server is still
  // unreachable at the timeout (the next Poll keeps trying).
  Result<Notifications> Poll(std::chrono::milliseconds timeout);

 private:
  PostgresListener(std::unique_ptr<PgConnection> conn, std::string listen_sql);
  Status Relisten();

  std::unique_ptr<PgConnection> conn_;
  std::string listen_sql_;  // LISTEN "<channel>"
  bool listening_ = false;  // LISTEN ran on the current connection
};

}  // namespace sbx::store
