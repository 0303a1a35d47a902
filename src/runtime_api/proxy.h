// PreviewProxy forwards a request for "<port>-<sandboxId>.<domain>" to the
// sandbox's single port (buffered: whole request, whole response). Every port
// label reaches that one port: a local sandbox serves exactly one (its
// template's), on 127.0.0.1 inside its own network namespace, reached through
// a socket the SandboxConnector makes there. Without a connector (a provider
// whose sandboxes serve on the host, as in unit tests) it sends to
// 127.0.0.1:<the sandbox's port> through the HttpClient. A paused sandbox
// created with autoResume is woken first (Sandboxes::WakeForTraffic:
// concurrent requests make one resume), then the request is forwarded.
// Otherwise the answers are E2B's sandbox proxy's JSON: unknown sandbox 404,
// paused 409 ("canAutoResume": false). Not thread-safe: REQUIRES use from
// the one I/O thread.
#pragma once

#include <chrono>

#include "base/net.h"
#include "http/router.h"
#include "provider/local/sandbox_connector.h"
#include "runtime_api/http_client.h"
#include "runtime_api/sandboxes.h"
#include "runtime_api/wire.h"

namespace sbx::runtime_api {

struct PreviewProxyOptions {
  std::chrono::milliseconds timeout{30000};  // whole upstream exchange
};

class PreviewProxy {
 public:
  // `connector` may be null (see above); it must outlive the proxy.
  PreviewProxy(HttpClient& client, Sandboxes& sandboxes,
               provider::local::SandboxConnector* connector, PreviewProxyOptions options)
      : client_(client), sandboxes_(sandboxes), connector_(connector), options_(options) {}

  // The sandbox's answer (hop-by-hop headers removed), or 404 (sandbox
  // unknown), 409 (paused without autoResume), 503 + Retry-After (the
  // autoResume failed), 502 (its port refuses), 504 (no answer in time).
  net::awaitable<http_server::Response> Forward(const http_server::Request& request,
                                                const PreviewHost& host);
  // Forward's 404 for a sandbox that does not exist, told from the head
  // alone, so nobody's body is read for it; nullopt when it exists.
  std::optional<http_server::Response> RefuseUnknown(const http_server::Request& request,
                                                     const PreviewHost& host) const;

 private:
  // One exchange over a socket made in the sandbox's namespace.
  net::awaitable<Result<http_server::Response>> SendInNamespace(
      const std::string& sandbox_id, const http_server::Request& request);

  HttpClient& client_;
  Sandboxes& sandboxes_;
  provider::local::SandboxConnector* connector_;
  const PreviewProxyOptions options_;
};

}  // namespace sbx::runtime_api
