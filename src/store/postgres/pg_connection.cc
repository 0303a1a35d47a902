#include "store/postgres/pg_connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "base/time.h"

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
  if (!detail || !*detail) detail = conn ? PQerrorMessage(conn) : "not connected";
  std::string msg = fmt::format("postgres {}: {}", what, OneLine(detail));
  if (PQstatus(conn) != CONNECTION_OK) return Unavailable(std::move(msg));
  const char* raw_state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view state = raw_state ? raw_state : "";
  const std::string_view cls = state.substr(0, std::min<size_t>(2, state.size()));
  // 08: connection exception; 57P01-03: the server is shutting down or
  // starting; 53: out of resources; 40: serialization failure or deadlock;
  // 57014: statement_timeout; 55P03: lock_timeout. All of them go away when
  // retried later.
  if (cls == "08" || cls == "53" || cls == "40" || state == "57P01" || state == "57P02" ||
      state == "57P03" || state == "57014" || state == "55P03") {
    return Unavailable(std::move(msg));
  }
  if (state == "23505") return AlreadyExists(std::move(msg));
  if (cls == "22" || cls == "23") return InvalidArgument(std::move(msg));
  return Internal(std::move(msg));
}

Result<PGconn*> PgConnection::Open(const PgConnectOptions& options, bool* timed_out) {
  *timed_out = false;
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
    const std::string message = OneLine(PQerrorMessage(conn));
    // A server that accepts the connection but never answers (stopped,
    // overloaded) is what connect_timeout ends.
    *timed_out = message.find("timeout expired") != std::string::npos;
    PQfinish(conn);
    return Unavailable(fmt::format("postgres connect: {}", message));
  }
  PQsetNoticeProcessor(conn, DiscardNotice, nullptr);
  // Requests are sent without blocking and their answers awaited with a
  // deadline (Await).
  if (PQsetnonblocking(conn, 1) != 0) {
    Status s = PgError(conn, nullptr, "set non-blocking");
    PQfinish(conn);
    return s;
  }
  return conn;
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const PgConnectOptions& options) {
  std::unique_ptr<PgConnection> conn(new PgConnection(nullptr, options));
  SBX_RETURN_IF_ERROR(conn->Reopen());
  return conn;
}

PgConnection::PgConnection(PGconn* conn, PgConnectOptions options)
    : conn_(conn), options_(std::move(options)) {}

PgConnection::~PgConnection() { Close(); }

void PgConnection::Close() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
  begin_pending_ = false;  // the session, and any transaction, is gone
}

bool PgConnection::in_transaction() const {
  if (begin_pending_) return true;
  const PGTransactionStatusType st = PQtransactionStatus(conn_);
  return st == PQTRANS_INTRANS || st == PQTRANS_INERROR;
}

Status PgConnection::Reopen() {
  Close();
  bool timed_out = false;
  auto opened = Open(options_, &timed_out);
  unresponsive_ = timed_out;
  if (!opened) return opened.error();
  conn_ = *opened;
  std::string settings;
  auto set = [&](const char* name, std::chrono::milliseconds v) {
    if (v.count() > 0) settings += fmt::format("SET {} = {}; ", name, v.count());
  };
  set("statement_timeout", options_.statement_timeout);
  set("lock_timeout", options_.lock_timeout);
  set("idle_in_transaction_session_timeout", options_.idle_in_transaction_timeout);
  if (settings.empty()) return OkStatus();
  Status applied = Exec(settings).status();
  if (!applied.ok()) Close();
  return applied.WithContext("session settings");
}

Result<bool> PgConnection::EnsureUsable() {
  // A server that shut down sent a FATAL message and closed the socket while
  // the connection was idle. Reading that now marks the connection bad, so
  // it is replaced here instead of failing the caller's first statement.
  for (int i = 0; i < 4 && PQstatus(conn_) == CONNECTION_OK && Readable(PQsocket(conn_)); ++i) {
    if (!PQconsumeInput(conn_)) break;
  }
  if (conn_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE &&
      !begin_pending_) {
    return false;
  }
  if (Status s = Reopen(); !s.ok()) {
    return Unavailable(fmt::format("postgres reconnect: {}", s.message()));
  }
  return true;
}

