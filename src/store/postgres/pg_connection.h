// Private to store/postgres: one libpq connection with its prepared
// statements, owned query results, and the pool PostgresStore borrows from.
// A PgConnection serves one thread at a time; PgPool is thread-safe. Every
// call blocks on the network.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

// How to reach the server.
struct PgConnectOptions {
  std::string url;  // libpq URI ("postgres://user:pass@host:port/db?…") or key=value conninfo
  std::chrono::seconds connect_timeout{5};
};

// Maps a failed libpq call to a Status: connection loss and server shutdown
// are kUnavailable, bad data kInvalidArgument, the rest kInternal.
Status PgError(PGconn* conn, const PGresult* result, std::string_view what);

class PgConnection {
 public:
  // Connects; kUnavailable when the server cannot be reached or refuses us.
  static Result<std::unique_ptr<PgConnection>> Connect(const PgConnectOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Makes the connection fit for a new call: notices a connection that the
  // server closed while it sat idle (restart, idle timeout), and resets a
  // broken one or one left inside a transaction, which forgets the prepared
  // statements. Returns true when it had to reconnect; kUnavailable when the
  // server cannot be reached (the connection stays broken; try again later).
  Result<bool> EnsureUsable();
  // Runs `sql` (one or more statements, no parameters) with the simple
  // query protocol.
  Result<PgResult> Exec(const std::string& sql);
  // Runs `sql` as a prepared statement, preparing it on first use on this
  // connection. kInvalidArgument for a parameter containing a NUL byte
  // (PostgreSQL text cannot hold one).
  Result<PgResult> Run(const std::string& sql, const std::vector<PgParam>& params);
  PGconn* raw() { return conn_; }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  Result<PgResult> Check(PGresult* result, std::string_view what);

  PGconn* conn_;
  // Statement name by SQL text; valid until the next reset.
  std::unordered_map<std::string, std::string> prepared_;
};

// Runs `body` between BEGIN and COMMIT on `conn`. When `body` or COMMIT
// fails, rolls back and returns that error: nothing is written. On a
// connection already inside a transaction it uses a savepoint instead, which
// undoes only `body`'s writes on failure.
Status InTransaction(PgConnection& conn, const std::function<Status()>& body);

// A fixed set of connections opened up front. Borrow() waits for a free one;
// the handle gives it back when destroyed. A thread may pin one connection
// (Pinned), which its Borrow calls then return: its statements share one
// transaction.
class PgPool {
 public:
  class Handle {
   public:
    Handle(PgPool* pool, PgConnection* conn) : pool_(pool), conn_(conn) {}
    Handle(Handle&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(std::exchange(other.conn_, nullptr)) {}
    Handle& operator=(Handle&&) = delete;
    ~Handle();
    PgConnection& operator*() { return *conn_; }
    PgConnection* operator->() { return conn_; }

   private:
    PgPool* pool_;
    PgConnection* conn_;
  };

  // Opens `size` connections; kUnavailable if any cannot be opened.
  static Result<std::unique_ptr<PgPool>> Create(const PgConnectOptions& options, int size);
  // Waits for a free connection and makes it usable (see EnsureUsable).
  // kUnavailable when the server cannot be reached; the connection goes
  // back to the pool and is reset again by a later Borrow. Inside Pinned on
  // this pool, returns the pinned connection as it is, and the handle does
  // not give it back (Pinned does).
  Result<Handle> Borrow();
  // Borrows a connection, pins it to this thread while `body` runs on it, and
  // returns what `body` returns. Inside Pinned on this pool already, runs
  // `body` on the same connection.
  Status Pinned(const std::function<Status(PgConnection&)>& body);

 private:
  PgPool() = default;
  void Return(PgConnection* conn);

  std::mutex mu_;
  std::condition_variable free_cv_;
  std::vector<std::unique_ptr<PgConnection>> all_;
  std::vector<PgConnection*> free_;  // guarded by mu_
};

}  // namespace sbx::store
