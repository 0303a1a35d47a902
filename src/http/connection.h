// Connection: one HTTP/1.1 connection of the Server, over any Beast stream —
// a beast::tcp_stream in production, beast::test::stream in unit tests and the
// fuzzer, so the whole request path runs without sockets there. It waits for a
// request (idle timeout), reads its head (header timeout: slow heads are cut
// off), routes it, runs the route's guard before reading the body (a refused
// request costs no body), reads the body (body limit), and writes the answer
// with a write deadline. Private to http/. REQUIRES: runs on one executor.
#pragma once

#include <array>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/net.h"
#include "http/router.h"
#include "http/server_options.h"

namespace sbx::http_server {

// What the server sees of a connection: waiting for a request (it may be
// closed to make room) or answering one, and since when.
struct ConnectionState {
  bool busy = false;
  // Busy, but only waiting for the rest of a request's body: like a wait for
  // a request, the server may close it to make room (a client that trickles
  // its body holds no place the others need).
  bool reading_body = false;
  // Busy writing its answer since `since`: once that write has stalled for
  // kStalledWrite (a client that does not read what it asked for), the
  // server may close it to make room as well.
  bool writing = false;
  SteadyTime since{};
};
inline constexpr std::chrono::seconds kStalledWrite{1};

// What a connection needs from its server.
class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  // True once shutdown began: answer the request in progress, then close.
  virtual bool draining() const = 0;
  // Counts one request of `route` answered with `code` (and its latency).
  virtual void Count(std::string_view route, int code, std::optional<double> seconds) = 0;
};

// Deadlines exist only on streams that have them (tcp_stream); a test stream
// has none, and tests of timeouts use real sockets.
template <class S>
void SetDeadline(S& s, std::chrono::steady_clock::duration d) {
  if constexpr (requires { s.expires_after(d); }) s.expires_after(d);
}
template <class S>
void ClearDeadline(S& s) {
  if constexpr (requires { s.expires_never(); }) s.expires_never();
}
// Ends the connection: FIN and close on a socket, close on a test stream.
template <class S>
void CloseStream(S& s) {
  beast::error_code ec;
  if constexpr (requires { s.socket(); }) {
    s.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
    s.socket().close(ec);
  } else {
    s.close();
  }
}
// Sends FIN after the last response; the peer reads EOF.
template <class S>
void ShutdownSend(S& s) {
  beast::error_code ec;
  if constexpr (requires { s.socket(); }) {
    s.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  } else {
    s.close();
  }
}

inline constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

// Writes a complete response (Content-Length set) with one gather write: the
// head serialized here, the body as it is. Beast's serializer walks a nested
// buffer view on every write, which measured as the largest user-space cost
// of a status read; for a finished message the bytes are simply the status
// line, the fields in order, a blank line and the body.
template <class S>
net::awaitable<beast::error_code> WriteComplete(S& stream, Response& res) {
  if (res.chunked()) {
    auto [ec, n] = co_await http::async_write(stream, res, kNoThrow);
    co_return ec;
  }
  std::string head;
  head.reserve(256);
  head += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head += std::to_string(res.result_int());
  head += ' ';
  head += res.reason();
  head += "\r\n";
  for (const auto& field : res) {
    head += field.name_string();
    head += ": ";
    head += field.value();
    head += "\r\n";
  }
  head += "\r\n";
  const std::array<net::const_buffer, 2> buffers{net::buffer(head), net::buffer(res.body())};
  auto [ec, n] = co_await net::async_write(stream, buffers, kNoThrow);
  co_return ec;
}

// Streams a body over the connection (SSE): chunked for HTTP/1.1, as it is
// (ended by the close) for HTTP/1.0, which has no chunked coding.
template <class S>
class ChunkedWriter final : public StreamWriter {
 public:
  ChunkedWriter(S& stream, std::chrono::milliseconds write_timeout, int send_buffer,
                bool chunked = true)
      : stream_(stream), write_timeout_(write_timeout), chunked_(chunked) {
    if constexpr (requires { stream_.socket(); }) {
      beast::error_code ec;
      stream_.socket().set_option(net::socket_base::send_buffer_size(send_buffer), ec);
      // TryWrite's send must not wait (would_block instead). Asynchronous
      // operations are not affected.
      stream_.socket().non_blocking(true, ec);
    }
  }

