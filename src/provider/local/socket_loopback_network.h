// SocketLoopbackNetwork: LoopbackNetwork over blocking-style POSIX sockets
// with poll() timeouts measured on the injected Clock. Thread-safe; every call
// blocks for at most its timeout.
#pragma once

#include "base/clock.h"
#include "provider/local/loopback_network.h"

namespace sbx::provider::local {

class SocketLoopbackNetwork final : public LoopbackNetwork {
 public:
  explicit SocketLoopbackNetwork(Clock& clock) : clock_(clock) {}

  // LoopbackNetwork
  bool CanBind(uint16_t port) override;
  Result<HttpResponse> HttpGet(uint16_t port, const std::string& path,
                               std::chrono::milliseconds timeout) override;

 private:
  Clock& clock_;
};

}  // namespace sbx::provider::local
