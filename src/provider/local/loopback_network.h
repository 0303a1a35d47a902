// LoopbackNetwork is what LocalProvider needs of the host's 127.0.0.1: whether
// a port is free to hand to a new sandbox, and a tiny HTTP GET for readiness
// probes. SocketLoopbackNetwork (socket_loopback_network.h) uses real sockets;
// tests use FakeLoopbackNetwork (provider/local/testing/). Implementations are
// thread-safe; calls block (at most their timeout), so run them on a
// BlockingPool.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace sbx::provider::local {

struct HttpResponse {
  int status = 0;    // e.g. 200
  std::string body;  // at most 1 MiB
};

class LoopbackNetwork {
 public:
  virtual ~LoopbackNetwork() = default;

  // True when a TCP listener could bind 127.0.0.1:<port> right now.
  virtual bool CanBind(uint16_t port) = 0;

  // GET http://127.0.0.1:<port><path> (Connection: close) and returns the
  // status and body. kUnavailable: refused, reset or not HTTP.
  // kDeadlineExceeded: no complete answer within `timeout`.
  virtual Result<HttpResponse> HttpGet(uint16_t port, const std::string& path,
                                       std::chrono::milliseconds timeout) = 0;
};

}  // namespace sbx::provider::local
