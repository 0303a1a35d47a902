#include "http/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "base/log.h"

namespace sbx::http_server {

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

Result<std::unique_ptr<net::ip::tcp::acceptor>> Listen(net::io_context& io,
                                                        const std::string& listen) {
  SBX_ASSIGN_OR_RETURN(auto endpoint, ParseListen(listen));
  auto acceptor = std::make_unique<net::ip::tcp::acceptor>(io);
  beast::error_code ec;
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable(fmt::format("listen on {}: {}", listen, ec.message()));
  return acceptor;
}

Result<std::string> Server::Start() {
  SBX_ASSIGN_OR_RETURN(acceptor_, Listen(io_, options_.listen));
  beast::error_code ec;
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
      if (!c.state.busy) c.stream->socket().cancel(ec);
    }
  });
}

net::awaitable<void> Server::Accept() {
  using namespace std::chrono_literals;
  auto backoff = 10ms;
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(kNoThrow);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_->is_open()) co_return;
      // Out of descriptors (or another transient error): back off instead of
      // spinning, and say so once per episode, not once per attempt.
      metrics_.Inc(options_.metrics_prefix + "_http_accept_errors_total", {}, 1,
                   "Failed accepts (e.g. out of file descriptors); the server backs off");
      if (backoff == 10ms) SBX_LOG_WARN("accept: {} (backing off)", ec.message());
      (void)co_await clock_.SleepFor(backoff);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1s);
      continue;
    }
    backoff = 10ms;
    if (connections_.size() >= options_.max_connections && !MakeRoom()) {
      metrics_.Inc(options_.metrics_prefix + "_http_connections_rejected_total", {}, 1,
                   "Connections closed at once: the connection limit was reached and every "
                   "open connection was busy");
      beast::error_code ignored;
      socket.close(ignored);
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

size_t Server::busy_connections() const {
  size_t n = 0;
  for (const auto& [id, c] : connections_) n += c.state.busy ? 1 : 0;
  return n;
}

bool Server::MakeRoom() {
  // Candidates: waiting for a request, sending a body, or not reading an
  // answer whose write has stalled; the one waiting longest goes.
  const SteadyTime now = clock_.SteadyNow();
  Open* oldest = nullptr;
  for (auto& [id, c] : connections_) {
    const bool stalled_write = c.state.writing && now - c.state.since >= kStalledWrite;
    if (c.state.busy && !c.state.reading_body && !stalled_write) continue;
    if (!oldest || c.state.since < oldest->state.since) oldest = &c;
  }
  if (!oldest) return false;
  metrics_.Inc(options_.metrics_prefix + "_http_connections_evicted_total", {}, 1,
               "Waiting connections closed to make room at the connection limit");
  beast::error_code ec;
  oldest->stream->socket().cancel(ec);
  oldest->state.busy = true;  // closing: not a candidate again
  oldest->state.reading_body = false;
  oldest->state.writing = false;
  return true;
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
  const uint64_t id = next_connection_id_++;
  Open& open = connections_[id];
  open.stream = &stream;
  Connection<beast::tcp_stream> connection(stream, router_, clock_, options_, *this, open.state);
  try {
    co_await connection.Run();
  } catch (...) {
    // A throwing stream handler (a bug, logged by Accept's completion): the
    // table must not keep a pointer to this frame's stream.
    connections_.erase(id);
    throw;
  }
  connections_.erase(id);
}

}  // namespace sbx::http_server