Status PgConnection::WaitSocket(short events, std::chrono::steady_clock::time_point deadline,
                                std::string_view what) {
  for (;;) {
    int wait_ms = -1;
    if (options_.response_timeout.count() > 0) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
    }
    pollfd p{.fd = PQsocket(conn_), .events = events, .revents = 0};
    const int n = ::poll(&p, 1, wait_ms);
    if (n > 0) return OkStatus();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal(fmt::format("postgres {}: poll: errno {}", what, errno));
    // No answer in time. The request may still run once the server moves
    // again (a COMMIT may then commit); closing the socket at least ends the
    // session there, and its locks, as soon as it does.
    Close();
    unresponsive_ = true;
    return Unavailable(fmt::format(
        "postgres {}: no answer within {} (the server hangs or is overloaded); connection closed",
        what, FormatDuration(options_.response_timeout)));
  }
}

Status PgConnection::Flush(std::chrono::steady_clock::time_point deadline,
                           std::string_view what) {
  // In non-blocking mode a request may sit in libpq's buffer until the
  // socket takes it; reading meanwhile keeps the server from blocking on us.
  for (;;) {
    const int flushed = PQflush(conn_);
    if (flushed == 0) return OkStatus();
    if (flushed < 0) return PgError(conn_, nullptr, what);
    SBX_RETURN_IF_ERROR(WaitSocket(POLLIN | POLLOUT, deadline, what));
    if (!PQconsumeInput(conn_)) return PgError(conn_, nullptr, what);
  }
}

Result<PGresult*> PgConnection::NextResult(std::chrono::steady_clock::time_point deadline,
                                           std::string_view what) {
  while (PQisBusy(conn_)) {
    SBX_RETURN_IF_ERROR(WaitSocket(POLLIN, deadline, what));
    if (!PQconsumeInput(conn_)) return PgError(conn_, nullptr, what);
  }
  PGresult* next = PQgetResult(conn_);
  if (next) unresponsive_ = false;
  return next;
}

namespace {

bool Succeeded(const PGresult* r) {
  const ExecStatusType st = PQresultStatus(r);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

}  // namespace

Result<PgResult> PgConnection::Await(std::string_view what) {
  ++round_trips_;
  const auto deadline = std::chrono::steady_clock::now() + options_.response_timeout;
  SBX_RETURN_IF_ERROR(Flush(deadline, what));
  std::optional<PgResult> kept;
  for (;;) {
    SBX_ASSIGN_OR_RETURN(PGresult * next, NextResult(deadline, what));
    if (!next) break;
    if (kept && !Succeeded(kept->raw()) && Succeeded(next)) {
      PQclear(next);  // the first error stands
    } else {
      kept.emplace(next);
    }
  }
  if (!kept) return PgError(conn_, nullptr, what);
  if (Succeeded(kept->raw())) return std::move(*kept);
  return PgError(conn_, kept->raw(), what);
}

Result<std::vector<const char*>> PgConnection::Values(const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    if (p && p->find('\0') != std::string::npos) {
      return InvalidArgument("postgres: a text value contains a NUL byte");
    }
    values.push_back(p ? p->c_str() : nullptr);
  }
  return values;
}

Result<std::string> PgConnection::Prepared(const std::string& sql, int params) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  std::string name = fmt::format("sbx_{}", prepared_.size() + 1);
  if (!PQsendPrepare(conn_, name.c_str(), sql.c_str(), params, nullptr)) {
    return PgError(conn_, nullptr, "prepare");
  }
  SBX_RETURN_IF_ERROR(Await("prepare").status());
  prepared_.emplace(sql, name);
  return name;
}

