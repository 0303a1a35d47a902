// ServerOptions: the limits and deadlines of the HTTP server (http/server.h).
// Every limit is documented in docs/operations.md. Plain data.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace sbx::http_server {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";            // host:port; port 0 = any free port
  size_t max_body_bytes = 1 << 20;                  // larger bodies get 413
  size_t max_header_bytes = 16 << 10;               // larger heads get 431
  std::chrono::milliseconds idle_timeout{60000};           // keep-alive wait for the next request
  std::chrono::milliseconds header_timeout{10000};         // a request head must arrive within this
  std::chrono::milliseconds body_timeout{60000};           // a request body must arrive within this
  std::chrono::milliseconds write_timeout{30000};          // a response must be taken within this
  std::chrono::milliseconds stream_write_timeout{30000};   // SSE: drop a client that stops reading
  // Lingering close: after answering a request whose body it did not read
  // (a guard's refusal, 413, 431, 400), the server reads and drops what the
  // client still sends for up to this long before closing. Closing with
  // unread bytes sends a reset, and a client still sending its body would
  // get the reset instead of the answer.
  std::chrono::milliseconds linger_timeout{5000};
  // SSE: the kernel's send buffer of a stream's socket. Bounded, so that a
  // client that stops reading blocks the stream's writes (and meets the
  // deadline above) after this much instead of after the autotuned maximum
  // (4 MiB per socket by default).
  int stream_send_buffer = 64 << 10;
  size_t max_connections = 16384;                   // open connections; see Server
  std::string metrics_prefix = "sandboxd";          // <prefix>_http_requests_total, …
};

}  // namespace sbx::http_server
