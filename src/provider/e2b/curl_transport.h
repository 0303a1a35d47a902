// The real outbound HTTP of the E2B provider: CurlTransport sends each request
// over libcurl (one easy handle per call, so calls from several threads never
// share state). app/ creates one CurlGlobal first, then the transport, and
// hands it to E2bProvider. Thread-safe; every call blocks the calling thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "base/status.h"
#include "provider/e2b/transport.h"

namespace sbx::provider::e2b {

// Owns libcurl's process-wide state: curl_global_init on creation,
// curl_global_cleanup on destruction. Create exactly one, before any thread
// uses a CurlTransport, and keep it alive until every CurlTransport is gone
// (app/ owns it next to the transport). Not copyable or movable.
class CurlGlobal {
 private:
  struct PassKey {
    explicit PassKey() = default;
  };

 public:
  // kInternal if libcurl cannot initialise (its message is included).
  static Result<std::unique_ptr<CurlGlobal>> Create();
  explicit CurlGlobal(PassKey) {}  // only Create() can make the key
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

struct CurlTransportOptions {
  // Largest response body accepted, bytes; a bigger one fails with kUnavailable.
  size_t max_response_bytes = 8 * 1024 * 1024;
  // Sent as User-Agent.
  std::string user_agent = "sandboxd";
};

// HTTP and HTTPS only; never follows redirects; verifies TLS peers with the
// system CA store. HttpRequest::timeout bounds the whole exchange, DNS and
// connect included (CURLOPT_TIMEOUT_MS, with CURLOPT_NOSIGNAL so it is safe in
// threads).
class CurlTransport final : public HttpTransport {
 public:
  // `global` must outlive the transport.
  explicit CurlTransport(CurlGlobal& global, CurlTransportOptions options = {});

  // HttpTransport
  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  const CurlTransportOptions options_;
};

}  // namespace sbx::provider::e2b
