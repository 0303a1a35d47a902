#include "integration/http_client.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

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

std::string HttpResponse::Header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (beast::iequals(n, name)) return v;
  }
  return "";
}

std::string HttpResponse::Describe() const {
  if (!answered) {
    return std::string(connected ? "connected, " : "") + "no response: " + error +
           (timed_out ? " (timed out)" : "");
  }
  return "HTTP " + std::to_string(status) + " " + body;
}

std::string SandboxNetns(const std::string& sandbox_id) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("sbx-") && name.ends_with("-" + sandbox_id)) return e.path().string();
  }
  return "";
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
  if (!r.netns.empty()) {
    // A socket made by a thread that entered the namespace stays in it.
    int fd = -1;
    std::string why;
    std::thread([&] {
      const int ns = ::open(r.netns.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
        why = "enter " + r.netns + ": " + std::strerror(errno);
      } else {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      }
      if (ns >= 0) ::close(ns);
    }).join();
    if (fd < 0) {
      out.error = why.empty() ? "socket in " + r.netns : why;
      return out;
    }
    stream.socket().assign(net::ip::tcp::v4(), fd, ec);
    if (ec) {
      ::close(fd);
      out.error = "assign: " + ec.message();
      return out;
    }
  }
  http::request<http::string_body> req{r.method, r.target, 11};
  req.set(http::field::host,
          r.host_header.empty() ? r.host + ":" + std::to_string(r.port) : r.host_header);
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
        for (const auto& field : parser.get()) {
          out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }
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

std::optional<PreviewTarget> ParsePreviewUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  std::string authority = url.substr(kScheme.size());
  authority = authority.substr(0, authority.find('/'));
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  const std::string name = authority.substr(0, colon);
  if (!name.ends_with(".localhost")) return std::nullopt;
  PreviewTarget t;
  t.host = authority;
  unsigned gateway = 0;
  {
    const char* b = authority.data() + colon + 1;
    const char* e = authority.data() + authority.size();
    auto [p, err] = std::from_chars(b, e, gateway);
    if (err != std::errc() || p != e || gateway == 0 || gateway > 65535) return std::nullopt;
  }
  const std::string label = name.substr(0, name.find('.'));
  const size_t dash = label.find('-');
  if (dash == std::string::npos) return std::nullopt;
  unsigned port = 0;
  auto [p, err] = std::from_chars(label.data(), label.data() + dash, port);
  if (err != std::errc() || p != label.data() + dash || port == 0 || port > 65535) {
    return std::nullopt;
  }
  t.sandbox_port = static_cast<uint16_t>(port);
  t.sandbox_id = label.substr(dash + 1);
  t.gateway_port = static_cast<uint16_t>(gateway);
  return t;
}

HttpResponse PreviewCall(const std::string& url, HttpRequest request) {
  auto t = ParsePreviewUrl(url);
  if (!t) {
    HttpResponse r;
    r.error = "not a preview URL: \"" + url + "\"";
    return r;
  }
  request.host = "127.0.0.1";
  request.port = t->gateway_port;
  request.host_header = t->host;
  return HttpCall(request);
}

}  // namespace sbx::integration
