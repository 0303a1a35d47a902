#include "store/postgres/pg_connection.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <charconv>

namespace sbx::store {
namespace {

// libpq messages end in a newline and may span lines: make them one line.
std::string OneLine(const char* text) {
  std::string s = text ? text : "";
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s.empty() ? "unknown error" : s;
}

bool Readable(int fd) {
  if (fd < 0) return false;
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, 0) > 0;
}

// NOTICEs ("relation already exists, skipping") are expected chatter; the
// default processor would print them to stderr.
void DiscardNotice(void*, const char*) {}

}  // namespace

PgParam Param(std::string v) { return PgParam(std::move(v)); }
PgParam Param(int64_t v) { return PgParam(std::to_string(v)); }
PgParam Param(const std::optional<std::string>& v) { return v; }
PgParam Param(std::optional<int64_t> v) {
  if (!v) return std::nullopt;
  return Param(*v);
}
PgParam Param(const SqlValue& v) {
  if (const auto* text = std::get_if<std::string>(&v)) return *text;
  if (const auto* n = std::get_if<int64_t>(&v)) return Param(*n);
  return std::nullopt;
}

std::vector<PgParam> Params(const std::vector<SqlValue>& values) {
  std::vector<PgParam> out;
  out.reserve(values.size());
  for (const SqlValue& v : values) out.push_back(Param(v));
  return out;
}

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(r_.get());
  int64_t out = 0;
  if (n && *n) std::from_chars(n, n + std::char_traits<char>::length(n), out);
  return out;
}

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(r_.get(), row, col),
                     static_cast<size_t>(PQgetlength(r_.get(), row, col)));
}

int64_t PgRow::Int(int col) {
  const std::string text = Text(col);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if ((ec != std::errc() || end != text.data() + text.size()) && status_.ok()) {
    status_ = Internal(fmt::format("postgres: column {} holds \"{}\", not an integer", col, text));
  }
  return out;
}

Status PgError(PGconn* conn, const PGresult* result, std::string_view what) {
  const char* detail = result ? PQresultErrorMessage(result) : nullptr;
  if (!detail || !*detail) detail = PQerrorMessage(conn);
  std::string msg = fmt::format("postgres {}: {}", what, OneLine(detail));
  if (PQstatus(conn) != CONNECTION_OK) return Unavailable(std::move(msg));
  const char* raw_state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view state = raw_state ? raw_state : "";
  const std::string_view cls = state.substr(0, std::min<size_t>(2, state.size()));
  // 08: connection exception; 57P01-03: the server is shutting down or
  // starting; 53: out of resources; 40: serialization failure or deadlock.
  // All of them go away when retried later.
  if (cls == "08" || cls == "53" || cls == "40" || state == "57P01" || state == "57P02" ||
      state == "57P03") {
    return Unavailable(std::move(msg));
  }
  if (state == "57014") return DeadlineExceeded(std::move(msg));
  if (state == "23505") return AlreadyExists(std::move(msg));
  if (cls == "22" || cls == "23") return InvalidArgument(std::move(msg));
  return Internal(std::move(msg));
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const PgConnectOptions& options) {
  const std::string timeout = std::to_string(std::max<int64_t>(options.connect_timeout.count(), 1));
  // With expand_dbname, the URL's settings override the keywords before it
  // and are overridden by those after it: the URL may change the defaults
  // but not the encoding or the timeout from PostgresOptions.
  const char* keys[] = {"application_name",    "keepalives",       "keepalives_idle",
                        "keepalives_interval", "keepalives_count", "dbname",
                        "client_encoding",     "connect_timeout",  nullptr};
  const char* values[] = {"sandboxd",      "1",    "30", "10", "3", options.url.c_str(), "UTF8",
                          timeout.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!conn) return Unavailable("postgres connect: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    Status s = Unavailable(fmt::format("postgres connect: {}", OneLine(PQerrorMessage(conn))));
    PQfinish(conn);
    return s;
  }
  PQsetNoticeProcessor(conn, DiscardNotice, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Result<bool> PgConnection::EnsureUsable() {
  // A server that shut down sent a FATAL message and closed the socket while
  // the connection was idle. Reading that now marks the connection bad, so
  // it is reset here instead of failing the caller's first statement.
  for (int i = 0; i < 4 && PQstatus(conn_) == CONNECTION_OK && Readable(PQsocket(conn_)); ++i) {
    if (!PQconsumeInput(conn_)) break;
  }
  if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE) {
    return false;
  }
  prepared_.clear();
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable(fmt::format("postgres reconnect: {}", OneLine(PQerrorMessage(conn_))));
  }
  return true;
}

