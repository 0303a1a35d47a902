// Private to store/postgres: one libpq connection with its prepared
// statements and deadlines, owned query results, and the pool PostgresStore
// borrows from. A PgConnection serves one thread at a time; PgPool is
// thread-safe. Every call blocks on the network, for at most its deadline.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "store/codec.h"

namespace sbx::store {

// A statement parameter in libpq text format; nullopt is SQL NULL.
using PgParam = std::optional<std::string>;
PgParam Param(std::string v);
PgParam Param(int64_t v);
PgParam Param(const std::optional<std::string>& v);
PgParam Param(std::optional<int64_t> v);
PgParam Param(const SqlValue& v);
// Param of each value, in order.
std::vector<PgParam> Params(const std::vector<SqlValue>& values);

// Owns a PGresult (PQclear on destruction).
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  int rows() const { return PQntuples(r_.get()); }
  // Rows inserted, updated or deleted by the statement.
  int64_t affected() const;
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const;
  const PGresult* raw() const { return r_.get(); }

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> r_;
};

// Reads the columns of one result row. Keeps the first decoding error (a
// column that is not what the schema promises) so a caller reads a whole row
// and checks status() once.
class PgRow final : public RowReader {
 public:
  PgRow(const PgResult& result, int row) : result_(result), row_(row) {}

  // RowReader
  bool IsNull(int col) const override { return result_.IsNull(row_, col); }
  std::string Text(int col) const override { return result_.Text(row_, col); }
  int64_t Int(int col) override;
  Status status() const override { return status_; }

 private:
  const PgResult& result_;
  int row_;
  Status status_;
};

// Decodes every row of `result` with `decode` (a codec.h Decode*).
template <typename T>
Result<std::vector<T>> DecodeRows(const PgResult& result, Result<T> (*decode)(RowReader&)) {
  std::vector<T> out;
  out.reserve(static_cast<size_t>(result.rows()));
  for (int i = 0; i < result.rows(); ++i) {
    PgRow row(result, i);
    SBX_ASSIGN_OR_RETURN(T value, decode(row));
    out.push_back(std::move(value));
  }
  return out;
}

// How to reach the server, and how long to wait for it.
struct PgConnectOptions {
  std::string url;  // libpq URI ("postgres://user:pass@host:port/db?…") or key=value conninfo
  std::chrono::seconds connect_timeout{5};  // per attempt; libpq waits at least 2 s
  // Set on the server (SET …) for every session the connection opens; 0
  // leaves the server's setting alone. A statement past statement_timeout, or
  // waiting longer than lock_timeout for a lock, fails (kUnavailable); a
  // session idle inside a transaction longer than idle_in_transaction_timeout
  // is ended by the server.
  std::chrono::milliseconds statement_timeout{0};
  std::chrono::milliseconds lock_timeout{0};
  std::chrono::milliseconds idle_in_transaction_timeout{0};
  // How long to wait for the server's answer to one request before giving
  // the connection up (a server that hangs answers nothing, so its own
  // timeouts cannot fire); 0 waits as long as it takes.
  std::chrono::milliseconds response_timeout{0};
};

// Maps a failed libpq call to a Status: connection loss, server shutdown and
// the server's own timeouts (statement, lock) are kUnavailable, bad data
// kInvalidArgument, the rest kInternal.
Status PgError(PGconn* conn, const PGresult* result, std::string_view what);

