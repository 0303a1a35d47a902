#include "runtime_api/proxy.h"

#include <unistd.h>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/beast/http/rfc7230.hpp>

namespace sbx::runtime_api {
namespace {

namespace json = boost::json;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
// Larger answers are refused (502), like BeastHttpClient's default.
constexpr size_t kMaxResponseBodyBytes = 8 << 20;

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

// Also drops every header the Connection header names; never the framing
// (Content-Length), which the proxy sets itself.
template <bool kIsRequest>
void StripHopByHop(http::message<kIsRequest, http::string_body>& m) {
  std::vector<std::string> named;
  for (auto token : http::token_list(m[http::field::connection])) {
    if (!beast::iequals(token, "content-length")) named.emplace_back(token);
  }
  for (const std::string& name : named) m.erase(name);
  for (http::field f : kHopByHop) m.erase(f);
}

// E2B's proxy errors: {"sandboxId","message","code"[,"canAutoResume"]}.
http_server::Response ProxyError(const http_server::Request& req, http::status status,
                                 const PreviewHost& host, std::string message,
                                 std::optional<bool> can_auto_resume = std::nullopt) {
  json::object o;
  o["code"] = static_cast<int>(status);
  o["message"] = std::move(message);
  o["sandboxId"] = host.sandbox_id;
  o["port"] = host.port;
  if (can_auto_resume) o["canAutoResume"] = *can_auto_resume;
  return JsonBody(req, status, o);
}

Status TransportError(const std::string& what, const std::string& sandbox_id,
                      const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    return DeadlineExceeded(fmt::format("{} sandbox {}: timed out", what, sandbox_id));
  }
  return Unavailable(fmt::format("{} sandbox {}: {}", what, sandbox_id, ec.message()));
}

// The answer when waking for traffic failed: gone (404), paused without
// autoResume meanwhile (409), else the resume failed: 503, try again.
http_server::Response WakeError(const http_server::Request& req, const PreviewHost& host,
                                const Status& s) {
  if (s.code() == StatusCode::kNotFound) {
    return ProxyError(req, http::status::not_found, host, "The sandbox was not found");
  }
  if (s.code() == StatusCode::kFailedPrecondition) {
    return ProxyError(req, http::status::conflict, host, "The sandbox is paused", false);
  }
  http_server::Response res = ProxyError(
      req, http::status::service_unavailable, host,
      fmt::format("The sandbox could not be resumed: {}", s.message()), true);
  res.set(http::field::retry_after, "1");
  return res;
}

}  // namespace

net::awaitable<Result<http_server::Response>> PreviewProxy::SendInNamespace(
    const std::string& sandbox_id, const http_server::Request& request) {
  // Both calls are brief (a cached port; a thread that enters the namespace
  // for one socket() call), so they stay on the I/O thread.
  auto port = connector_->SandboxPort(sandbox_id);
  if (!port.ok()) co_return port.error();
  auto fd = connector_->SandboxSocket(sandbox_id);
  if (!fd.ok()) co_return fd.error();
  net::ip::tcp::socket socket(co_await net::this_coro::executor);
  beast::error_code ec;
  socket.assign(net::ip::tcp::v4(), *fd, ec);
  if (ec) {
    ::close(*fd);
    co_return Internal(fmt::format("sandbox {}: adopt socket: {}", sandbox_id, ec.message()));
  }
  beast::tcp_stream stream(std::move(socket));
  // One deadline for connect, write and read together.
  stream.expires_after(options_.timeout);
  const net::ip::tcp::endpoint endpoint(net::ip::address_v4::loopback(), *port);
  auto [connect_ec] = co_await stream.async_connect(endpoint, kNoThrow);
  if (connect_ec) co_return TransportError("connect to", sandbox_id, connect_ec);
  auto [write_ec, written] = co_await http::async_write(stream, request, kNoThrow);
  if (write_ec) co_return TransportError("send to", sandbox_id, write_ec);
  const bool head = request.method() == http::verb::head;
  auto [read_ec, response] = co_await ReadFinalResponse(stream, head, kMaxResponseBodyBytes);
  if (read_ec == http::error::body_limit) {
    co_return ResourceExhausted(fmt::format("the answer of sandbox {} is larger than {} bytes",
                                            sandbox_id, kMaxResponseBodyBytes));
  }
  if (read_ec) co_return TransportError("read from", sandbox_id, read_ec);
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  co_return std::move(response);
}

std::optional<http_server::Response> PreviewProxy::RefuseUnknown(
    const http_server::Request& request, const PreviewHost& host) const {
  if (sandboxes_.Get(host.sandbox_id)) return std::nullopt;
  return ProxyError(request, http::status::not_found, host, "The sandbox was not found");
}

net::awaitable<http_server::Response> PreviewProxy::Forward(const http_server::Request& request,
                                                            const PreviewHost& host) {
  auto sandbox = sandboxes_.Get(host.sandbox_id);
  if (!sandbox) {
    co_return ProxyError(request, http::status::not_found, host, "The sandbox was not found");
  }
  if (sandbox->state == SandboxState::kPaused) {
    if (!sandbox->auto_resume) {
      co_return ProxyError(request, http::status::conflict, host, "The sandbox is paused",
                           /*can_auto_resume=*/false);
    }
    auto woken = co_await sandboxes_.WakeForTraffic(host.sandbox_id);
    if (!woken.ok()) co_return WakeError(request, host, woken.error());
    sandbox = std::move(*woken);
  }
  if (connector_ == nullptr && !sandbox->port) {
    co_return ProxyError(request, http::status::bad_gateway, host,
                         fmt::format("The sandbox {} serves no port", host.sandbox_id));
  }
  http_server::Request upstream = request;
  StripHopByHop(upstream);
  // The body is already here: the sandbox gets it at once, not an offer.
  upstream.erase(http::field::expect);
  upstream.version(11);
  upstream.keep_alive(false);
  upstream.set("X-Forwarded-Host", std::string(request[http::field::host]));
  upstream.set("X-Forwarded-Proto", "http");
  if (!upstream.body().empty() || upstream.method() == http::verb::post ||
      upstream.method() == http::verb::put || upstream.method() == http::verb::patch) {
    upstream.content_length(upstream.body().size());
  }
  const std::string loopback = "127.0.0.1";
  // Two statements, not a conditional: GCC 12 miscompiles co_await inside ?:.
  Result<http_server::Response> answer = Internal("not sent");
  if (connector_ != nullptr) {
    answer = co_await SendInNamespace(host.sandbox_id, upstream);
  } else {
    answer = co_await client_.Send(loopback, *sandbox->port, upstream, options_.timeout);
  }
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
