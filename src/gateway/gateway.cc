#include "gateway/gateway.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>

#include "base/log.h"
#include "gateway/forwarding.h"
#include "http/credentials.h"
#include "http/router.h"
#include "http/server.h"

namespace sbx::gateway {
namespace {

using namespace net::experimental::awaitable_operators;
using core::SandboxStatus;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

// Whether a Set-Cookie for `domain` may be `SameSite=None; Secure`: browsers
// take Secure cookies over https, and over http only from localhost.
bool SecureCookieWorks(const PreviewDomain& domain) {
  if (domain.scheme == "https") return true;
  const std::string_view host = std::string_view(domain.host).substr(0, domain.host.rfind(':'));
  return host == "localhost" || host.ends_with(".localhost");
}

// The page for a sandbox port that could not be connected to.
AnswerKind ConnectFailureKind(StatusCode code) {
  if (code == StatusCode::kNotFound) return AnswerKind::kNotFound;
  if (code == StatusCode::kDeadlineExceeded) return AnswerKind::kGatewayTimeout;
  return AnswerKind::kBadGateway;
}

// The page for a request the sandbox did not answer.
AnswerKind NoResponseKind(bool timed_out) {
  return timed_out ? AnswerKind::kGatewayTimeout : AnswerKind::kBadGateway;
}

}  // namespace

struct Gateway::UpstreamSlot {
  std::string sandbox_id;  // what this connection reaches
  uint16_t port = 0;
  std::unique_ptr<UpstreamConnection> conn;
  beast::flat_buffer buffer;
};

struct Gateway::Connection {
  explicit Connection(net::ip::tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string client_address;
  bool busy = false;    // answering a request
  bool tunnel = false;  // relaying a WebSocket
  bool evicted = false;  // closed to make room (MakeRoom)
  bool reading_body = false;  // relaying the client's request body, at its pace
  SteadyTime waiting_since{};  // when it began waiting for its next request or sending a body
  std::unique_ptr<UpstreamSlot> upstream;  // kept between requests of this client
  std::optional<core::Sandbox> record;     // the last record this client asked for
};

// Activity and metrics for the traffic of one forwarded request.
class Gateway::RequestObserver final : public ExchangeObserver {
 public:
  RequestObserver(Gateway& gateway, Connection& conn, const std::string& project)
      : gateway_(gateway), conn_(conn), project_(project) {}
  void Traffic() override {
    gateway_.activity_.Touch(project_);
    // A body that keeps coming is not waiting: the one that stalls longest
    // is the one to close (MakeRoom).
    if (conn_.reading_body) conn_.waiting_since = gateway_.clock_.SteadyNow();
  }
  void TunnelOpened() override {
    conn_.tunnel = true;
    ++gateway_.websockets_;
    gateway_.activity_.OpenStream(project_);
  }
  void TunnelClosed() override {
    conn_.tunnel = false;
    --gateway_.websockets_;
    gateway_.activity_.CloseStream(project_);
  }
  void ReadingBody(bool reading) override {
    conn_.reading_body = reading;
    if (reading) conn_.waiting_since = gateway_.clock_.SteadyNow();
  }

