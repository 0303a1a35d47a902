// The outbound HTTP seam of the E2B provider: E2bProvider builds HttpRequests
// and hands them to an HttpTransport; CurlTransport (curl_transport.h) sends
// them for real, FakeTransport (testing/fake_transport.h) answers from a
// script. Sleeper is the matching seam for backoff waits. Send and Sleep block
// the calling thread; implementations are thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sbx::provider::e2b {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // "GET", "POST", "DELETE", …
  std::string url;             // absolute: "https://api.e2b.app/sandboxes"
  HttpHeaders headers;         // sent as given, in order
  std::string body;            // sent only when non-empty
  // Deadline of the whole exchange (connect, send, receive), ms.
  std::chrono::milliseconds timeout{10'000};
};

struct HttpResponse {
  int status = 0;       // 200, 404, …
  HttpHeaders headers;  // as received, in order; names keep their case
  std::string body;

  // Value of the first header named `name` (compared case-insensitively), or
  // nullopt when absent.
  std::optional<std::string> Header(std::string_view name) const;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Performs one exchange, without retries or redirects. Any HTTP status,
  // including 4xx/5xx, is a successful Result. Errors: kDeadlineExceeded when
  // `request.timeout` passed first; kUnavailable when the server could not be
  // reached or the exchange broke (refused, reset, DNS, TLS, oversized body);
  // kInvalidArgument for a request that can never be sent (bad URL). Messages
  // carry the transport's own error text.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace sbx::provider::e2b
