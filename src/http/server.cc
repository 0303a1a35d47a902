#include "http/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "base/log.h"

namespace sbx::http_server {
namespace {

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

// Streams a chunked body over the connection (SSE).
class ChunkedWriter final : public StreamWriter {
 public:
  ChunkedWriter(beast::tcp_stream& stream, std::chrono::seconds write_timeout)
      : stream_(stream), write_timeout_(write_timeout) {}

  net::awaitable<bool> Write(std::string data) override {
    if (closed_) co_return false;
    // A client that does not take the bytes within the deadline is dropped:
    // a slow reader never makes the server buffer without bound.
    stream_.expires_after(write_timeout_);
    auto [ec, n] = co_await net::async_write(
        stream_, http::make_chunk(net::buffer(data)), kNoThrow);
    stream_.expires_never();
    if (ec) {
      closed_ = true;
      co_return false;
    }
    co_return true;
  }

  net::awaitable<void> WaitClosed() override {
    // Clients send nothing after the request; any read completion (EOF,
    // reset, or stray bytes) ends the stream.
    char buf[256];
    for (;;) {
      auto [ec, n] = co_await stream_.socket().async_read_some(net::buffer(buf), kNoThrow);
      if (ec || closed_) break;
    }
    closed_ = true;
  }

  void Close() override {
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  beast::tcp_stream& stream_;
  std::chrono::seconds write_timeout_;
  bool closed_ = false;
};

// Writes a complete response (Content-Length set) with one gather write: the
// head serialized here, the body as it is. Beast's serializer walks a nested
// buffer view on every write, which measured as the largest user-space cost
// of a status read; for a finished message the bytes are simply the status
// line, the fields in order, a blank line and the body.
net::awaitable<beast::error_code> WriteComplete(beast::tcp_stream& stream, Response& res) {
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

}  // namespace

Result<net::ip::tcp::endpoint> ParseListen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument(fmt::format("listen address \"{}\" must be host:port", listen));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return InvalidArgument(fmt::format("listen address \"{}\": bad port", listen));
  }
  beast::error_code ec;
  auto addr = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    return InvalidArgument(fmt::format("listen address \"{}\": bad host ({})", listen, ec.message()));
  }
  return net::ip::tcp::endpoint(addr, static_cast<uint16_t>(port));
}

Server::Server(net::io_context& io, Clock& clock, Metrics& metrics, Router& router,
               ServerOptions options)
    : io_(io), clock_(clock), metrics_(metrics), router_(router), options_(std::move(options)) {}

Result<std::string> Server::Start() {
  SBX_ASSIGN_OR_RETURN(auto endpoint, ParseListen(options_.listen));
  acceptor_ = std::make_unique<net::ip::tcp::acceptor>(io_);
  beast::error_code ec;
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable(fmt::format("listen on {}: {}", options_.listen, ec.message()));
  auto bound = acceptor_->local_endpoint(ec);
  net::co_spawn(io_, Accept(), [](std::exception_ptr e) {
    if (e) {
      SBX_LOG_ERROR("accept loop died with an exception");
      std::abort();
    }
  });
  return fmt::format("{}:{}", bound.address().to_string(), bound.port());
}

void Server::Stop() {
  net::post(io_, [this] {
    beast::error_code ec;
    if (acceptor_) acceptor_->close(ec);
  });
}

void Server::BeginShutdown() {
  net::post(io_, [this] {
    beast::error_code ec;
    if (acceptor_) acceptor_->close(ec);
    draining_ = true;
    // An idle connection waits for a request that should not come: end its
    // read now. A busy one closes after its response (see Session).
    for (auto& [id, c] : connections_) {
      if (!c.busy) c.stream->socket().cancel(ec);
    }
  });
}

net::awaitable<void> Server::Accept() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(kNoThrow);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_->is_open()) co_return;
      SBX_LOG_WARN("accept: {}", ec.message());
      continue;
    }
    socket.set_option(net::ip::tcp::no_delay(true), ec);
    auto ex = socket.get_executor();
    net::co_spawn(ex, Session(std::move(socket)), [](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex2) {
          SBX_LOG_ERROR("bug: connection handler threw: {}", ex2.what());
        } catch (...) {
          SBX_LOG_ERROR("bug: connection handler threw");
        }
      }
    });
  }
}