  net::awaitable<bool> Write(std::string data) override {
    if (closed_) co_return false;
    if (!backlog_.empty()) {
      const bool flushed = co_await Flush();
      if (!flushed) co_return false;
    }
    if (!chunked_) co_return co_await WriteAll(net::buffer(data));
    const auto chunk = http::make_chunk(net::buffer(data));
    co_return co_await WriteAll(chunk);
  }

  bool TryWrite(std::string_view data) override {
    if (closed_ || !backlog_.empty() || data.empty()) return false;
    // The chunk's framing around the caller's bytes, gathered into one send.
    std::array<char, 20> size{};
    char* end = size.data();
    if (chunked_) {
      end = std::to_chars(size.data(), size.data() + 16, data.size(), 16).ptr;
      *end++ = '\r';
      *end++ = '\n';
    }
    const std::array<net::const_buffer, 3> parts{
        net::buffer(size.data(), static_cast<size_t>(end - size.data())), net::buffer(data),
        net::buffer("\r\n", chunked_ ? 2 : 0)};
    if constexpr (requires { stream_.socket(); }) {
      if (!stream_.socket().non_blocking()) return false;
    }
    beast::error_code ec;
    const size_t sent = stream_.write_some(parts, ec);
    if (sent == 0) return false;
    size_t skip = sent;
    for (const net::const_buffer& part : parts) {
      const size_t taken = std::min(skip, part.size());
      skip -= taken;
      backlog_.append(static_cast<const char*>(part.data()) + taken, part.size() - taken);
    }
    return true;
  }

  bool backlog() const override { return !backlog_.empty(); }

  net::awaitable<bool> Flush() override {
    if (closed_) co_return false;
    if (backlog_.empty()) co_return true;
    const std::string rest = std::move(backlog_);
    backlog_.clear();
    const net::const_buffer bytes = net::buffer(rest);
    co_return co_await WriteAll(bytes);
  }

  net::awaitable<void> WaitClosed() override {
    // Clients send nothing after the request; any read completion (EOF,
    // reset, or stray bytes) ends the stream.
    char buf[256];
    for (;;) {
      auto [ec, n] = co_await stream_.async_read_some(net::buffer(buf), kNoThrow);
      if (ec || closed_) break;
    }
    closed_ = true;
  }

  void Close() override {
    if (!closed_ && chunked_ && backlog_.empty()) {
      // The last chunk, so that the client sees the body end rather than
      // break off; sent only if the socket takes it at once (a client that
      // does not read gets the close alone).
      bool takes = true;
      if constexpr (requires { stream_.socket(); }) takes = stream_.socket().non_blocking();
      beast::error_code ec;
      if (takes) (void)stream_.write_some(net::buffer("0\r\n\r\n", 5), ec);
    }
    closed_ = true;
    CloseStream(stream_);
  }

 private:
  template <class Buffers>
  net::awaitable<bool> WriteAll(const Buffers& buffers) {
    // A client that does not take the bytes within the deadline is dropped:
    // a slow reader never makes the server buffer without bound.
    SetDeadline(stream_, write_timeout_);
    auto [ec, n] = co_await net::async_write(stream_, buffers, kNoThrow);
    ClearDeadline(stream_);
    if (ec) {
      closed_ = true;
      co_return false;
    }
    co_return true;
  }

  S& stream_;
  std::chrono::milliseconds write_timeout_;
  bool chunked_;
  bool closed_ = false;
  std::string backlog_;  // what TryWrite could not send at once
};

template <class S>
class Connection {
 public:
  Connection(S& stream, const Router& router, Clock& clock, const ServerOptions& options,
             ConnectionHost& host, ConnectionState& state)
      : stream_(stream),
        router_(router),
        clock_(clock),
        options_(options),
        host_(host),
        state_(state) {}

