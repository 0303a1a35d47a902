// LoopbackUpstream reaches local sandboxes. Each lives in its own network
// namespace and serves on 127.0.0.1 there: the socket comes from the local
// provider's SandboxSocket (made inside the sandbox's namespace by a thread
// that enters it, ~0.1 ms, once per upstream connection; connections are
// kept between a client's requests), and every port of that 127.0.0.1 is
// the sandbox's own. Thread-safe (stateless).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "gateway/upstream.h"

namespace sbx::gateway {

struct LoopbackUpstreamOptions {
  std::chrono::milliseconds connect_timeout{5000};
  // An unconnected TCP/IPv4 socket in the sandbox's network namespace, owned
  // by the caller (SandboxConnector::SandboxSocket). kNotFound: no sandbox.
  std::function<Result<int>(const std::string& sandbox_id)> sandbox_socket;
};

class LoopbackUpstream final : public Upstream {
 public:
  explicit LoopbackUpstream(LoopbackUpstreamOptions options) : options_(std::move(options)) {}

  // Upstream
  net::awaitable<Result<std::unique_ptr<UpstreamConnection>>> Connect(
      const core::Sandbox& sandbox, uint16_t port) override;

 private:
  // An unconnected TCP socket from which the sandbox's 127.0.0.1 is reachable.
  Result<net::ip::tcp::socket> OpenSocket(const core::Sandbox& sandbox,
                                          net::any_io_executor executor) const;

  LoopbackUpstreamOptions options_;
};

}  // namespace sbx::gateway
