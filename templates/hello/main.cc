// sandbox-hello: the program of the built-in `hello` template of the local
// runtime. A tiny single-threaded HTTP server on 127.0.0.1:$PORT:
//   GET /       an HTML page ("hello from sandbox") showing the request count
//   GET /state  {"startedAt":"<RFC 3339 UTC, ms>","requests":N}
// and, for the preview gateway's tests and benchmarks:
//   GET /echo?status=N       {"method","target","headers":{…}} with status N
//   GET /chunked?n=N         N pieces "chunk <i>\n", Transfer-Encoding: chunked
//   GET /sse?n=N&interval_ms=M  N server-sent events, M ms apart
//   GET /download?bytes=N    N bytes (byte i is 'a' + i % 26), streamed
//   POST /upload             {"bytes":N}: the request body is counted, not kept
//   GET /ws                  WebSocket echo
//   GET /log?line=TEXT       writes TEXT (as sent, query-encoded) and a newline to
//                            stdout, for the output-log tests; 204
// N counts every request served, this one included. Because the counter lives
// only in memory, a value that keeps growing across pause/resume proves the
// process was frozen, not restarted. Exits 0 on SIGTERM/SIGINT.
#include <signal.h>

#include <algorithm>
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
#include <boost/beast/websocket.hpp>

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

// The value of integer query parameter `name`, or `fallback`.
int64_t QueryInt(std::string_view target, std::string_view name, int64_t fallback) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return fallback;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=') {
      const std::string value(part.substr(name.size() + 1));
      char* end = nullptr;
      const long long v = std::strtoll(value.c_str(), &end, 10);
      return end != nullptr && *end == '\0' && !value.empty() ? v : fallback;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return fallback;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// GET /echo: the request as the app saw it, with the status asked for.
void Echo(const http::request<http::string_body>& req, http::response<http::string_body>& res) {
  const std::string_view target(req.target().data(), req.target().size());
  const int64_t status = QueryInt(target, "status", 200);
  res.result(static_cast<unsigned>(status >= 200 && status <= 599 ? status : 200));
  res.set(http::field::content_type, "application/json");
  res.set("X-Hello-Echo", "yes");
  std::string headers;
  for (const auto& field : req) {
    if (!headers.empty()) headers += ',';
    headers += "\"" + JsonEscape(field.name_string()) + "\":\"" + JsonEscape(field.value()) + "\"";
  }
  res.body() = "{\"method\":\"" + std::string(req.method_string()) + "\",\"target\":\"" +
               JsonEscape(target) + "\",\"headers\":{" + headers + "}}";
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
  } else if (target == "/echo") {
    Echo(req, res);
  } else if (target == "/log") {
    const std::string_view full(req.target().data(), req.target().size());
    const size_t at = full.find("line=");
    const std::string_view line =
        at == std::string_view::npos ? "" : full.substr(at + 5, full.find('&', at) - (at + 5));
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    res.result(http::status::no_content);
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

// Streaming handlers: they get the connection with the request head read and
// return whether it may serve another request.
using HeadParser = http::request_parser<http::empty_body>;
using StreamHandler = net::awaitable<bool> (*)(beast::tcp_stream&, beast::flat_buffer&,
                                               HeadParser&);

http::response<http::empty_body> StreamHead(const HeadParser& head, const char* content_type) {
  http::response<http::empty_body> res{http::status::ok, head.get().version()};
  res.set(http::field::server, "sandbox-hello");
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::content_type, content_type);
  res.chunked(true);
  res.keep_alive(head.get().keep_alive());
  return res;
}

// Writes chunked pieces after `res`'s head; `next(i)` makes piece i, the
// timer spaces them `interval` apart.
template <typename Next>
net::awaitable<bool> WriteChunks(beast::tcp_stream& stream, http::response<http::empty_body>& res,
                                 int64_t n, std::chrono::milliseconds interval, Next next) {
  http::response_serializer<http::empty_body> sr{res};
  auto [ec, m] = co_await http::async_write_header(stream, sr, kNoThrow);
  if (ec) co_return false;
  net::steady_timer timer(stream.get_executor());
  for (int64_t i = 0; i < n; ++i) {
    if (i > 0 && interval.count() > 0) {
      timer.expires_after(interval);
      co_await timer.async_wait(kNoThrow);
    }
    const std::string piece = next(i);
    auto [wec, w] = co_await net::async_write(stream, http::make_chunk(net::buffer(piece)), kNoThrow);
    if (wec) co_return false;
  }
  auto [lec, l] = co_await net::async_write(stream, http::make_chunk_last(), kNoThrow);
  co_return !lec && res.keep_alive();
}

net::awaitable<bool> Chunked(beast::tcp_stream& stream, beast::flat_buffer&, HeadParser& head) {
  const std::string_view target(head.get().target().data(), head.get().target().size());
  auto res = StreamHead(head, "text/plain");
  co_return co_await WriteChunks(stream, res, QueryInt(target, "n", 5), 0ms,
                                 [](int64_t i) { return "chunk " + std::to_string(i) + "\n"; });
}

