// Adapter: the only file of provider/e2b that touches sockets (through
// libcurl) or really sleeps.
#include "provider/e2b/curl_transport.h"

#include <string_view>

#include <curl/curl.h>
#include <fmt/format.h>

namespace sbx::provider::e2b {
namespace {

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// What the libcurl callbacks fill in while a transfer runs.
struct Transfer {
  HttpResponse response;
  size_t max_body_bytes = 0;
  bool body_too_large = false;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (t->response.body.size() + bytes > t->max_body_bytes) {
    t->body_too_large = true;
    return 0;  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, bytes);
  return bytes;
}

// libcurl calls this once per header line, status lines included.
size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    // A new response starts (after a 100 Continue, say): drop the old headers.
    t->response.headers.clear();
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;  // the blank line ending the headers
  t->response.headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                                   std::string(Trim(line.substr(colon + 1))));
  return bytes;
}

Status TransferError(CURLcode code, const Transfer& t, const char* error_buffer,
                     const HttpRequest& request, const CurlTransportOptions& options) {
  const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  const std::string what = fmt::format("{} {}", request.method, request.url);
  if (t.body_too_large) {
    return Unavailable(
        fmt::format("{}: response body exceeds {} bytes", what, options.max_response_bytes));
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceeded(
          fmt::format("{}: no answer within {} ms: {}", what, request.timeout.count(), detail));
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument(fmt::format("{}: {}", what, detail));
    default:
      return Unavailable(fmt::format("{}: {}", what, detail));
  }
}

}  // namespace

Result<std::unique_ptr<CurlGlobal>> CurlGlobal::Create() {
  const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    return Internal(fmt::format("curl_global_init: {}", curl_easy_strerror(code)));
  }
  return std::make_unique<CurlGlobal>(PassKey());
}

CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

CurlTransport::CurlTransport(CurlGlobal& /*global*/, CurlTransportOptions options)
    : options_(std::move(options)) {}

Result<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) {
    return Internal(fmt::format("{} {}: curl_easy_init failed", request.method, request.url));
  }
  CURL* h = easy.get();

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) return false;
    (void)headers.release();  // now owned by `next`
    headers.reset(next);
    return true;
  };
  // libcurl would otherwise wait up to a second for "100 Continue" on large bodies.
  bool headers_ok = add_header("Expect:");
  for (const auto& [name, value] : request.headers) {
    headers_ok = headers_ok && add_header(fmt::format("{}: {}", name, value));
  }
  if (!headers_ok) return Internal("curl_slist_append failed");

  Transfer transfer;
  transfer.max_body_bytes = options_.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {};
  const long timeout_ms = std::max<long>(1, static_cast<long>(request.timeout.count()));

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.method != "POST") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.method == "POST" || !request.body.empty()) {
      // POSTFIELDS with an explicit size also sends an empty body correctly.
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    }
  }

  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) return TransferError(code, transfer, error_buffer, request, options_);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  transfer.response.status = static_cast<int>(status);
  return std::move(transfer.response);
}

}  // namespace sbx::provider::e2b
