// FakeHttpClient: an HttpClient for unit tests. Records every request and
// answers from a script (then 200 "ok"), at once, without sockets.
// Single-threaded.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "runtime_api/http_client.h"

namespace sbx::runtime_api {

class FakeHttpClient final : public HttpClient {
 public:
  struct Sent {
    std::string host;
    uint16_t port = 0;
    http_server::Request request;
  };

  // Answers the next request with `status` and `body`.
  void PushStatus(http::status status, std::string body = "");
  // Fails the next request with `error`.
  void PushError(Status error);
  const std::vector<Sent>& sent() const { return sent_; }
  void Clear() { sent_.clear(); }

  // HttpClient
  net::awaitable<Result<http_server::Response>> Send(const std::string& host, uint16_t port,
                                                     const http_server::Request& request,
                                                     std::chrono::milliseconds timeout) override;

 private:
  std::deque<Result<http_server::Response>> script_;
  std::vector<Sent> sent_;
};

}  // namespace sbx::runtime_api