 private:
  Gateway& gateway_;
  Connection& conn_;
  const std::string& project_;
};

Gateway::Gateway(net::io_context& io, Clock& clock, lifecycle::Lifecycle& lifecycle,
                 lifecycle::EventBus& bus, Metrics& metrics, Upstream& upstream,
                 const TrafficTokens* tokens, GatewayOptions options)
    : io_(io),
      clock_(clock),
      lifecycle_(lifecycle),
      metrics_(metrics),
      upstream_(upstream),
      tokens_(tokens),
      options_(std::move(options)),
      activity_(clock, lifecycle, options_.activity),
      holder_(clock, lifecycle, bus, metrics),
      forwarded_(metrics.Counter("sandboxd_preview_requests_total", {{"outcome", "forwarded"}},
                                 "Preview requests by outcome")) {
  metrics_.AddGaugeCallback("sandboxd_preview_websockets", "WebSockets open through the gateway",
                            [this] {
                              return std::vector<std::pair<Labels, double>>{
                                  {{}, static_cast<double>(websockets_.load())}};
                            });
  metrics_.AddGaugeCallback("sandboxd_preview_held_requests",
                            "Preview requests held until their sandbox is RUNNING", [this] {
                              return std::vector<std::pair<Labels, double>>{
                                  {{}, static_cast<double>(held_.load())}};
                            });
  metrics_.AddGaugeCallback("sandboxd_preview_connections", "Open client connections of the gateway",
                            [this] {
                              return std::vector<std::pair<Labels, double>>{
                                  {{}, static_cast<double>(connection_count_.load())}};
                            });
}

Gateway::~Gateway() = default;

Result<std::string> Gateway::Start() {
  if (options_.require_token && tokens_ == nullptr) {
    return InvalidArgument("preview tokens required but no token secret given");
  }
  SBX_ASSIGN_OR_RETURN(acceptor_, http_server::Listen(io_, options_.listen));
  beast::error_code ec;
  const auto bound = acceptor_->local_endpoint(ec);
  domain_ = options_.domain ? *options_.domain
                            : PreviewDomain{"http", fmt::format("localhost:{}", bound.port())};
  activity_.Start(io_.get_executor());
  holder_.Start(io_.get_executor());
  net::co_spawn(io_, Accept(), [](std::exception_ptr e) {
    if (e) {
      SBX_LOG_ERROR("preview accept loop died with an exception");
      std::abort();
    }
  });
  return fmt::format("{}:{}", bound.address().to_string(), bound.port());
}

void Gateway::BeginShutdown() {
  net::post(io_, [this] {
    draining_ = true;
    beast::error_code ec;
    if (acceptor_) acceptor_->close(ec);
    holder_.Shutdown();  // held requests are answered 503 and their connections close
    activity_.Stop();
    for (auto& [id, c] : connections_) {
      if (c->tunnel) {
        c->stream.socket().close(ec);
      } else if (!c->busy) {
        c->stream.socket().cancel(ec);
      }
    }
  });
}

void Gateway::Count(std::string_view outcome) {
  auto it = outcomes_.find(std::string(outcome));
  if (it == outcomes_.end()) {
    it = outcomes_
             .emplace(std::string(outcome),
                      metrics_.Counter("sandboxd_preview_requests_total",
                                       {{"outcome", std::string(outcome)}},
                                       "Preview requests by outcome"))
             .first;
  }
  it->second.Inc();
}

net::awaitable<void> Gateway::Accept() {
  using namespace std::chrono_literals;
  auto backoff = 10ms;
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(kNoThrow);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_->is_open()) co_return;
      // Out of descriptors (or another transient error): the connection
      // stays in the backlog, so retrying at once would spin. Back off as
      // the API server does, and say so once per episode.
      metrics_.Inc("sandboxd_preview_accept_errors_total", {}, 1,
                   "Failed accepts of preview connections (e.g. out of file descriptors); the "
                   "gateway backs off");
      if (backoff == 10ms) SBX_LOG_WARN("preview accept: {} (backing off)", ec.message());
      (void)co_await clock_.SleepFor(backoff);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1s);
      continue;
    }
    backoff = 10ms;
    if (connections_.size() - evicting_ >= options_.max_connections && !MakeRoom()) {
      Count("too_many_connections");
      socket.close(ec);
      continue;
    }
    socket.set_option(net::ip::tcp::no_delay(true), ec);
    net::co_spawn(io_, Session(std::move(socket)), [](std::exception_ptr e) {
      if (e) SBX_LOG_ERROR("bug: preview connection handler threw");
    });
  }
}

bool Gateway::MakeRoom() {
  // A scan: at most max_connections pointers, and only when full. A client
  // still sending its request body sets its own pace, like an idle one: it
  // may be closed too, or bodies trickled a byte a minute would hold every
  // connection busy and lock everyone else out.
  // An idle one first, then the body sender whose last bytes came longest ago.
  Connection* oldest = nullptr;
  for (auto& [id, c] : connections_) {
    if ((c->busy && !c->reading_body) || c->tunnel || c->evicted) continue;
    if (oldest == nullptr || (oldest->reading_body && !c->reading_body) ||
        (oldest->reading_body == c->reading_body && c->waiting_since < oldest->waiting_since)) {
      oldest = c;
    }
  }
  if (oldest == nullptr) return false;
  oldest->evicted = true;
  ++evicting_;
  beast::error_code ec;
  oldest->stream.socket().cancel(ec);  // its read ends; Session closes it
  // A body sender may be writing to its sandbox just now, with no read to
  // cancel: its next read ends at once instead.
  if (oldest->reading_body) {
    oldest->stream.socket().shutdown(net::socket_base::shutdown_receive, ec);
  }
  Count("evicted");
  return true;
}

