// sandbox-hello: the program of the built-in `hello` template of the local
// runtime. A tiny single-threaded HTTP server on 127.0.0.1:$PORT:
//   GET /       an HTML page ("hello from sandbox") showing the request count
//   GET /state  {"startedAt":"<RFC 3339 UTC, ms>","requests":N}
// N counts every request served, this one included. Because the counter lives
// only in memory, a value that keeps growing across pause/resume proves the
// process was frozen, not restarted. Exits 0 on SIGTERM/SIGINT.
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <string>
#include <string_view>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
constexpr auto kIdleTimeout = 30s;
constexpr size_t kMaxBodyBytes = 64 * 1024;

struct AppState {
  std::string started_at;  // RFC 3339, ms
  std::string sandbox_id;  // from $SANDBOX_ID, may be empty
  int64_t requests = 0;
};

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  return buf;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

http::response<http::string_body> Handle(const http::request<http::string_body>& req,
                                         AppState& state) {
  ++state.requests;
  std::string_view target(req.target().data(), req.target().size());
  target = target.substr(0, target.find('?'));
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "sandbox-hello");
  res.set(http::field::cache_control, "no-store");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.set(http::field::content_type, "text/plain");
    res.body() = "method not allowed\n";
  } else if (target == "/") {
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.body() =
        "<!doctype html>\n<html><head><title>hello from sandbox</title></head><body>\n"
        "<h1>hello from sandbox</h1>\n<p>sandbox: <code>" +
        HtmlEscape(state.sandbox_id) + "</code></p>\n<p>started at " + state.started_at +
        "</p>\n<p>requests served: <b id=\"requests\">" + std::to_string(state.requests) +
        "</b></p>\n</body></html>\n";
  } else if (target == "/state") {
    res.set(http::field::content_type, "application/json");
    res.body() = "{\"startedAt\":\"" + state.started_at +
                 "\",\"requests\":" + std::to_string(state.requests) + "}";
  } else {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain");
    res.body() = "not found\n";
  }
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

// One connection: requests in sequence until the client closes, idles out or
// asks for Connection: close. Nothing thrown by Asio or Beast leaves it.
net::awaitable<void> Serve(beast::tcp_stream stream, AppState& state) {
  beast::flat_buffer buffer;
  for (;;) {
    stream.expires_after(kIdleTimeout);
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (ec) break;
    http::response<http::string_body> res = Handle(parser.get(), state);
    const bool keep_alive = res.keep_alive();
    auto [write_ec, m] = co_await http::async_write(stream, res, kNoThrow);
    if (write_ec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<void> Accept(tcp::acceptor& acceptor, AppState& state) {
  net::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (ec == net::error::operation_aborted) co_return;
    if (ec) {
      // Typically out of file descriptors: give connections time to close.
      std::fprintf(stderr, "sandbox-hello: accept: %s\n", ec.message().c_str());
      backoff.expires_after(50ms);
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    net::co_spawn(acceptor.get_executor(), Serve(beast::tcp_stream(std::move(socket)), state),
                  [](std::exception_ptr e) {
                    if (e) std::fprintf(stderr, "sandbox-hello: connection failed\n");
                  });
  }
}

int ParsePort(const char* text) {
  if (text == nullptr || *text == '\0') return -1;
  char* end = nullptr;
  long port = std::strtol(text, &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) return -1;
  return static_cast<int>(port);
}

}  // namespace

int main() {
  const char* port_text = std::getenv("PORT");
  const int port = ParsePort(port_text);
  if (port < 0) {
    std::fprintf(stderr, "sandbox-hello: PORT must be a port number, got \"%s\"\n",
                 port_text == nullptr ? "" : port_text);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);

  AppState state;
  state.started_at = FormatRfc3339(std::chrono::system_clock::now());
  if (const char* id = std::getenv("SANDBOX_ID"); id != nullptr) state.sandbox_id = id;

  net::io_context io(1);
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port));
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "sandbox-hello: listen on 127.0.0.1:%d: %s\n", port, ec.message().c_str());
    return 1;
  }

  net::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  net::co_spawn(io, Accept(acceptor, state), [](std::exception_ptr e) {
    if (e) std::fprintf(stderr, "sandbox-hello: accept loop failed\n");
  });
  std::printf("sandbox-hello listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  try {
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sandbox-hello: %s\n", e.what());
    return 1;
  }
  return 0;
}
