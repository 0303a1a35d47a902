// PreviewProxy forwards a request for "<port>-<sandboxId>.<domain>" to the
// sandbox's single port on 127.0.0.1 (buffered: whole request, whole
// response). Every port label reaches that one port: a local sandbox serves
// exactly one (its template's). Unknown or paused sandboxes answer 502 with an
// E2B-style JSON body, like E2B's sandbox proxy. Not thread-safe: REQUIRES use
// from the one I/O thread.
#pragma once

#include <chrono>

#include "base/net.h"
#include "http/router.h"
#include "runtime_api/http_client.h"
#include "runtime_api/sandboxes.h"
#include "runtime_api/wire.h"

namespace sbx::runtime_api {

struct PreviewProxyOptions {
  std::chrono::milliseconds timeout{30000};  // whole upstream exchange
};

class PreviewProxy {
 public:
  PreviewProxy(HttpClient& client, const Sandboxes& sandboxes, PreviewProxyOptions options)
      : client_(client), sandboxes_(sandboxes), options_(options) {}

  // The sandbox's answer (hop-by-hop headers removed), or 502 (sandbox
  // unknown, paused, or its port refuses), 504 (no answer in time).
  net::awaitable<http_server::Response> Forward(const http_server::Request& request,
                                                const PreviewHost& host);

 private:
  HttpClient& client_;
  const Sandboxes& sandboxes_;
  const PreviewProxyOptions options_;
};

}  // namespace sbx::runtime_api
