// Server: the HTTP/1.1 listener of sandboxd and of `sandboxd runtime`
// (Boost.Beast over Asio coroutines). Each connection is a Connection
// (connection.h): idle, header, body and write deadlines, body and head
// limits, guards run before a body is read, and every request counted in
// Metrics by route template and status code.
// Under abuse: at most max_connections are open; when a new one arrives at
// the limit, the connection that has waited longest for a request is closed
// to make room (or, if every connection is busy, the new one is). Accept
// errors (out of descriptors) back off instead of spinning, and are logged
// once per episode.
// Start() binds and returns the bound endpoint (port 0 picks a free one).
// Shutdown has two phases: BeginShutdown() stops accepting, closes waiting
// keep-alive connections and lets each request in progress finish (its
// connection then closes); open_connections() says when all are gone.
// Runs on the io_context it is given; Stop()/BeginShutdown() are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
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
#include "http/connection.h"
#include "http/router.h"
#include "http/server_options.h"

namespace sbx::http_server {

class Server final : public ConnectionHost {
 public:
  Server(net::io_context& io, Clock& clock, Metrics& metrics, Router& router,
         ServerOptions options);
  // Binds and starts accepting. Returns the bound endpoint ("127.0.0.1:41234").
  Result<std::string> Start();
  // Stops accepting (connections in progress continue).
  void Stop();
  // Stops accepting, closes waiting connections now and every other one once
  // its request is answered. Streams (SSE) end when their handler returns.
  void BeginShutdown();
  // Connections still open. REQUIRES: called on the I/O thread.
  size_t open_connections() const { return connections_.size(); }
  // Connections answering a request (not waiting for one). I/O thread only.
  size_t busy_connections() const;

  // ConnectionHost
  bool draining() const override { return draining_; }
  void Count(std::string_view route, int code, std::optional<double> seconds) override;

 private:
  // An open connection: its stream (to close it) and what it is doing.
  struct Open {
    beast::tcp_stream* stream = nullptr;
    ConnectionState state;
  };

  net::awaitable<void> Accept();
  net::awaitable<void> Session(net::ip::tcp::socket socket);
  // At the limit: closes the connection that has waited longest for a
  // request. False when every connection is busy.
  bool MakeRoom();

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

  net::io_context& io_;
  Clock& clock_;
  Metrics& metrics_;
  Router& router_;
  ServerOptions options_;
  std::unique_ptr<net::ip::tcp::acceptor> acceptor_;
  // Open connections by id; I/O thread only.
  std::unordered_map<uint64_t, Open> connections_;
  uint64_t next_connection_id_ = 0;
  bool draining_ = false;
  std::mutex series_mu_;
  std::unordered_map<std::string, RouteSeries, StringHash, std::equal_to<>> series_;  // by route
};

// Splits "host:port"; kInvalidArgument when malformed.
Result<net::ip::tcp::endpoint> ParseListen(const std::string& listen);
// An acceptor bound to `listen` ("host:port"; port 0 picks one) and
// listening, with SO_REUSEADDR: what Server and the preview gateway accept
// on. kInvalidArgument for a malformed address, kUnavailable when it cannot
// be bound.
Result<std::unique_ptr<net::ip::tcp::acceptor>> Listen(net::io_context& io,
                                                        const std::string& listen);

}  // namespace sbx::http_server