  // Serves requests until the peer leaves, a deadline passes, a request
  // must close the connection, or the server drains. Never throws.
  net::awaitable<void> Run() {
    for (;;) {
      state_.busy = false;
      state_.since = clock_.SteadyNow();
      if (host_.draining()) break;
      // (Awaited into locals: GCC 12 mis-compiles co_await in a condition
      // inside this loop.)
      const bool arrived = co_await WaitForRequest();
      if (!arrived) break;
      const bool keep = co_await ServeOne();
      if (!keep) break;
    }
    // Run after ServeOne has returned, so that a stream that stays open for
    // hours does not also keep that frame (its parser and locals).
    if (stream_request_) co_await Stream();
    ShutdownSend(stream_);
    if (unread_ && !host_.draining()) co_await Linger();
  }

 private:
  using Parser = http::request_parser<http::string_body>;

  // A request for a stream route, kept for the stream's lifetime.
  struct StreamRequest {
    StreamRequest(Request r, RequestContext&& head, const Route& rt)
        : req(std::move(r)),
          ctx{req, std::move(head.params), std::move(head.path), std::move(head.query),
              head.route, std::move(head.hold)},
          route(rt) {}
    Request req;
    RequestContext ctx;
    const Route& route;
  };

  // Waits (idle timeout) until the next request's first bytes arrive.
  net::awaitable<bool> WaitForRequest() {
    if (buffer_.size() > 0) co_return true;  // pipelined: already here
    SetDeadline(stream_, options_.idle_timeout);
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kNoThrow);
    if (ec) co_return false;
    buffer_.commit(n);
    co_return true;
  }

  // Reads, guards, answers one request. False when the connection must end.
  net::awaitable<bool> ServeOne() {
    Parser parser;
    parser.body_limit(options_.max_body_bytes);
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    // The whole head within the header timeout: a byte-a-second client is
    // cut off, however patient.
    SetDeadline(stream_, options_.header_timeout);
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, kNoThrow);
    if (ec == http::error::header_limit) {
      co_await Reject(parser, http::status::request_header_fields_too_large, "header_too_large",
                      fmt::format("request header is larger than {} bytes",
                                  options_.max_header_bytes));
      co_return false;
    }
    if (ec == http::error::body_limit) {  // Content-Length
      co_return co_await TooLarge(parser, options_.max_body_bytes);
    }
    if (IsMalformed(ec)) {
      co_await Reject(parser, http::status::bad_request, "invalid_argument",
                      fmt::format("malformed request: {}", ec.message()));
      co_return false;
    }
    if (ec) co_return false;
    if (HasUndelimitedBody(parser)) {
      co_await Reject(parser, http::status::bad_request, "invalid_argument",
                      "Transfer-Encoding must end in chunked");
      co_return false;
    }
    state_.busy = true;
    const SteadyTime start = clock_.SteadyNow();
    RequestContext head_ctx{parser.get(), {}, {}, {}, {}};
    if (!ParseTarget(parser.get().target(), head_ctx.path, head_ctx.query)) {
      co_await Reject(parser, http::status::bad_request, "invalid_argument",
                      "malformed request target", "bad_target");
      co_return false;
    }
    const Router::Match match = router_.Find(parser.get().method(), head_ctx);
    const Guard* guard = nullptr;
    if (match.route && match.route->guard) {
      guard = &match.route->guard;
    } else if (!match.route && !match.method_not_allowed && router_.fallback_guard()) {
      guard = &router_.fallback_guard();
      head_ctx.route = "fallback";
    }
    if (guard) {
      std::optional<Response> refusal = co_await (*guard)(head_ctx);
      if (refusal) {
        // The body is never read: the connection closes after the answer.
        refusal->keep_alive(false);
        unread_ = true;
        co_await Answer(*refusal, head_ctx.route, start, /*head=*/false);
        co_return false;
      }
    }
    // A 405, or a fallback that answers from the head, never reads a body:
    // nobody's bytes are held for an answer that does not need them.
    const bool body_unused =
        !match.route && (match.method_not_allowed || !router_.fallback_reads_body());
    if (!parser.is_done() && body_unused) {
      unread_ = true;
      Request req = parser.release();
      RequestContext ctx{req, std::move(head_ctx.params), std::move(head_ctx.path),
                         std::move(head_ctx.query), head_ctx.route, std::move(head_ctx.hold)};
      Response res = co_await Dispatch(req, ctx, match);
      res.keep_alive(false);
      (void)co_await Answer(res, ctx.route, start, req.method() == http::verb::head);
      co_return false;
    }
    size_t body_limit = options_.max_body_bytes;
    if (match.route && match.route->max_body > 0) {
      body_limit = std::min(body_limit, match.route->max_body);
    }
    if (body_limit < options_.max_body_bytes && !parser.is_done()) {
      // Beast checks a Content-Length against the limit only with the head;
      // a chunked body is checked as it comes.
      if (parser.content_length() && *parser.content_length() > body_limit) {
        co_return co_await TooLarge(parser, body_limit);
      }
      parser.body_limit(body_limit);
    }
    if (!parser.is_done()) {
      if (parser.get().version() >= 11 &&
          beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        // The client waits for this before it sends the body (RFC 9110
        // §10.1.1); a refusal above was its answer instead.
        SetDeadline(stream_, options_.write_timeout);
        auto [cont_ec, c] = co_await net::async_write(
            stream_, net::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), kNoThrow);
        if (cont_ec) co_return false;
      }
      SetDeadline(stream_, options_.body_timeout);
      state_.reading_body = true;
      auto [body_ec, m] = co_await http::async_read(stream_, buffer_, parser, kNoThrow);
      state_.reading_body = false;
      if (body_ec == http::error::body_limit) co_return co_await TooLarge(parser, body_limit);
      if (IsMalformed(body_ec)) {  // a bad chunk size, say
        co_await Reject(parser, http::status::bad_request, "invalid_argument",
                        fmt::format("malformed request body: {}", body_ec.message()));
        co_return false;
      }
      if (body_ec) co_return false;
    }
    if (match.route && match.route->stream) {
      stream_request_ =
          std::make_unique<StreamRequest>(parser.release(), std::move(head_ctx), *match.route);
      co_return false;  // Run serves it
    }
    Request req = parser.release();
    RequestContext ctx{req, std::move(head_ctx.params), std::move(head_ctx.path),
                       std::move(head_ctx.query), head_ctx.route, std::move(head_ctx.hold)};
    Response res = co_await Dispatch(req, ctx, match);
    if (host_.draining()) res.keep_alive(false);
    co_return co_await Answer(res, ctx.route, start, req.method() == http::verb::head);
  }

  // A head Beast could not parse (not a closed or silent peer, which get no
  // answer).
  static bool IsMalformed(const beast::error_code& ec) {
    return ec && ec.category() == http::make_error_code(http::error::bad_method).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message &&
           ec != http::error::need_more && ec != http::error::need_buffer;
  }

  net::awaitable<Response> Dispatch(const Request& req, RequestContext& ctx,
                                    const Router::Match& match) {
    if (match.route) {
      try {
        co_return co_await match.route->handler(ctx);
      } catch (const std::exception& e) {
        // A bug in a handler: the client gets a clear 500, the connection
        // closes, the server goes on.
        SBX_LOG_ERROR("bug: handler of {} {} threw: {}", std::string(req.method_string()),
                      ctx.path, e.what());
        Response res = ErrorResponse(req, http::status::internal_server_error, "internal",
                                     "internal error (logged)");
        res.keep_alive(false);
        co_return res;
      }
    }
    if (match.method_not_allowed) {
      ctx.route = "method_not_allowed";
      Response res = ErrorResponse(req, http::status::method_not_allowed, "method_not_allowed",
                                   fmt::format("{} is not allowed on {} (allowed: {})",
                                               std::string(req.method_string()), ctx.path,
                                               match.allow));
      res.set(http::field::allow, match.allow);  // RFC 9110 §15.5.6
      co_return res;
    }
    ctx.route = "fallback";
    if (router_.fallback()) co_return co_await router_.fallback()(ctx);
    co_return ErrorResponse(req, http::status::not_found, "not_found",
                            fmt::format("no route for {}", ctx.path));
  }

  // Writes `res` with the write deadline and counts it. False when the
  // connection must end (write failed, or not keep-alive).
  net::awaitable<bool> Answer(Response& res, std::string_view route, SteadyTime start, bool head) {
    host_.Count(route, res.result_int(),
                std::chrono::duration<double>(clock_.SteadyNow() - start).count());
    if (!res.has_content_length() && !res.chunked()) res.prepare_payload();
    if (head) res.body().clear();
    const bool keep_alive = res.keep_alive();
    SetDeadline(stream_, options_.write_timeout);
    state_.writing = true;
    state_.since = clock_.SteadyNow();
    const beast::error_code ec = co_await WriteComplete(stream_, res);
    state_.writing = false;
    co_return !ec && keep_alive;
  }

  // Answers a request that could not be read in full, then closes.
  net::awaitable<void> Reject(Parser& parser, http::status status, std::string_view code,
                              std::string message, std::string_view route = "rejected") {
    Response res = ErrorResponse(parser.get(), status, code, message);
    res.keep_alive(false);
    unread_ = true;
    host_.Count(route, res.result_int(), std::nullopt);
    SetDeadline(stream_, options_.write_timeout);
    (void)co_await WriteComplete(stream_, res);
  }

  net::awaitable<bool> TooLarge(Parser& parser, size_t limit) {
    co_await Reject(parser, http::status::payload_too_large, "payload_too_large",
                    fmt::format("request body is larger than {} bytes", limit));
    co_return false;
  }

  // Lingering close (RFC 9112 §9.6), after the FIN: what the client still
  // sends is read and dropped until it closes too or the linger timeout
  // passes, so that the answer is not lost to a reset. Nothing is kept, and
  // the connection counts as waiting: the server may close it to make room.
  net::awaitable<void> Linger() {
    state_.busy = false;
    state_.since = clock_.SteadyNow();
    buffer_.consume(buffer_.size());
    buffer_.shrink_to_fit();
    SetDeadline(stream_, options_.linger_timeout);  // for all the reads together
    std::array<char, 16 << 10> dropped;
    for (;;) {
      auto [ec, n] = co_await stream_.async_read_some(net::buffer(dropped), kNoThrow);
      if (ec) break;
    }
  }

  // A streaming route (SSE): the head, then the handler writes chunks. The
  // connection reads no more requests, so its read buffer is given back. A
  // HEAD gets the head alone: the handler (a stream, a viewer) never runs.
  net::awaitable<void> Stream() {
    std::unique_ptr<StreamRequest> r = std::move(stream_request_);
    buffer_.consume(buffer_.size());
    buffer_.shrink_to_fit();
    const bool sent = co_await WriteStreamHead(r->req, r->ctx.route);
    if (!sent || r->req.method() == http::verb::head) co_return;
    ChunkedWriter<S> writer(stream_, options_.stream_write_timeout, options_.stream_send_buffer,
                            /*chunked=*/r->req.version() >= 11);
    co_await r->route.stream(r->ctx, writer);
    writer.Close();
  }

  // In a frame of its own, which ends before the stream starts.
  net::awaitable<bool> WriteStreamHead(const Request& req, std::string_view route) {
    http::response<http::empty_body> head{http::status::ok, req.version()};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-store");
    head.set("X-Accel-Buffering", "no");
    if (req.version() >= 11) head.chunked(true);  // HTTP/1.0: the close ends the body
    head.keep_alive(false);
    http::response_serializer<http::empty_body> sr{head};
    SetDeadline(stream_, options_.write_timeout);
    auto [ec, n] = co_await http::async_write_header(stream_, sr, kNoThrow);
    ClearDeadline(stream_);
    host_.Count(route, 200, std::nullopt);  // a stream's duration is not a latency
    co_return !ec;
  }

  S& stream_;
  const Router& router_;
  Clock& clock_;
  const ServerOptions& options_;
  ConnectionHost& host_;
  ConnectionState& state_;
  beast::flat_buffer buffer_;
  std::unique_ptr<StreamRequest> stream_request_;  // set by ServeOne for Run
  bool unread_ = false;  // answered without reading the request in full: linger
};

}  // namespace sbx::http_server