net::awaitable<bool> Sse(beast::tcp_stream& stream, beast::flat_buffer&, HeadParser& head) {
  const std::string_view target(head.get().target().data(), head.get().target().size());
  auto res = StreamHead(head, "text/event-stream");
  const auto interval = std::chrono::milliseconds(QueryInt(target, "interval_ms", 100));
  stream.expires_never();
  co_return co_await WriteChunks(stream, res, QueryInt(target, "n", 3), interval, [](int64_t i) {
    return "id: " + std::to_string(i) + "\ndata: event " + std::to_string(i) + "\n\n";
  });
}

net::awaitable<bool> Download(beast::tcp_stream& stream, beast::flat_buffer&, HeadParser& head) {
  const std::string_view target(head.get().target().data(), head.get().target().size());
  const int64_t total = std::max<int64_t>(0, QueryInt(target, "bytes", 1 << 20));
  http::response<http::buffer_body> res{http::status::ok, head.get().version()};
  res.set(http::field::server, "sandbox-hello");
  res.set(http::field::content_type, "application/octet-stream");
  res.content_length(static_cast<uint64_t>(total));
  res.keep_alive(head.get().keep_alive());
  http::response_serializer<http::buffer_body> sr{res};
  std::string piece(64 * 1024, 'a');
  int64_t sent = 0;
  stream.expires_never();
  do {
    const int64_t size = std::min<int64_t>(static_cast<int64_t>(piece.size()), total - sent);
    for (int64_t i = 0; i < size; ++i) piece[i] = static_cast<char>('a' + (sent + i) % 26);
    res.body().data = size > 0 ? piece.data() : nullptr;
    res.body().size = static_cast<size_t>(size);
    res.body().more = sent + size < total;
    sent += size;
    auto [ec, n] = co_await http::async_write(stream, sr, kNoThrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return false;
  } while (!sr.is_done());
  co_return res.keep_alive();
}

net::awaitable<bool> Upload(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                            HeadParser& head) {
  http::request_parser<http::buffer_body> parser{std::move(head)};
  parser.body_limit(boost::none);
  std::string chunk(64 * 1024, '\0');
  uint64_t bytes = 0;
  stream.expires_after(kIdleTimeout);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, kNoThrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return false;
    bytes += chunk.size() - parser.get().body().size;
    stream.expires_after(kIdleTimeout);
  }
  http::response<http::string_body> res{http::status::ok, parser.get().version()};
  res.set(http::field::server, "sandbox-hello");
  res.set(http::field::content_type, "application/json");
  res.body() = "{\"bytes\":" + std::to_string(bytes) + "}";
  res.keep_alive(parser.get().keep_alive());
  res.prepare_payload();
  auto [ec, n] = co_await http::async_write(stream, res, kNoThrow);
  co_return !ec && res.keep_alive();
}

net::awaitable<bool> WebSocketEcho(beast::tcp_stream& stream, beast::flat_buffer&,
                                   HeadParser& head) {
  namespace websocket = beast::websocket;
  stream.expires_never();
  websocket::stream<beast::tcp_stream&> ws(stream);
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  auto [ec] = co_await ws.async_accept(head.get(), kNoThrow);
  if (ec) co_return false;
  beast::flat_buffer message;
  for (;;) {
    auto [rec, n] = co_await ws.async_read(message, kNoThrow);
    if (rec) break;
    ws.text(ws.got_text());
    auto [wec, m] = co_await ws.async_write(message.data(), kNoThrow);
    if (wec) break;
    message.consume(message.size());
  }
  co_return false;
}

struct StreamRoute {
  http::verb method;
  std::string_view path;
  StreamHandler handler;
};
// Routes that stream; every other request goes to Handle.
constexpr StreamRoute kStreamRoutes[] = {
    {http::verb::get, "/chunked", Chunked},   {http::verb::get, "/sse", Sse},
    {http::verb::get, "/download", Download}, {http::verb::post, "/upload", Upload},
    {http::verb::get, "/ws", WebSocketEcho},
};

StreamHandler FindStreamRoute(const http::request<http::empty_body>& req) {
  std::string_view target(req.target().data(), req.target().size());
  target = target.substr(0, target.find('?'));
  for (const StreamRoute& r : kStreamRoutes) {
    if (r.method == req.method() && r.path == target) return r.handler;
  }
  return nullptr;
}

// One connection: requests in sequence until the client closes, idles out or
// asks for Connection: close. Nothing thrown by Asio or Beast leaves it.
net::awaitable<void> Serve(beast::tcp_stream stream, AppState& state) {
  beast::flat_buffer buffer;
  for (;;) {
    stream.expires_after(kIdleTimeout);
    HeadParser head;
    auto [head_ec, head_n] = co_await http::async_read_header(stream, buffer, head, kNoThrow);
    if (head_ec) break;
    if (StreamHandler stream_handler = FindStreamRoute(head.get())) {
      ++state.requests;
      if (!co_await stream_handler(stream, buffer, head)) break;
      continue;
    }
    http::request_parser<http::string_body> parser{std::move(head)};
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
