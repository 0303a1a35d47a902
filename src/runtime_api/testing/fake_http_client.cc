#include "runtime_api/testing/fake_http_client.h"

namespace sbx::runtime_api {

void FakeHttpClient::PushStatus(http::status status, std::string body) {
  http_server::Response res{status, 11};
  res.body() = std::move(body);
  res.prepare_payload();
  script_.push_back(std::move(res));
}

void FakeHttpClient::PushError(Status error) { script_.push_back(std::move(error)); }

net::awaitable<Result<http_server::Response>> FakeHttpClient::Send(
    const std::string& host, uint16_t port, const http_server::Request& request,
    std::chrono::milliseconds /*timeout*/) {
  sent_.push_back(Sent{host, port, request});
  if (script_.empty()) {
    http_server::Response res{http::status::ok, 11};
    res.body() = "ok";
    res.prepare_payload();
    co_return res;
  }
  Result<http_server::Response> next = std::move(script_.front());
  script_.pop_front();
  co_return next;
}

}  // namespace sbx::runtime_api
