#include "integration/http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <charconv>

namespace sbx::integration {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

constexpr size_t kMaxResponseBytes = 64 << 20;

}  // namespace

boost::json::value HttpResponse::Json() const {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) return nullptr;
  return v;
}

std::string HttpResponse::Describe() const {
  if (!answered) {
    return std::string(connected ? "connected, " : "") + "no response: " + error +
           (timed_out ? " (timed out)" : "");
  }
  return "HTTP " + std::to_string(status) + " " + body;
}

HttpResponse HttpCall(const HttpRequest& r) {
  HttpResponse out;
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(r.host, ec);
  if (ec) {
    out.error = "bad host \"" + r.host + "\": " + ec.message();
    return out;
  }
  net::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::string_body> req{r.method, r.target, 11};
  req.set(http::field::host, r.host + ":" + std::to_string(r.port));
  req.keep_alive(false);
  for (const auto& [name, value] : r.headers) req.set(name, value);
  if (!r.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = r.body;
  }
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  beast::flat_buffer buffer;

  // Read and write run side by side: a server that rejects a request early
  // (413) answers while we may still be sending the body.
  stream.expires_after(r.timeout);
  stream.async_connect(net::ip::tcp::endpoint(address, r.port), [&](beast::error_code cec) {
    if (cec) {
      out.error = "connect: " + cec.message();
      out.timed_out = cec == beast::error::timeout;
      return;
    }
    out.connected = true;
    http::async_write(stream, req, [](beast::error_code, size_t) {});
    http::async_read(stream, buffer, parser, [&](beast::error_code rec, size_t) {
      if (rec) {
        out.error = "read: " + rec.message();
        out.timed_out = rec == beast::error::timeout;
      } else {
        out.answered = true;
        out.status = static_cast<int>(parser.get().result_int());
        out.body = parser.get().body();
      }
      stream.close();  // also ends a write still in progress
    });
  });
  io.run();
  return out;
}

std::optional<HostPort> ParseHttpUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) rest.resize(slash);
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  unsigned port = 0;
  const char* begin = rest.data() + colon + 1;
  const char* end = rest.data() + rest.size();
  auto [p, err] = std::from_chars(begin, end, port);
  if (err != std::errc() || p != end || port == 0 || port > 65535) return std::nullopt;
  return HostPort{rest.substr(0, colon), static_cast<uint16_t>(port)};
}

}  // namespace sbx::integration
