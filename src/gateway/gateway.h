// Gateway: the preview front door of `sandboxd serve`. It listens on its own
// address and origin (--preview-listen; never the dashboard's) for hosts
// "<port>-<sandboxId>.<preview domain>" and, per request:
//   RUNNING            forward, streaming both ways (bodies, SSE, WebSocket)
//   PAUSED/PAUSING/STARTING  wake (coalesced) and hold until RUNNING, then
//                      forward; a browser page load gets the waking page at
//                      once; past --preview-wake-timeout 503 + Retry-After
//   KILLED 410, unknown sandbox 404, malformed Host 400, body over limit 413
// Forwarded traffic and open WebSockets are activity (PreviewActivity).
// With require_token, requests need the sandbox's traffic token (header
// e2b-traffic-access-token or the sandboxd_preview_token cookie, which a
// ?sandboxd_preview_token=… query sets).
// Metrics: sandboxd_preview_requests_total{outcome}, sandboxd_preview_websockets,
// sandboxd_preview_held_requests, sandboxd_preview_connections,
// sandboxd_preview_wakes_total, sandboxd_preview_hold_seconds{outcome},
// sandboxd_preview_deadline_total.
// Shutdown has two phases like http::Server: BeginShutdown() stops accepting,
// answers held requests 503, closes idle connections and tunnels, and lets
// exchanges in progress finish; busy() says when all is done.
// REQUIRES: Start, BeginShutdown and the accessors on the I/O thread of `io`.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/net.h"
#include "base/status.h"
#include "gateway/activity.h"
#include "gateway/exchange.h"
#include "gateway/pages.h"
#include "gateway/preview_host.h"
#include "gateway/traffic_token.h"
#include "gateway/upstream.h"
#include "gateway/wake_holder.h"
#include "lifecycle/event_bus.h"
#include "lifecycle/lifecycle.h"

namespace sbx::gateway {

struct GatewayOptions {
  std::string listen = "127.0.0.1:8081";            // host:port; port 0 = any free port
  // Previews are <port>-<id>.<domain>; unset: "localhost:<bound port>"
  // (*.localhost reaches loopback in browsers).
  std::optional<PreviewDomain> domain;
  std::chrono::seconds wake_timeout{30};            // longest hold before 503
  std::chrono::seconds retry_after{2};              // Retry-After of 503s, seconds
  bool require_token = false;                       // --preview-auth token
  uint64_t max_request_body_bytes = 64ull << 20;    // larger uploads get 413
  size_t max_request_header_bytes = 32 << 10;       // larger heads get 431
  std::chrono::seconds idle_timeout{60};            // keep-alive client connection idle limit
  // From a request's first byte to the end of its head (a byte-a-second
  // client is cut off however patient).
  std::chrono::seconds header_timeout{10};
  // At the cap, the connection that has waited longest for a request head
  // is closed to make room; with none waiting, the new one is.
  size_t max_connections = 10000;
  ExchangeOptions exchange;                         // streaming timeouts and buffers
  ActivityOptions activity;                         // coalescing window
};

class Gateway {
 public:
  // `tokens` may be null unless options.require_token.
  Gateway(net::io_context& io, Clock& clock, lifecycle::Lifecycle& lifecycle,
          lifecycle::EventBus& bus, Metrics& metrics, Upstream& upstream,
          const TrafficTokens* tokens, GatewayOptions options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds and starts accepting. Returns the bound endpoint ("127.0.0.1:8081").
  Result<std::string> Start();
  // The preview domain in use (set once Start succeeded).
  const PreviewDomain& domain() const { return domain_; }
  // Phase one of shutdown (see the header comment). Thread-safe (posts).
  void BeginShutdown();
  // Connections still open, or activity still to be written.
  bool busy() const { return !connections_.empty() || !activity_.idle(); }
  size_t open_connections() const { return connections_.size(); }

 private:
  struct Connection;
  struct UpstreamSlot;
  class RequestObserver;
  net::awaitable<void> Accept();
  net::awaitable<void> Session(net::ip::tcp::socket socket);
  // What the gateway needs of a request before rewriting it.
  struct RequestFacts {
    unsigned version = 11;
    bool html = false;        // a browser page load
    bool head = false;
    bool upgrade = false;     // a WebSocket handshake
    bool keep_alive = true;   // the client's wish, and not draining
  };
  // Answers or forwards one request whose head is read; returns whether the
  // client connection may serve another.
  net::awaitable<bool> Handle(Connection& conn, http::request_parser<http::buffer_body>& parser);
  // What a held request comes to: the RUNNING record to forward to, or the
  // answer to give (kind set), or neither (the client went away).
  struct HoldVerdict {
    std::optional<core::Sandbox> running;
    std::optional<AnswerKind> kind;
    std::string message;
    std::string outcome;  // for sandboxd_preview_requests_total
  };
  // Holds a request for a sandbox that is not RUNNING (see the header comment).
  net::awaitable<HoldVerdict> Hold(Connection& conn, const RequestFacts& facts,
                                   const core::Sandbox& sandbox);
  // The record of `sandbox_id` (kept on the connection), or null if unknown.
  const core::Sandbox* Lookup(Connection& conn, const std::string& sandbox_id);
  // Forwards to the RUNNING `sandbox`; returns whether to keep the client.
  net::awaitable<bool> Forward(Connection& conn, http::request_parser<http::buffer_body>& parser,
                               const RequestFacts& facts, const core::Sandbox& sandbox,
                               uint16_t port);
  // Writes one of the gateway's own answers; returns whether to keep the
  // client (never when a request body is left unread).
  net::awaitable<bool> Answer(Connection& conn, const http::request_parser<http::buffer_body>& parser,
                              const RequestFacts& facts, AnswerKind kind, const AnswerInfo& info);
  // The cookie-setting redirect for ?sandboxd_preview_token=…, if the query
  // carries a valid token.
  std::optional<http::response<http::string_body>> TokenRedirect(
      const http::request<http::buffer_body>& req, const std::string& sandbox_id) const;
  // Waits until the client closes its side (true), for a held request.
  net::awaitable<bool> ClientGone(beast::tcp_stream& client);
  void Count(std::string_view outcome);

  net::io_context& io_;
  Clock& clock_;
  lifecycle::Lifecycle& lifecycle_;
  Metrics& metrics_;
  Upstream& upstream_;
  const TrafficTokens* tokens_;
  GatewayOptions options_;
  PreviewDomain domain_;
  PreviewActivity activity_;
  WakeHolder holder_;
  std::unique_ptr<net::ip::tcp::acceptor> acceptor_;
  std::unordered_map<uint64_t, Connection*> connections_;  // I/O thread only
  size_t evicting_ = 0;  // of connections_, those closed to make room and not yet gone
  // Closes the connection that has waited longest for a request head; false
  // when every connection is busy. I/O thread.
  bool MakeRoom();
  uint64_t next_connection_id_ = 0;
  bool draining_ = false;
  std::atomic<int64_t> websockets_{0};
  std::atomic<int64_t> connection_count_{0};
  std::atomic<int64_t> held_{0};
  std::unordered_map<std::string, Metrics::CounterHandle> outcomes_;  // I/O thread only
  Metrics::CounterHandle forwarded_;  // the hot outcome, without a lookup
};

}  // namespace sbx::gateway
