// A tiny blocking HTTP/1.1 client for the integration tests (Boost.Beast).
// One connection per request, with a deadline covering connect, write and
// read, so a frozen sandbox shows up as "connected, no answer" instead of a
// hung test. Nothing is thrown. Thread-safe (no shared state).
#pragma once

#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sbx::integration {

struct HttpRequest {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target = "/";
  std::string body;  // sent with Content-Type: application/json when not empty
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{30'000};
  std::string host_header;  // the Host header; default "<host>:<port>"
  // When set, connect from inside this network namespace (a pinned netns
  // file, e.g. /run/netns/sbx-…): how a test reaches a local sandbox directly.
  std::string netns;
};

struct HttpResponse {
  bool connected = false;  // the TCP connection was established
  bool answered = false;   // a complete response arrived
  bool timed_out = false;  // the deadline passed first
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string error;  // transport error when !answered

  // The value of header `name` (case-insensitive), "" when absent.
  std::string Header(const std::string& name) const;

  // Connected but silent until the deadline: what a frozen process looks like.
  bool NoAnswer() const { return connected && !answered && timed_out; }
  // The body as JSON, or null when it does not parse.
  boost::json::value Json() const;
  // "HTTP 404 {...}" or "no response: <error>", for failure messages.
  std::string Describe() const;
};

HttpResponse HttpCall(const HttpRequest& request);

// The pinned network namespace of local sandbox `sandbox_id`
// (/run/netns/sbx-<tag>-<id>), or "" when there is none.
std::string SandboxNetns(const std::string& sandbox_id);

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "http://127.0.0.1:44001/" -> {127.0.0.1, 44001}; nullopt for anything else.
std::optional<HostPort> ParseHttpUrl(const std::string& url);

// A preview URL of the gateway, "http://<port>-<sandboxId>.<domain>:<gatewayPort>/"
// with a domain under localhost (what the tests' daemons use).
struct PreviewTarget {
  uint16_t sandbox_port = 0;  // the sandbox's own port on 127.0.0.1 (local provider)
  std::string sandbox_id;
  std::string host;           // the Host header: "<port>-<id>.<domain>:<gatewayPort>"
  uint16_t gateway_port = 0;  // the gateway listens on 127.0.0.1:<gatewayPort>
};
std::optional<PreviewTarget> ParsePreviewUrl(const std::string& url);
// Sends `request` through the gateway: to 127.0.0.1:<gatewayPort> with the
// preview Host (*.localhost names loopback). Fails with an error for a URL
// that is not a preview URL.
HttpResponse PreviewCall(const std::string& url, HttpRequest request);

}  // namespace sbx::integration