net::awaitable<void> Gateway::Session(net::ip::tcp::socket socket) {
  Connection conn(std::move(socket));
  beast::error_code ec;
  conn.client_address = conn.stream.socket().remote_endpoint(ec).address().to_string();
  const uint64_t id = next_connection_id_++;
  connections_[id] = &conn;
  ++connection_count_;
  for (;;) {
    conn.busy = false;
    conn.waiting_since = clock_.SteadyNow();
    if (draining_ || conn.evicted) break;
    if (conn.buffer.size() == 0) {
      // Idle until the next request's first bytes (keep-alive), then the
      // whole head within the header timeout.
      conn.stream.expires_after(options_.idle_timeout);
      auto [wait_ec, got] = co_await conn.stream.async_read_some(conn.buffer.prepare(4096),
                                                                 kNoThrow);
      if (wait_ec || conn.evicted) break;
      conn.buffer.commit(got);
    }
    conn.stream.expires_after(options_.header_timeout);
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(static_cast<uint32_t>(options_.max_request_header_bytes));
    parser.body_limit(options_.max_request_body_bytes);
    auto [read_ec, n] = co_await http::async_read_header(conn.stream, conn.buffer, parser, kNoThrow);
    if (read_ec) {
      const RequestFacts facts{.version = parser.get().version() == 10 ? 10u : 11u,
                               .html = WantsHtml(parser.get()),
                               .keep_alive = false};
      AnswerInfo info;
      if (read_ec == http::error::header_limit) {
        Count("header_too_large");
        info.message =
            fmt::format("request head is larger than {} bytes", options_.max_request_header_bytes);
        (void)co_await Answer(conn, parser, facts, AnswerKind::kHeaderTooLarge, info);
      } else if (read_ec == http::error::body_limit) {
        Count("too_large");
        info.message =
            fmt::format("request body is larger than {} bytes", options_.max_request_body_bytes);
        (void)co_await Answer(conn, parser, facts, AnswerKind::kTooLarge, info);
      } else if (read_ec.category() == http::make_error_code(http::error::bad_method).category() &&
                 read_ec != http::error::end_of_stream && read_ec != http::error::partial_message) {
        Count("bad_request");
        info.message = "malformed request: " + read_ec.message();
        (void)co_await Answer(conn, parser, facts, AnswerKind::kBadHost, info);
      }
      break;
    }
    conn.busy = true;
    if (!co_await Handle(conn, parser)) break;
  }
  connections_.erase(id);
  if (conn.evicted) --evicting_;
  --connection_count_;
  conn.upstream.reset();
  conn.stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

std::optional<http::response<http::string_body>> Gateway::TokenRedirect(
    const http::request<http::buffer_body>& req, const std::string& sandbox_id) const {
  if (req.method() != http::verb::get) return std::nullopt;
  auto taken = TakeQueryParam(req.target(), kTrafficTokenCookie);
  if (!taken || !tokens_->Check(sandbox_id, taken->value)) return std::nullopt;
  http::response<http::string_body> res{http::status::found, req.version()};
  res.set(http::field::location, taken->target);
  res.set(http::field::cache_control, "no-store");
  res.set(kPreviewAnswerHeader, "token");
  res.set(http::field::set_cookie,
          fmt::format("{}={}; Path=/; HttpOnly; {}", kTrafficTokenCookie, taken->value,
                      SecureCookieWorks(domain_) ? "SameSite=None; Secure; Partitioned"
                                                         : "SameSite=Lax"));
  res.prepare_payload();
  return res;
}

net::awaitable<bool> Gateway::Handle(Connection& conn,
                                     http::request_parser<http::buffer_body>& parser) {
  auto& req = parser.get();
  const RequestFacts facts{.version = req.version() == 10 ? 10u : 11u,
                           .html = WantsHtml(req),
                           .head = req.method() == http::verb::head,
                           .upgrade = IsUpgradeRequest(req),
                           .keep_alive = req.keep_alive() && !draining_};
  // Every argument of these coroutine calls is a named object: GCC 12
  // destroys temporaries passed to coroutines twice.
  AnswerInfo info;
  if (req.method() == http::verb::connect) {
    Count("not_allowed");
    info.message = "CONNECT is not served by the preview gateway";
    co_return co_await Answer(conn, parser, facts, AnswerKind::kNotAllowed, info);
  }
  if (http_server::HasUndelimitedBody(parser)) {
    Count("bad_request");
    info.message = "Transfer-Encoding must end in chunked";
    RequestFacts closing = facts;
    closing.keep_alive = false;
    (void)co_await Answer(conn, parser, closing, AnswerKind::kBadHost, info);
    co_return false;
  }
  if (!ToOriginForm(req)) {
    Count("bad_request");
    info.message = fmt::format("malformed request target \"{}\"", std::string(req.target()));
    co_return co_await Answer(conn, parser, facts, AnswerKind::kBadHost, info);
  }
  MergeCookieHeaders(req);
  auto host = ParsePreviewHost(req[http::field::host], domain_);
  if (!host.ok()) {
    const bool bare = host.error().code() == StatusCode::kNotFound;
    Count(bare ? "not_found" : "bad_host");
    info.message = host.error().message();
    co_return co_await Answer(conn, parser, facts,
                              bare ? AnswerKind::kNotFound : AnswerKind::kBadHost, info);
  }
  const std::string& id = host->sandbox_id;
  info.sandbox_id = id;
  if (options_.require_token) {
    if (auto redirect = TokenRedirect(req, id)) {
      Count("token_cookie");
      redirect->keep_alive(facts.keep_alive && parser.is_done());
      conn.stream.expires_after(options_.exchange.client_timeout);
      auto [ec, n] = co_await http::async_write(conn.stream, *redirect, kNoThrow);
      co_return !ec && redirect->keep_alive();
    }
    const bool ok = tokens_->Check(id, req[kTrafficTokenHeader]) ||
                    tokens_->Check(id, http_server::CookieValue(req[http::field::cookie], kTrafficTokenCookie));
    if (!ok) {
      Count("unauthorized");
      info.message = fmt::format(
          "this preview needs the sandbox's traffic token: send it in the {} header (the "
          "sandbox object's trafficAccessToken)",
          kTrafficTokenHeader);
      co_return co_await Answer(conn, parser, facts, AnswerKind::kUnauthorized, info);
    }
  }
  const core::Sandbox* sandbox = Lookup(conn, id);
  if (sandbox == nullptr) {
    if (auto project = lifecycle_.read_model().ProjectOfRetired(id)) {
      // Killed and then made again (or forgotten): the project's new
      // sandbox has a new URL.
      Count("gone");
      info.project_id = *project;
      info.message = fmt::format("sandbox {} is gone: project {} has another sandbox now, or none",
                                 id, *project);
      co_return co_await Answer(conn, parser, facts, AnswerKind::kGone, info);
    }
    Count("not_found");
    info.message = fmt::format("no sandbox {}", id);
    co_return co_await Answer(conn, parser, facts, AnswerKind::kNotFound, info);
  }
  info.project_id = sandbox->project_id;
  if (sandbox->status != SandboxStatus::kRunning) {
    HoldVerdict verdict = co_await Hold(conn, facts, *sandbox);
    if (verdict.kind) {
      Count(verdict.outcome);
      info.message = std::move(verdict.message);
      co_return co_await Answer(conn, parser, facts, *verdict.kind, info);
    }
    if (!verdict.running) {
      Count(verdict.outcome);  // the client went away: no answer
      co_return false;
    }
    conn.record = std::move(verdict.running);
    sandbox = &*conn.record;
  }
  co_return co_await Forward(conn, parser, facts, *sandbox, host->port);
}

const core::Sandbox* Gateway::Lookup(Connection& conn, const std::string& sandbox_id) {
  const lifecycle::ReadModel& model = lifecycle_.read_model();
  // A keep-alive client asking again for an unchanged record costs no copy.
  if (conn.record && conn.record->sandbox_id == sandbox_id &&
      model.Unchanged(conn.record->project_id, conn.record->version, conn.record->updated_at)) {
    return &*conn.record;
  }
  conn.record.reset();
  const auto project = model.ProjectOfSandbox(sandbox_id);
  if (!project) return nullptr;
  conn.record = model.Get(*project);
  if (!conn.record || conn.record->sandbox_id != sandbox_id) {
    conn.record.reset();
    return nullptr;
  }
  return &*conn.record;
}

net::awaitable<Gateway::HoldVerdict> Gateway::Hold(Connection& conn, const RequestFacts& facts,
                                                   const core::Sandbox& sandbox) {
  const std::string project = sandbox.project_id;
  const std::string id = sandbox.sandbox_id;
  HoldVerdict v;
  const auto answer = [&v](AnswerKind kind, std::string_view outcome, std::string message) {
    v.kind = kind;
    v.outcome = outcome;
    v.message = std::move(message);
  };
  if (sandbox.status == SandboxStatus::kKilled) {
    answer(AnswerKind::kGone, "gone", fmt::format("sandbox {} was killed", id));
    co_return v;
  }
  if (draining_) {
    answer(AnswerKind::kShutdown, "shutdown", "sandboxd is shutting down");
    co_return v;
  }
  if (facts.html && !facts.upgrade) {
    // A page load: the waking page now, which waits for the app by itself.
    holder_.Nudge(project);
    answer(AnswerKind::kWaking, "waking_page",
           fmt::format("sandbox {} is {}", id, core::StatusName(sandbox.status)));
    co_return v;
  }
  const SteadyTime deadline = clock_.SteadyNow() + options_.wake_timeout;
  ++held_;
  auto waited = co_await (holder_.WaitUntilRunning(project, id, deadline) ||
                          ClientGone(conn.stream));
  --held_;
  if (waited.index() == 1) {
    v.outcome = "client_gone";
    co_return v;
  }
  HoldResult held = std::get<0>(std::move(waited));
  switch (held.outcome) {
    case HoldOutcome::kRunning:
      v.running = std::move(held.sandbox);
      break;
    case HoldOutcome::kGone:
      answer(AnswerKind::kGone, "gone", fmt::format("sandbox {} was killed", id));
      break;
    case HoldOutcome::kUnknown:
      answer(AnswerKind::kNotFound, "not_found", fmt::format("no sandbox {}", id));
      break;
    case HoldOutcome::kWakeFailed:
      answer(AnswerKind::kWakeFailed, "wake_failed",
             fmt::format("waking sandbox {} failed: {}", id, held.detail));
      break;
    case HoldOutcome::kDeadline:
      metrics_.Inc("sandboxd_preview_deadline_total", {}, 1,
                   "Preview requests answered 503 at the wake deadline");
      answer(AnswerKind::kDeadline, "deadline",
             fmt::format("sandbox {} is still waking up after {}; retry", id,
                         FormatDuration(options_.wake_timeout)));
      break;
    case HoldOutcome::kShutdown:
      answer(AnswerKind::kShutdown, "shutdown", "sandboxd is shutting down");
      break;
    case HoldOutcome::kCancelled:
      v.outcome = "client_gone";
      break;
  }
  co_return v;
}

net::awaitable<bool> Gateway::ClientGone(beast::tcp_stream& client) {
  auto& socket = client.socket();
  for (;;) {
    auto [ec] = co_await socket.async_wait(net::socket_base::wait_read, kNoThrow);
    if (ec == net::error::operation_aborted) co_return false;  // the hold ended first
    if (ec) co_return true;
    char c = 0;
    const ssize_t n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) co_return true;  // the client closed
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) co_return true;
    if (n > 0) {
      // A request body (or a pipelined request) is waiting: a close cannot
      // be seen from here without reading it. The deadline bounds the hold.
      auto timer = clock_.NewTimer(co_await net::this_coro::executor);
      (void)co_await timer->WaitUntil(SteadyTime::max());
      co_return false;
    }
  }
}

