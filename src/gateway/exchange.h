// Exchange relays one HTTP request/response between a client connection and
// a sandbox connection without holding whole bodies: Beast parsers with
// buffer_body feed serializers piece by piece (Beast's http relay example),
// so chunked bodies, server-sent events, long downloads and uploads stream
// through a fixed buffer. A 101 answer to an upgrade request turns the pair
// into a byte tunnel (WebSocket) until either side closes or both are idle.
// Private to the gateway. REQUIRES: the I/O thread that owns both streams.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "base/clock.h"
#include "base/net.h"
#include "gateway/upstream.h"

namespace sbx::gateway {

struct ExchangeOptions {
  std::chrono::seconds upstream_timeout{120};   // for each write to / read from the sandbox
  std::chrono::seconds client_timeout{60};      // for each body read from / write to the client
  std::chrono::seconds tunnel_idle_timeout{300};  // a tunnel with no bytes either way closes
  size_t max_response_header_bytes = 64 << 10;  // larger sandbox headers: 502
  size_t relay_buffer_bytes = 16 << 10;         // body relay buffer, per exchange
};

// Told about traffic as it passes, for activity and metrics.
class ExchangeObserver {
 public:
  virtual ~ExchangeObserver() = default;
  virtual void Traffic() = 0;  // a piece of a body, or tunnel bytes, went through
  virtual void TunnelOpened() = 0;
  virtual void TunnelClosed() = 0;
  // While the client's body is relayed (only for a request with one): the
  // client sets the pace, so the gateway may close the connection to make
  // room (Gateway::MakeRoom) as it does an idle one.
  virtual void ReadingBody(bool reading) = 0;
};

enum class ExchangeOutcome {
  kDone,        // the response was relayed completely
  kTunnelled,   // a 101 was relayed and the tunnel has ended
  kTooLarge,    // the request body passed the parser's limit; nothing sent to the client
  kNoResponse,  // the sandbox side failed before any response byte reached the client
  kBroken,      // a side failed midway; the client connection must close
};

struct ExchangeResult {
  ExchangeOutcome outcome = ExchangeOutcome::kDone;
  int status = 0;               // the sandbox's status code, once known
  bool keep_client = false;     // the client connection may serve another request
  bool keep_upstream = false;   // the sandbox connection may serve another request
  bool request_started = false;  // request bytes were written to the sandbox side
  bool timed_out = false;       // kNoResponse: the sandbox did not answer in time
  std::string error;
};

// The client's request, header read and rewritten for the sandbox
// (PrepareUpstreamRequest); its body, if any, still to be read.
struct ExchangeRequest {
  http::request_parser<http::buffer_body>& parser;
  bool expect_continue = false;  // answer "100 Continue" before reading the body
  bool upgrade = false;          // a WebSocket handshake
  bool client_keep_alive = true;  // the client may keep the connection
  unsigned client_version = 11;
  bool head = false;
};

// Instantiated for beast::tcp_stream and TlsStream.
template <class Up>
net::awaitable<ExchangeResult> Exchange(Clock& clock, beast::tcp_stream& client,
                                        beast::flat_buffer& client_buffer, ExchangeRequest& request,
                                        Up& upstream, beast::flat_buffer& upstream_buffer,
                                        const ExchangeOptions& options, ExchangeObserver& observer);

}  // namespace sbx::gateway
