// Server: the HTTP/1.1 listener of sandboxd (Boost.Beast over Asio
// coroutines). One coroutine per connection reads requests with limits
// (body size, header size, idle timeout), routes them, writes responses, and
// counts every request in Metrics by route template and status code.
// Start() binds and returns the bound endpoint (port 0 picks a free one).
// Shutdown has two phases: BeginShutdown() stops accepting, closes idle
// keep-alive connections and lets each request in progress finish (its
// connection then closes); open_connections() says when all are gone.
// Runs on the io_context it is given; Stop()/BeginShutdown() are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/net.h"
#include "base/status.h"
#include "http/router.h"

namespace sbx::http_server {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";        // host:port; port 0 = any free port
  size_t max_body_bytes = 1 << 20;              // larger bodies get 413
  size_t max_header_bytes = 16 << 10;           // larger heads get 431
  std::chrono::seconds idle_timeout{60};        // keep-alive connection idle limit
  std::chrono::seconds stream_write_timeout{30};  // SSE: drop a client that stops reading
  std::string metrics_prefix = "sandboxd";      // metric names: <prefix>_http_requests_total
};

class Server {
 public:
  Server(net::io_context& io, Clock& clock, Metrics& metrics, Router& router,
         ServerOptions options);
  // Binds and starts accepting. Returns the bound endpoint ("127.0.0.1:41234").
  Result<std::string> Start();
  // Stops accepting (connections in progress continue).
  void Stop();
  // Stops accepting, closes idle connections now and every other one once
  // its request is answered. Streams (SSE) end when their handler returns.
  void BeginShutdown();
  // Connections still open. REQUIRES: called on the I/O thread.
  size_t open_connections() const { return connections_.size(); }

 private:
  net::awaitable<void> Accept();
  net::awaitable<void> Session(net::ip::tcp::socket socket);
  net::awaitable<Response> Dispatch(Request& req, RequestContext& ctx, bool& streamed,
                                    beast::tcp_stream& stream);
  // Counts one request of `route` answered with `code`, and its latency.
  void Count(std::string_view route, int code, std::optional<double> seconds);

  // A route's metric series, made on first use; requests update them through
  // handles instead of building label maps.
  struct RouteSeries {
    std::optional<Metrics::HistogramHandle> latency;
    std::vector<std::pair<int, Metrics::CounterHandle>> by_code;  // a few codes per route
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // A connection the server may close at shutdown: idle between requests,
  // or busy answering one.
  struct Connection {
    beast::tcp_stream* stream = nullptr;
    bool busy = false;
  };

  net::io_context& io_;
  Clock& clock_;
  Metrics& metrics_;
  Router& router_;
  ServerOptions options_;
  std::unique_ptr<net::ip::tcp::acceptor> acceptor_;
  // Open connections by id; I/O thread only.
  std::unordered_map<uint64_t, Connection> connections_;
  uint64_t next_connection_id_ = 0;
  bool draining_ = false;
  std::mutex series_mu_;
  std::unordered_map<std::string, RouteSeries, StringHash, std::equal_to<>> series_;  // by route
};

// Splits "host:port"; kInvalidArgument when malformed.
Result<net::ip::tcp::endpoint> ParseListen(const std::string& listen);

}  // namespace sbx::http_server