Result<PgResult> PgConnection::Exec(const std::string& sql) {
  if (!conn_) return Unavailable("postgres exec: not connected");
  // A deferred BEGIN goes first in the same query string; the answer is the
  // first error or the last statement's result.
  const std::string text = TakePendingBegin() ? "BEGIN; " + sql : sql;
  if (!PQsendQuery(conn_, text.c_str())) return PgError(conn_, nullptr, "exec");
  return Await("exec");
}

Result<PgResult> PgConnection::Run(const std::string& sql, const std::vector<PgParam>& params) {
  if (!conn_) return Unavailable("postgres query: not connected");
  SBX_ASSIGN_OR_RETURN(std::vector<const char*> values, Values(params));
  const int n = static_cast<int>(params.size());
  SBX_ASSIGN_OR_RETURN(std::string name, Prepared(sql, n));
  return RunOne({std::move(name), true, std::move(values)});
}

Result<PgResult> PgConnection::RunOne(Outgoing request) {
  if (begin_pending_) {  // BEGIN and the statement in one round trip
    std::vector<Outgoing> one;
    one.push_back(std::move(request));
    SBX_ASSIGN_OR_RETURN(std::vector<PgResult> results, Pipeline(std::move(one)));
    return std::move(results.front());
  }
  if (!Send(request)) return PgError(conn_, nullptr, "query");
  return Await("query");
}

bool PgConnection::Send(const Outgoing& r) {
  const int n = static_cast<int>(r.values.size());
  return (r.prepared ? PQsendQueryPrepared(conn_, r.name_or_sql.c_str(), n, r.values.data(),
                                           nullptr, nullptr, 0)
                     : PQsendQueryParams(conn_, r.name_or_sql.c_str(), n, nullptr,
                                         r.values.data(), nullptr, nullptr, 0)) != 0;
}

Result<PgResult> PgConnection::RunPlannedEachTime(const std::string& sql,
                                                 const std::vector<PgParam>& params) {
  if (!conn_) return Unavailable("postgres query: not connected");
  SBX_ASSIGN_OR_RETURN(std::vector<const char*> values, Values(params));
  return RunOne({sql, false, std::move(values)});
}

Result<std::vector<PgResult>> PgConnection::RunPipelined(std::span<const Statement> statements) {
  if (!conn_) return Unavailable("postgres pipeline: not connected");
  // Everything that can fail before the pipeline opens: the values, and
  // preparing each statement not prepared on this connection yet.
  std::vector<Outgoing> requests;
  requests.reserve(statements.size());
  for (const Statement& st : statements) {
    SBX_ASSIGN_OR_RETURN(auto v, Values(st.params));
    SBX_ASSIGN_OR_RETURN(std::string name, Prepared(st.sql, static_cast<int>(v.size())));
    requests.push_back({std::move(name), true, std::move(v)});
  }
  return Pipeline(std::move(requests));
}