// One connection. Requests are sent without blocking and their answers
// awaited for at most options.response_timeout: a request that gets no
// answer in time closes the connection (unresponsive() is then true) and
// returns kUnavailable; the next EnsureUsable opens a new one.
class PgConnection {
 public:
  // Connects; kUnavailable when the server cannot be reached or refuses us.
  static Result<std::unique_ptr<PgConnection>> Connect(const PgConnectOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Makes the connection fit for a new call: notices a connection that the
  // server closed while it sat idle (restart, idle timeout), and replaces a
  // closed or broken one or one left inside a transaction, which forgets the
  // prepared statements. Returns true when it had to reconnect; kUnavailable
  // when the server cannot be reached (the connection stays closed; try again
  // later).
  Result<bool> EnsureUsable();
  // Runs `sql` (one or more statements, no parameters) with the simple
  // query protocol. With several statements, the first error or else the
  // last result.
  Result<PgResult> Exec(const std::string& sql);
  // Runs `sql` as a prepared statement, preparing it on first use on this
  // connection. kInvalidArgument for a parameter containing a NUL byte
  // (PostgreSQL text cannot hold one).
  Result<PgResult> Run(const std::string& sql, const std::vector<PgParam>& params);
  // Runs `sql` as an unnamed statement, which PostgreSQL plans for these
  // values each time (under its default plan_cache_mode). For lookups by a
  // list of keys: after a few runs of a prepared statement, PostgreSQL may
  // keep one generic plan for a list of unknown length, and one made while
  // the table was small is a full scan, used on as the table grows until the
  // table is next analyzed. Planning such a lookup costs tens of µs.
  Result<PgResult> RunPlannedEachTime(const std::string& sql, const std::vector<PgParam>& params);
  // Runs every statement of `statements`, in order, as Run would, but sends
  // them all before reading any answer (libpq pipeline mode): one round trip
  // for all of them instead of one each. Returns their results in order. If
  // one fails, the server skips the rest and the first error is returned;
  // inside a transaction, that transaction is then aborted.
  struct Statement {
    const std::string& sql;
    std::vector<PgParam> params;
  };
  Result<std::vector<PgResult>> RunPipelined(std::span<const Statement> statements);
  // Opens a transaction with the next request instead of in a round trip of
  // its own: BEGIN is sent in the same pipeline as the next statement. Until
  // then nothing is open on the server, and a transaction that sends nothing
  // needs neither BEGIN nor COMMIT (TakePendingBegin).
  void BeginWithNextRequest() { begin_pending_ = true; }
  // Forgets a BEGIN that BeginWithNextRequest deferred and no request has
  // sent yet; true if there was one.
  bool TakePendingBegin() { return std::exchange(begin_pending_, false); }
  // True inside a transaction: one open on the server, or one whose BEGIN
  // waits for the next request.
  bool in_transaction() const;
  // Requests this connection has sent and awaited an answer to, each one
  // round trip to the server (a pipeline counts once).
  int64_t round_trips() const { return round_trips_; }
  // The libpq connection; nullptr while closed (after a request got no
  // answer, until EnsureUsable reconnects). libpq's functions accept nullptr.
  PGconn* raw() { return conn_; }
  // True when the last request or connection attempt got no answer in time;
  // false once one is answered.
  bool unresponsive() const { return unresponsive_; }

 private:
  PgConnection(PGconn* conn, PgConnectOptions options);
  // Connects; sets *timed_out when the server accepted the connection but
  // never answered within connect_timeout.
  static Result<PGconn*> Open(const PgConnectOptions& options, bool* timed_out);
  // Replaces the session with a new one: connect, then the options' SET
  // statements. kUnavailable when that fails (the connection stays closed).
  Status Reopen();
  // One request of a pipeline: a prepared statement by name, or SQL text
  // sent as an unnamed statement.
  struct Outgoing {
    std::string name_or_sql;
    bool prepared;
    std::vector<const char*> values;
  };
  // Sends one request without waiting for its answer; false when libpq
  // refuses it.
  bool Send(const Outgoing& request);
  // Sends one request and awaits its answer (behind a deferred BEGIN, in one
  // pipeline, if there is one).
  Result<PgResult> RunOne(Outgoing request);
  // Sends `requests` in one pipeline (behind a deferred BEGIN, if any) and
  // returns their results in order; see RunPipelined.
  Result<std::vector<PgResult>> Pipeline(std::vector<Outgoing> requests);
  // Waits for the answer to the request just sent, until the response
  // deadline.
  Result<PgResult> Await(std::string_view what);
  // Sends what libpq holds in its buffer, reading answers meanwhile so the
  // server never blocks on us.
  Status Flush(std::chrono::steady_clock::time_point deadline, std::string_view what);
  // The next result of the requests sent (nullptr ends one request's
  // results), waiting for it until `deadline`.
  Result<PGresult*> NextResult(std::chrono::steady_clock::time_point deadline,
                               std::string_view what);
  // The statement's prepared name, preparing it on first use.
  Result<std::string> Prepared(const std::string& sql, int params);
  // kInvalidArgument if a parameter holds a NUL byte; else their C strings.
  static Result<std::vector<const char*>> Values(const std::vector<PgParam>& params);
  // Waits until the socket is ready for `events` or the deadline passes
  // (then closes the connection: kUnavailable).
  Status WaitSocket(short events, std::chrono::steady_clock::time_point deadline,
                    std::string_view what);
  void Close();

  PGconn* conn_;
  PgConnectOptions options_;
  bool unresponsive_ = false;
  bool begin_pending_ = false;  // BeginWithNextRequest, not sent yet
  int64_t round_trips_ = 0;
  // Statement name by SQL text; valid until the next reconnect.
  std::unordered_map<std::string, std::string> prepared_;
};

// Runs `body` between BEGIN and COMMIT on `conn`. When `body` or COMMIT
// fails, rolls back and returns that error: nothing is written. On a
// connection already inside a transaction it uses a savepoint instead, which
// undoes only `body`'s writes on failure. BEGIN rides with body's first
// statement (BeginWithNextRequest); a body that sends none costs no round
// trip at all.
Status InTransaction(PgConnection& conn, const std::function<Status()>& body);

struct PgPoolOptions {
  int size = 4;  // connections, all opened by Create
  // How long Borrow waits for a free connection before it answers
  // kUnavailable ("store busy").
  std::chrono::milliseconds borrow_timeout{5000};
  // Once a connection got no answer in time (the server hangs), Borrow fails
  // at once (kUnavailable) but for one call this often, which tries again;
  // the first answer ends it.
  std::chrono::milliseconds retry_interval{1000};
};

// A fixed set of connections opened up front. Borrow() waits (up to
// borrow_timeout) for a free one; the handle gives it back when destroyed. A
// thread may pin one connection (Pinned), which its Borrow calls then return:
// its statements share one transaction.
class PgPool {
 public:
  class Handle {
   public:
    Handle(PgPool* pool, PgConnection* conn, bool probe = false)
        : pool_(pool), conn_(conn), probe_(probe) {}
    Handle(Handle&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          conn_(std::exchange(other.conn_, nullptr)),
          probe_(other.probe_) {}
    Handle& operator=(Handle&&) = delete;
    ~Handle();
    PgConnection& operator*() { return *conn_; }
    PgConnection* operator->() { return conn_; }

   private:
    PgPool* pool_;
    PgConnection* conn_;
    bool probe_;  // the one call let through while the server hangs
  };