Result<PgResult> PgConnection::Check(PGresult* raw, std::string_view what) {
  PgResult result(raw);
  if (!raw) return PgError(conn_, nullptr, what);
  const ExecStatusType st = PQresultStatus(raw);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return result;
  return PgError(conn_, raw, what);
}

Result<PgResult> PgConnection::Exec(const std::string& sql) {
  return Check(PQexec(conn_, sql.c_str()), "exec");
}

Result<PgResult> PgConnection::Run(const std::string& sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    if (p && p->find('\0') != std::string::npos) {
      return InvalidArgument("postgres: a text value contains a NUL byte");
    }
    values.push_back(p ? p->c_str() : nullptr);
  }
  const int n = static_cast<int>(params.size());
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = fmt::format("sbx_{}", prepared_.size() + 1);
    auto prepared = Check(PQprepare(conn_, name.c_str(), sql.c_str(), n, nullptr), "prepare");
    if (!prepared) return prepared.error();
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  return Check(PQexecPrepared(conn_, it->second.c_str(), n, values.data(), nullptr, nullptr, 0),
               "query");
}

Status InTransaction(PgConnection& conn, const std::function<Status()>& body) {
  // Inside an open transaction (a batch) a savepoint makes `body`
  // all-or-nothing without ending the transaction.
  const bool nested = PQtransactionStatus(conn.raw()) == PQTRANS_INTRANS;
  SBX_RETURN_IF_ERROR(conn.Exec(nested ? "SAVEPOINT unit" : "BEGIN").status());
  Status s = body();
  if (s.ok() && PQtransactionStatus(conn.raw()) == PQTRANS_INERROR) {
    // A statement failed and nobody passed the error on: COMMIT would now
    // roll back and still answer without an error.
    s = Internal("a statement of the transaction failed");
  }
  if (s.ok()) {
    s = conn.Exec(nested ? "RELEASE SAVEPOINT unit" : "COMMIT").status();
    if (s.ok()) return s;
  }
  // After a failed COMMIT the server has already ended the transaction (the
  // ROLLBACK only draws a discarded warning); a connection that broke is
  // reset on its next borrow.
  (void)conn.Exec(nested ? "ROLLBACK TO SAVEPOINT unit; RELEASE SAVEPOINT unit" : "ROLLBACK");
  return s;
}

PgPool::Handle::~Handle() {
  if (pool_) pool_->Return(conn_);
}

Result<std::unique_ptr<PgPool>> PgPool::Create(const PgConnectOptions& options, int size) {
  std::unique_ptr<PgPool> pool(new PgPool());
  for (int i = 0; i < size; ++i) {
    SBX_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(options));
    pool->free_.push_back(conn.get());
    pool->all_.push_back(std::move(conn));
  }
  return pool;
}

namespace {

// The connection this thread pinned, and its pool.
struct Pin {
  const PgPool* pool = nullptr;
  PgConnection* conn = nullptr;
};
thread_local Pin tl_pin;

}  // namespace

Result<PgPool::Handle> PgPool::Borrow() {
  if (tl_pin.pool == this) return Handle(nullptr, tl_pin.conn);
  PgConnection* conn = nullptr;
  {
    std::unique_lock lock(mu_);
    free_cv_.wait(lock, [&] { return !free_.empty(); });
    conn = free_.back();
    free_.pop_back();
  }
  Handle handle(this, conn);
  auto usable = conn->EnsureUsable();
  if (!usable) return usable.error();
  return Result<Handle>(std::move(handle));
}

Status PgPool::Pinned(const std::function<Status(PgConnection&)>& body) {
  if (tl_pin.pool == this) return body(*tl_pin.conn);
  SBX_ASSIGN_OR_RETURN(Handle conn, Borrow());
  struct Restore {
    Pin saved;
    ~Restore() { tl_pin = saved; }
  } restore{tl_pin};
  tl_pin = {this, &*conn};
  return body(*conn);
}

void PgPool::Return(PgConnection* conn) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(conn);
  }
  free_cv_.notify_one();
}

}  // namespace sbx::store
