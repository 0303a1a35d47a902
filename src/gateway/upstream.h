// Upstream: how the gateway reaches a port of a sandbox. app/ picks the
// implementation for the provider: LoopbackUpstream (local sandboxes) or
// E2bUpstream (E2B's sandbox hosts, or `sandboxd runtime`'s preview proxy).
// Connect may be awaited from the I/O thread; implementations never block it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <boost/beast/ssl/ssl_stream.hpp>

#include "base/net.h"
#include "base/status.h"
#include "core/sandbox.h"

namespace sbx::gateway {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// A connection to a sandbox's port: plain TCP, or TLS (E2B).
struct UpstreamConnection {
  std::variant<beast::tcp_stream, TlsStream> stream;
  // The Host header the sandbox's side expects, or nullopt to forward the
  // client's own (local sandboxes see the preview host).
  std::optional<std::string> host;
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  // Opens a connection to `port` of `sandbox` (which is RUNNING) on `executor`.
  // Errors: kNotFound (the sandbox has no such port), kUnavailable (refused,
  // unreachable, TLS or name failure), kDeadlineExceeded (no connection in
  // time). Nothing stays open on error.
  virtual net::awaitable<Result<std::unique_ptr<UpstreamConnection>>> Connect(
      const core::Sandbox& sandbox, uint16_t port) = 0;
};

// "<scheme>://<host>[:port]/…" -> host and port (the scheme's default when
// absent); nullopt for anything else. "https://49999-i1.e2b.app/" ->
// {"49999-i1.e2b.app", 443}.
struct UrlHostPort {
  std::string scheme;
  std::string host;
  uint16_t port = 0;
};
std::optional<UrlHostPort> ParseUrlHostPort(const std::string& url);

}  // namespace sbx::gateway