  // Opens `options.size` connections; kUnavailable if any cannot be opened.
  static Result<std::unique_ptr<PgPool>> Create(const PgConnectOptions& connect,
                                                PgPoolOptions options);
  // Waits for a free connection and makes it usable (see EnsureUsable).
  // kUnavailable when none is free within borrow_timeout, when the server
  // hangs (see PgPoolOptions::retry_interval) or cannot be reached; the
  // connection goes back to the pool and is reset again by a later Borrow.
  // Inside Pinned on this pool, returns the pinned connection as it is, and
  // the handle does not give it back (Pinned does).
  Result<Handle> Borrow();
  // Borrows a connection, pins it to this thread while `body` runs on it, and
  // returns what `body` returns. Inside Pinned on this pool already, runs
  // `body` on the same connection.
  Status Pinned(const std::function<Status(PgConnection&)>& body);

 private:
  explicit PgPool(PgPoolOptions options) : options_(options) {}
  void Return(PgConnection* conn, bool probe);

  PgPoolOptions options_;
  std::mutex mu_;
  std::condition_variable free_cv_;
  std::vector<std::unique_ptr<PgConnection>> all_;
  std::vector<PgConnection*> free_;  // guarded by mu_
  // The server hangs: a connection got no answer in time and none has been
  // answered since. Guarded by mu_, as are the next two.
  bool hung_ = false;
  std::chrono::steady_clock::time_point retry_at_{};  // when the next call may try
  bool probing_ = false;                               // a call is trying now
};

}  // namespace sbx::store