net::awaitable<Response> Server::Dispatch(Request& req, RequestContext& ctx, bool& streamed,
                                          beast::tcp_stream& stream) {
  auto match = router_.Find(req.method(), ctx);
  if (!match.route) {
    if (match.method_not_allowed) {
      ctx.route = "method_not_allowed";
      co_return ErrorResponse(req, http::status::method_not_allowed, "method_not_allowed",
                              fmt::format("{} is not allowed on {}",
                                          std::string(req.method_string()), ctx.path));
    }
    ctx.route = "fallback";
    if (router_.fallback()) co_return co_await router_.fallback()(ctx);
    co_return ErrorResponse(req, http::status::not_found, "not_found",
                            fmt::format("no route for {}", ctx.path));
  }
  if (match.route->stream) {
    if (match.route->gate) {
      auto refusal = co_await match.route->gate(ctx);
      if (refusal) co_return std::move(*refusal);
    }
    http::response<http::empty_body> head{http::status::ok, req.version()};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-store");
    head.set("X-Accel-Buffering", "no");
    head.chunked(true);
    head.keep_alive(false);
    http::response_serializer<http::empty_body> sr{head};
    stream.expires_never();
    auto [ec, n] = co_await http::async_write_header(stream, sr, kNoThrow);
    streamed = true;
    if (!ec) {
      ChunkedWriter writer(stream, options_.stream_write_timeout);
      co_await match.route->stream(ctx, writer);
      writer.Close();
    }
    co_return Response{};
  }
  co_return co_await match.route->handler(ctx);
}

void Server::Count(std::string_view route, int code, std::optional<double> seconds) {
  std::lock_guard lock(series_mu_);
  auto it = series_.find(route);
  if (it == series_.end()) it = series_.emplace(std::string(route), RouteSeries{}).first;
  RouteSeries& series = it->second;
  auto counter = std::find_if(series.by_code.begin(), series.by_code.end(),
                              [code](const auto& c) { return c.first == code; });
  if (counter == series.by_code.end()) {
    series.by_code.emplace_back(
        code, metrics_.Counter(options_.metrics_prefix + "_http_requests_total",
                               {{"route", std::string(route)}, {"code", std::to_string(code)}},
                               "HTTP requests by route template and status code"));
    counter = std::prev(series.by_code.end());
  }
  counter->second.Inc();
  if (!seconds) return;
  if (!series.latency) {
    series.latency = metrics_.HistogramSeries(
        options_.metrics_prefix + "_http_request_duration_seconds", {{"route", std::string(route)}},
        "HTTP request latency by route template");
  }
  series.latency->Observe(*seconds);
}

net::awaitable<void> Server::Session(net::ip::tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const uint64_t id = next_connection_id_++;
  Connection& conn = connections_[id];
  conn.stream = &stream;
  for (;;) {
    conn.busy = false;
    if (draining_) break;
    stream.expires_after(options_.idle_timeout);
    http::request_parser<http::string_body> parser;
    parser.body_limit(options_.max_body_bytes);
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (ec == http::error::end_of_stream) break;
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      Request req = parser.get();
      const bool body = ec == http::error::body_limit;
      Response res = ErrorResponse(
          req, body ? http::status::payload_too_large : http::status::request_header_fields_too_large,
          body ? "payload_too_large" : "header_too_large",
          body ? fmt::format("request body is larger than {} bytes", options_.max_body_bytes)
               : fmt::format("request header is larger than {} bytes", options_.max_header_bytes));
      res.keep_alive(false);
      Count("rejected", res.result_int(), std::nullopt);
      (void)co_await http::async_write(stream, res, kNoThrow);
      break;
    }
    if (ec) {
      if (ec != beast::error::timeout && ec != net::error::operation_aborted &&
          ec != net::error::connection_reset && ec != net::error::eof) {
        SBX_LOG_DEBUG("read: {}", ec.message());
      }
      break;
    }
    conn.busy = true;
    Request req = parser.release();
    const SteadyTime start = clock_.SteadyNow();
    RequestContext ctx{req, {}, {}, {}, {}};
    bool streamed = false;
    Response res;
    if (!ParseTarget(req.target(), ctx.path, ctx.query)) {
      ctx.route = "bad_target";
      res = ErrorResponse(req, http::status::bad_request, "invalid_argument",
                          "malformed request target");
    } else {
      res = co_await Dispatch(req, ctx, streamed, stream);
    }
    if (streamed) {
      Count(ctx.route, 200, std::nullopt);  // a stream's duration is not a latency
      break;
    }
    Count(ctx.route, res.result_int(),
          std::chrono::duration<double>(clock_.SteadyNow() - start).count());
    if (!res.has_content_length() && !res.chunked()) res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    if (draining_) res.keep_alive(false);
    const bool keep_alive = res.keep_alive();
    const beast::error_code write_ec = co_await WriteComplete(stream, res);
    if (write_ec || !keep_alive) break;
  }
  connections_.erase(id);
  beast::error_code ec;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace sbx::http_server
