#include "runtime_api/proxy.h"

#include <fmt/format.h>

namespace sbx::runtime_api {
namespace {

namespace json = boost::json;

// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
constexpr http::field kHopByHop[] = {
    http::field::connection,
    http::field::keep_alive,
    http::field::proxy_authenticate,
    http::field::proxy_authorization,
    http::field::proxy_connection,
    http::field::te,
    http::field::trailer,
    http::field::transfer_encoding,
    http::field::upgrade,
};

template <bool kIsRequest>
void StripHopByHop(http::message<kIsRequest, http::string_body>& m) {
  for (http::field f : kHopByHop) m.erase(f);
}

http_server::Response ProxyError(const http_server::Request& req, http::status status,
                                 const PreviewHost& host, std::string message) {
  json::object o;
  o["code"] = static_cast<int>(status);
  o["message"] = std::move(message);
  o["sandboxId"] = host.sandbox_id;
  o["port"] = host.port;
  return JsonBody(req, status, o);
}

}  // namespace

net::awaitable<http_server::Response> PreviewProxy::Forward(const http_server::Request& request,
                                                            const PreviewHost& host) {
  const auto sandbox = sandboxes_.Get(host.sandbox_id);
  if (!sandbox) {
    co_return ProxyError(request, http::status::bad_gateway, host,
                         fmt::format("The sandbox {} was not found", host.sandbox_id));
  }
  if (sandbox->state == SandboxState::kPaused) {
    co_return ProxyError(
        request, http::status::bad_gateway, host,
        fmt::format("The sandbox {} is paused: resume it (connect) first", host.sandbox_id));
  }
  if (!sandbox->port) {
    co_return ProxyError(request, http::status::bad_gateway, host,
                         fmt::format("The sandbox {} serves no port", host.sandbox_id));
  }
  http_server::Request upstream = request;
  StripHopByHop(upstream);
  upstream.version(11);
  upstream.keep_alive(false);
  upstream.set("X-Forwarded-Host", std::string(request[http::field::host]));
  upstream.set("X-Forwarded-Proto", "http");
  if (!upstream.body().empty() || upstream.method() == http::verb::post ||
      upstream.method() == http::verb::put || upstream.method() == http::verb::patch) {
    upstream.content_length(upstream.body().size());
  }
  const std::string loopback = "127.0.0.1";
  auto answer = co_await client_.Send(loopback, *sandbox->port, upstream, options_.timeout);
  if (!answer.ok()) {
    if (answer.error().code() == StatusCode::kDeadlineExceeded) {
      co_return ProxyError(request, http::status::gateway_timeout, host,
                           fmt::format("The sandbox {} did not answer in time", host.sandbox_id));
    }
    co_return ProxyError(request, http::status::bad_gateway, host,
                         fmt::format("The sandbox {} is running but port {} is not answering: {}",
                                     host.sandbox_id, host.port, answer.error().message()));
  }
  http_server::Response res = std::move(*answer);
  StripHopByHop(res);
  res.version(request.version());
  res.keep_alive(request.keep_alive());
  const unsigned code = res.result_int();
  if (code < 200 || code == 204 || code == 304) {
    res.body().clear();
    res.erase(http::field::content_length);
  } else if (request.method() != http::verb::head) {
    res.content_length(res.body().size());
  }
  co_return res;
}

}  // namespace sbx::runtime_api