net::awaitable<bool> Gateway::Forward(Connection& conn,
                                      http::request_parser<http::buffer_body>& parser,
                                      const RequestFacts& facts, const core::Sandbox& sandbox,
                                      uint16_t port) {
  auto& req = parser.get();
  const bool expect_continue = beast::iequals(req[http::field::expect], "100-continue");
  const bool no_body = parser.is_done();
  const bool idempotent = req.method() == http::verb::get || req.method() == http::verb::head ||
                          req.method() == http::verb::options;
  PrepareUpstreamRequest(req, {conn.client_address, domain_.scheme}, facts.upgrade);
  activity_.Touch(sandbox.project_id);
  RequestObserver observer(*this, conn, sandbox.project_id);
  AnswerInfo info{.sandbox_id = sandbox.sandbox_id, .project_id = sandbox.project_id};
  for (int attempt = 0;; ++attempt) {
    const bool reused = conn.upstream && conn.upstream->port == port &&
                        conn.upstream->sandbox_id == sandbox.sandbox_id;
    if (!reused) {
      conn.upstream.reset();
      auto connected = co_await upstream_.Connect(sandbox, port);
      if (!connected.ok()) {
        const StatusCode code = connected.error().code();
        Count(code == StatusCode::kNotFound ? "not_found" : "upstream_error");
        info.message = connected.error().message();
        co_return co_await Answer(conn, parser, facts, ConnectFailureKind(code), info);
      }
      conn.upstream = std::make_unique<UpstreamSlot>();
      conn.upstream->sandbox_id = sandbox.sandbox_id;
      conn.upstream->port = port;
      conn.upstream->conn = std::move(*connected);
    }
    if (conn.upstream->conn->host) req.set(http::field::host, *conn.upstream->conn->host);
    ExchangeRequest request{.parser = parser,
                            .expect_continue = expect_continue,
                            .upgrade = facts.upgrade,
                            .client_keep_alive = facts.keep_alive,
                            .client_version = facts.version,
                            .head = facts.head};
    UpstreamSlot& slot = *conn.upstream;
    const ExchangeResult r = co_await std::visit(
        [&](auto& stream) {
          return Exchange(clock_, conn.stream, conn.buffer, request, stream, slot.buffer,
                          options_.exchange, observer);
        },
        slot.conn->stream);
    if (r.outcome != ExchangeOutcome::kDone || !r.keep_upstream) conn.upstream.reset();
    switch (r.outcome) {
      case ExchangeOutcome::kDone:
        forwarded_.Inc();
        co_return r.keep_client;
      case ExchangeOutcome::kTunnelled:
        Count("websocket");
        co_return false;
      case ExchangeOutcome::kTooLarge: {
        Count("too_large");
        info.message = fmt::format("request body is larger than {} bytes",
                                   options_.max_request_body_bytes);
        co_return co_await Answer(conn, parser, facts, AnswerKind::kTooLarge, info);
      }
      case ExchangeOutcome::kNoResponse: {
        // A kept connection the sandbox closed in the meantime: once more on
        // a new one, when nothing of a body was consumed and repeating the
        // request is safe.
        if (reused && no_body && attempt == 0 && !r.timed_out &&
            (idempotent || !r.request_started)) {
          continue;
        }
        Count(r.timed_out ? "upstream_timeout" : "upstream_error");
        info.message = fmt::format("sandbox {} port {}: {}", sandbox.sandbox_id, port, r.error);
        co_return co_await Answer(conn, parser, facts, NoResponseKind(r.timed_out), info);
      }
      case ExchangeOutcome::kBroken:
        Count("broken");
        SBX_LOG_DEBUG("preview {} port {}: {}", sandbox.sandbox_id, port, r.error);
        co_return false;
    }
  }
}

net::awaitable<bool> Gateway::Answer(Connection& conn,
                                     const http::request_parser<http::buffer_body>& parser,
                                     const RequestFacts& facts, AnswerKind kind,
                                     const AnswerInfo& info) {
  AnswerInfo shown = info;
  shown.retry_after = options_.retry_after;
  // An unread request body would be taken for the next request: close.
  const bool keep = facts.keep_alive && parser.is_done() && !draining_;
  auto res = MakeAnswer(kind, shown, facts.version, facts.html, !keep);
  if (facts.head) res.body().clear();  // Content-Length still tells the size
  conn.stream.expires_after(options_.exchange.client_timeout);
  auto [ec, n] = co_await http::async_write(conn.stream, res, kNoThrow);
  co_return !ec && keep;
}

}  // namespace sbx::gateway