Result<std::vector<PgResult>> PgConnection::Pipeline(std::vector<Outgoing> requests) {
  if (!PQenterPipelineMode(conn_)) return PgError(conn_, nullptr, "pipeline");
  // A pipeline that cannot be finished leaves libpq expecting results that
  // will never be read: the connection is closed (the next borrow opens a
  // new one), which also ends its transaction on the server.
  auto abandon = [&](Status s) {
    Close();
    return s;
  };
  // A deferred BEGIN opens the transaction in this same round trip; its
  // result is read and dropped.
  const bool begin = TakePendingBegin();
  if (begin && !PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0)) {
    return abandon(PgError(conn_, nullptr, "pipeline begin"));
  }
  for (const Outgoing& r : requests) {
    if (!Send(r)) return abandon(PgError(conn_, nullptr, "pipeline query"));
  }
  if (!PQpipelineSync(conn_)) return abandon(PgError(conn_, nullptr, "pipeline sync"));
  ++round_trips_;
  // The response deadline counts from each answer: a long pipeline is fine
  // as long as the server keeps answering.
  auto deadline = [&] { return std::chrono::steady_clock::now() + options_.response_timeout; };
  if (Status s = Flush(deadline(), "pipeline"); !s.ok()) return abandon(s);
  std::vector<PgResult> results;
  const size_t answers = requests.size() + (begin ? 1 : 0);
  results.reserve(answers);
  Status first_error;
  for (size_t i = 0; i < answers; ++i) {
    // One statement's results, then nullptr.
    std::optional<PgResult> kept;
    for (;;) {
      auto next = NextResult(deadline(), "pipeline");
      if (!next) return abandon(next.error());
      if (!*next) break;
      kept.emplace(*next);
    }
    if (!kept) return abandon(Internal("postgres pipeline: a statement returned no result"));
    const ExecStatusType st = PQresultStatus(kept->raw());
    if (first_error.ok() && st != PGRES_PIPELINE_ABORTED && !Succeeded(kept->raw())) {
      first_error = PgError(conn_, kept->raw(), "pipeline query");
    }
    results.push_back(std::move(*kept));
  }
  auto sync = NextResult(deadline(), "pipeline");
  if (!sync) return abandon(sync.error());
  const PgResult sync_result(*sync);
  if (!*sync || PQresultStatus(*sync) != PGRES_PIPELINE_SYNC || !PQexitPipelineMode(conn_)) {
    return abandon(Internal("postgres pipeline: the server's answers did not end at the sync"));
  }
  if (!first_error.ok()) return first_error;
  if (begin) results.erase(results.begin());
  return results;
}

Status InTransaction(PgConnection& conn, const std::function<Status()>& body) {
  // Inside an open transaction (a batch) a savepoint makes `body`
  // all-or-nothing without ending the transaction.
  const bool nested = conn.in_transaction();
  if (nested) {
    SBX_RETURN_IF_ERROR(conn.Exec("SAVEPOINT unit").status());
  } else {
    conn.BeginWithNextRequest();
  }
  Status s = body();
  if (s.ok() && PQtransactionStatus(conn.raw()) == PQTRANS_INERROR) {
    // A statement failed and nobody passed the error on: COMMIT would now
    // roll back and still answer without an error.
    s = Internal("a statement of the transaction failed");
  }
  // A body that sent nothing never opened the transaction: nothing to end.
  if (!nested && conn.TakePendingBegin()) return s;
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
  if (pool_) pool_->Return(conn_, probe_);
}

Result<std::unique_ptr<PgPool>> PgPool::Create(const PgConnectOptions& connect,
                                               PgPoolOptions options) {
  std::unique_ptr<PgPool> pool(new PgPool(options));
  for (int i = 0; i < options.size; ++i) {
    SBX_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(connect));
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
  const auto now = std::chrono::steady_clock::now();
  PgConnection* conn = nullptr;
  bool probe = false;
  {
    std::unique_lock lock(mu_);
    if (hung_) {
      // Waiting for a server that answers nothing would only hold up every
      // caller for the response timeout: fail now, and let one call try
      // again now and then.
      if (probing_ || now < retry_at_) {
        return Unavailable(
            "postgres: the server is not answering; calls fail at once until it does (one "
            "retries every " +
            FormatDuration(options_.retry_interval) + ")");
      }
      probing_ = true;
      probe = true;
    }
    if (!free_cv_.wait_until(lock, now + options_.borrow_timeout,
                             [&] { return !free_.empty(); })) {
      if (probe) probing_ = false;
      return Unavailable(fmt::format("postgres: store busy: all {} connections stayed in use for {}",
                                     all_.size(), FormatDuration(options_.borrow_timeout)));
    }
    conn = free_.back();
    free_.pop_back();
  }
  Handle handle(this, conn, probe);
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

void PgPool::Return(PgConnection* conn, bool probe) {
  {
    std::lock_guard lock(mu_);
    if (conn->unresponsive()) {
      hung_ = true;
      retry_at_ = std::chrono::steady_clock::now() + options_.retry_interval;
    } else if (conn->raw() != nullptr) {
      hung_ = false;  // it answered
    }
    if (probe) probing_ = false;
    free_.push_back(conn);
  }
  free_cv_.notify_one();
}

}  // namespace sbx::store
