// HttpClient: the runtime's outbound plain HTTP/1.1: webhook deliveries and
// preview-host proxying to sandboxes on 127.0.0.1. BeastHttpClient uses a new
// Beast connection per request (closed afterwards); tests use FakeHttpClient
// (runtime_api/testing/). Calls never block the I/O thread; a client is used
// from the executor it was made for.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "base/net.h"
#include "base/status.h"
#include "http/router.h"

namespace sbx::runtime_api {

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends `request` as is (target, method, headers, body) to host:port and
  // returns the complete response, whatever its status. `host` is an IP
  // address (kInvalidArgument otherwise: names are resolved first, through
  // Resolver). kUnavailable: connect or transport failure (refused, reset); kDeadlineExceeded:
  // no complete response within `timeout`; kResourceExhausted: response body
  // larger than the client's limit. REQUIRES: the references stay valid until
  // the returned awaitable completes.
  virtual net::awaitable<Result<http_server::Response>> Send(const std::string& host, uint16_t port,
                                                             const http_server::Request& request,
                                                             std::chrono::milliseconds timeout) = 0;
};

// Reads the final answer to a request written on `stream`: interim 1xx
// answers (100 Continue, 103 Early Hints) are read and dropped, a 101 is
// final. `head`: the request was HEAD (no body follows). On failure the
// error (http::error::body_limit beyond `body_limit` bytes of body) and an
// empty response. Shared by BeastHttpClient and the preview proxy.
net::awaitable<std::pair<beast::error_code, http_server::Response>> ReadFinalResponse(
    beast::tcp_stream& stream, bool head, size_t body_limit);

struct BeastHttpClientOptions {
  size_t max_response_body_bytes = 8 << 20;  // larger answers are kResourceExhausted
};

class BeastHttpClient final : public HttpClient {
 public:
  explicit BeastHttpClient(BeastHttpClientOptions options = {}) : options_(options) {}

  // HttpClient
  net::awaitable<Result<http_server::Response>> Send(const std::string& host, uint16_t port,
                                                     const http_server::Request& request,
                                                     std::chrono::milliseconds timeout) override;

 private:
  BeastHttpClientOptions options_;
};

}  // namespace sbx::runtime_api
