// Preview gateway tests: the real `sandboxd serve` and its gateway on
// 127.0.0.1, real runc containers running the hello template (or, for a
// resume that fails or hangs, a fake E2B API in this process). They show what
// DESIGN.md §9 and invariant 12 promise: RUNNING sandboxes are forwarded with
// bodies streamed both ways (chunked, SSE, WebSocket, uploads with a limit,
// large downloads), preview traffic is coalesced activity, a PAUSED sandbox is
// woken once however many requests arrive and they are held until it serves,
// and otherwise a clear answer comes (503 + Retry-After, 410, 404, 400).
//
// Labelled `integration;runc`. Without root or runc they fail, never skip.
// Sandbox ports: 50200-50999.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/daemon.h"
#include "integration/fake_http_server.h"
#include "integration/http_client.h"
#include "integration/support.h"

namespace sbx::integration {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using boost::beast::http::verb;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr int kForwardPorts = 50200;
constexpr int kActivityPorts = 50300;
constexpr int kWakePorts = 50400;
constexpr int kConcurrentPorts = 50500;
constexpr int kGonePorts = 50600;
constexpr int kFakeE2bPorts = 50700;
constexpr int kShutdownPorts = 50800;
constexpr int kDescriptorPorts = 50900;
constexpr int kCrowdPorts = 51000;
constexpr int kTricklePorts = 51200;

// The value of one series in a /metrics text ("name{labels}"), or -1.
double MetricValue(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

double Metric(const Daemon& d, const std::string& series) {
  HttpResponse r = d.Call(verb::get, "/metrics");
  return r.status == 200 ? MetricValue(r.body, series) : -1;
}

// The daemon's resident memory in KiB (VmRSS), or -1.
int64_t RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// Creates `project` and returns its RUNNING sandbox.
std::optional<SandboxView> CreateRunning(const Daemon& d, const std::string& project,
                                         std::string* why, const std::string& body = "") {
  HttpResponse r = d.Call(verb::post, SandboxPath(project), body);
  if (r.status != 201) {
    *why = "create " + project + ": " + r.Describe();
    return std::nullopt;
  }
  auto s = ParseSandbox(r.body, why);
  if (s && s->status != "RUNNING") {
    *why = "created " + project + " is " + s->status;
    return std::nullopt;
  }
  return s;
}

// Pauses through the API and waits until PAUSED.
::testing::AssertionResult PauseAndWait(const Daemon& d, const std::string& project) {
  HttpResponse r = d.Call(verb::post, SandboxPath(project) + "/pause");
  if (r.status != 202) return ::testing::AssertionFailure() << "pause: " << r.Describe();
  if (!WaitFor([&] { return d.StatusOf(project) == "PAUSED"; }, 20s)) {
    return ::testing::AssertionFailure() << "not PAUSED: " << d.StatusOf(project);
  }
  return ::testing::AssertionSuccess();
}

size_t CountEvents(const std::vector<HistoryEvent>& h, const std::string& type) {
  return static_cast<size_t>(
      std::count_if(h.begin(), h.end(), [&](const HistoryEvent& e) { return e.type == type; }));
}

// A blocking connection to the gateway with socket timeouts, for checks that
// need the bytes as they arrive (SSE, downloads, uploads) or a WebSocket.
class GatewayConnection {
 public:
  GatewayConnection(const PreviewTarget& target, std::chrono::milliseconds timeout)
      : target_(target), socket_(io_) {
    boost::system::error_code ec;
    socket_.connect({asio::ip::make_address("127.0.0.1"), target.gateway_port}, ec);
    if (ec) {
      error_ = "connect: " + ec.message();
      return;
    }
    const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                     static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  asio::ip::tcp::socket& socket() { return socket_; }

  // Sends a request head (and `extra` lines) for `target`.
  bool SendHead(const std::string& method, const std::string& path,
                const std::string& extra = "") {
    return Send(method + " " + path + " HTTP/1.1\r\nHost: " + target_.host + "\r\n" + extra +
                "\r\n");
  }
  bool Send(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    if (ec) error_ = "write: " + ec.message();
    return !ec;
  }
  // Reads the response head into `parser`.
  bool ReadHead(http::response_parser<http::buffer_body>& parser) {
    boost::system::error_code ec;
    http::read_header(socket_, buffer_, parser, ec);
    if (ec) error_ = "read head: " + ec.message();
    return !ec;
  }
  // Reads the body piece by piece; `piece` gets each with its arrival time.
  template <typename Piece>
  bool ReadBody(http::response_parser<http::buffer_body>& parser, Piece piece) {
    std::vector<char> buf(64 << 10);
    while (!parser.is_done()) {
      parser.get().body().data = buf.data();
      parser.get().body().size = buf.size();
      boost::system::error_code ec;
      http::read_some(socket_, buffer_, parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        error_ = "read body: " + ec.message();
        return false;
      }
      const size_t n = buf.size() - parser.get().body().size;
      if (n > 0) piece(std::string_view(buf.data(), n), SteadyClock::now());
    }
    return true;
  }

 private:
  PreviewTarget target_;
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::string error_;
};

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(CheckPrerequisites()); }
};

// RUNNING: status, headers and body forwarded; hop-by-hop headers dropped and
// X-Forwarded-* added; chunked bodies, SSE and downloads streamed; uploads
// counted, and 413 past the limit; WebSocket echo; malformed and unknown hosts.
TEST_F(GatewayTest, ForwardsARunningSandbox) {
  Daemon d({.first_port = kForwardPorts,
            .idle_timeout = "1h",
            .extra_args = {"--preview-max-body-mib", "1"}});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto s = CreateRunning(d, "fwd", &why);
  ASSERT_TRUE(s) << why;
  auto target = ParsePreviewUrl(s->url);
  ASSERT_TRUE(target) << s->url;

  // Status, headers, body.
  HttpResponse echo = PreviewCall(
      s->url, {.target = "/echo?status=201",
               .headers = {{"X-Custom", "hi"},
                           {"X-Forwarded-For", "10.9.8.7"},
                           {"Connection", "close, X-Hop, Host"},
                           {"X-Hop", "dropped"},
                           {"Keep-Alive", "timeout=5"}}});
  ASSERT_TRUE(echo.answered) << echo.Describe();
  EXPECT_EQ(echo.status, 201) << echo.Describe();
  EXPECT_EQ(echo.Header("X-Hello-Echo"), "yes");
  EXPECT_EQ(echo.Header("Server"), "sandbox-hello");
  boost::json::value v = echo.Json();
  ASSERT_TRUE(v.is_object()) << echo.body;
  std::map<std::string, std::string> seen;
  for (const auto& [name, value] : v.at("headers").as_object()) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    seen[lower] = std::string(value.as_string());
  }
  EXPECT_EQ(seen["x-custom"], "hi");
  EXPECT_EQ(seen["host"], target->host) << "the app sees the preview host";
  EXPECT_EQ(seen["x-forwarded-host"], target->host);
  EXPECT_EQ(seen["x-forwarded-proto"], "http");
  EXPECT_EQ(seen["x-forwarded-for"], "10.9.8.7, 127.0.0.1");
  EXPECT_EQ(seen.count("x-hop"), 0u) << "a header named by Connection must not be forwarded";
  EXPECT_EQ(seen.count("keep-alive"), 0u);
  EXPECT_EQ(v.at("target"), "/echo?status=201");

  // An absolute-form target (RFC 9112 §3.2.2) names the sandbox itself, over
  // the Host header, and reaches the app in origin form.
  HttpResponse absolute = HttpCall({.port = d.preview_port(),
                                    .target = "http://" + target->host + "/echo?status=202",
                                    .host_header = "ignored.example"});
  EXPECT_EQ(absolute.status, 202) << absolute.Describe();
  if (absolute.status == 202) {
    EXPECT_EQ(absolute.Json().at("target"), "/echo?status=202") << absolute.body;
  }
  HttpResponse not_a_target = HttpCall({.port = d.preview_port(), .target = "echo",
                                        .host_header = target->host});
  EXPECT_EQ(not_a_target.status, 400) << not_a_target.Describe();

  // A body framed by a coding other than a final chunked is refused, and its
  // bytes are not read as a second request (RFC 9112 §6.3).
  {
    GatewayConnection c(*target, 10s);
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_TRUE(c.SendHead("POST", "/echo", "Transfer-Encoding: gzip\r\n"));
    ASSERT_TRUE(c.Send("GET /echo?status=202 HTTP/1.1\r\nHost: " + target->host + "\r\n\r\n"));
    http::response_parser<http::buffer_body> p;
    ASSERT_TRUE(c.ReadHead(p)) << c.error();
    EXPECT_EQ(p.get().result_int(), 400u);
    std::string body;
    (void)c.ReadBody(p, [&](std::string_view piece, SteadyClock::time_point) { body += piece; });
    EXPECT_NE(body.find("Transfer-Encoding must end in chunked"), std::string::npos) << body;
    http::response_parser<http::buffer_body> second;
    EXPECT_FALSE(c.ReadHead(second)) << "the body was served as a request: "
                                     << second.get().result_int();
  }

  // Chunked from the app stays chunked.
  HttpResponse chunked = PreviewCall(s->url, {.target = "/chunked?n=20"});
  ASSERT_EQ(chunked.status, 200) << chunked.Describe();
  EXPECT_EQ(chunked.Header("Transfer-Encoding"), "chunked");
  std::string expected;
  for (int i = 0; i < 20; ++i) expected += "chunk " + std::to_string(i) + "\n";
  EXPECT_EQ(chunked.body, expected);

  // Server-sent events arrive one by one, not when the stream ends.
  {
    GatewayConnection c(*target, 10s);
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_TRUE(c.SendHead("GET", "/sse?n=5&interval_ms=400", "Accept: text/event-stream\r\n"));
    const auto sent = SteadyClock::now();
    http::response_parser<http::buffer_body> p;
    p.body_limit(boost::none);
    ASSERT_TRUE(c.ReadHead(p)) << c.error();
    EXPECT_EQ(p.get().result_int(), 200u);
    EXPECT_EQ(p.get()[http::field::content_type], "text/event-stream");
    std::string body;
    std::map<int, SteadyClock::time_point> arrived;
    ASSERT_TRUE(c.ReadBody(p, [&](std::string_view piece, SteadyClock::time_point at) {
      body += piece;
      for (int i = 0; i < 5; ++i) {
        if (!arrived.count(i) && body.find("data: event " + std::to_string(i) + "\n") !=
                                     std::string::npos) {
          arrived[i] = at;
        }
      }
    })) << c.error();
    ASSERT_EQ(arrived.size(), 5u) << body;
    EXPECT_LT(arrived[0] - sent, 1s) << "the first event waited for the stream";
    EXPECT_GE(arrived[4] - arrived[0], 1200ms) << "events were buffered, not streamed";
    Report("sse through the gateway: first event after " + std::to_string(Ms(arrived[0] - sent)) +
           " ms, last " + std::to_string(Ms(arrived[4] - arrived[0])) + " ms later");
  }

  // WebSocket echo, text and binary, through the tunnel.
  {
    asio::io_context io;
    websocket::stream<asio::ip::tcp::socket> ws(io);
    boost::system::error_code ec;
    ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), target->gateway_port}, ec);
    ASSERT_FALSE(ec) << ec.message();
    ws.handshake(target->host, "/ws", ec);
    ASSERT_FALSE(ec) << "handshake: " << ec.message();
    EXPECT_EQ(Metric(d, "sandboxd_preview_websockets"), 1);
    for (const std::string& text : {std::string("hello"), std::string(100'000, 'w')}) {
      ws.text(text.size() < 10);
      ws.write(asio::buffer(text), ec);
      ASSERT_FALSE(ec) << ec.message();
      beast::flat_buffer got;
      ws.read(got, ec);
      ASSERT_FALSE(ec) << ec.message();
      EXPECT_EQ(beast::buffers_to_string(got.data()), text);
    }
    ws.close(websocket::close_code::normal, ec);
    EXPECT_TRUE(WaitFor([&] { return Metric(d, "sandboxd_preview_websockets") == 0; }, 5s))
        << "the tunnel was not closed";
  }

  // Uploads: counted by the app; past the limit (1 MiB here) 413 from the
  // gateway, whether announced by Content-Length or found in a chunked body.
  HttpResponse small = PreviewCall(
      s->url, {.method = verb::post, .target = "/upload", .body = std::string(512 << 10, 'u')});
  ASSERT_EQ(small.status, 200) << small.Describe();
  EXPECT_EQ(small.body, "{\"bytes\":524288}");
  HttpResponse large = PreviewCall(
      s->url, {.method = verb::post, .target = "/upload", .body = std::string(2 << 20, 'u')});
  EXPECT_EQ(large.status, 413) << large.Describe();
  EXPECT_EQ(large.Header("X-Sandboxd-Preview"), "too-large");
  {
    GatewayConnection c(*target, 10s);
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_TRUE(c.SendHead("POST", "/upload", "Transfer-Encoding: chunked\r\n"));
    const std::string piece(64 << 10, 'c');
    std::ostringstream size;
    size << std::hex << piece.size();
    for (int i = 0; i < 32 && c.Send(size.str() + "\r\n" + piece + "\r\n"); ++i) {
    }
    http::response_parser<http::buffer_body> p;
    ASSERT_TRUE(c.ReadHead(p)) << c.error();
    EXPECT_EQ(p.get().result_int(), 413u) << "a chunked body past the limit";
  }

  // A large download is streamed: the daemon's memory does not grow with it.
  {
    const int64_t rss_before = RssKiB(d.pid());
    constexpr int64_t kBytes = 256ll << 20;
    GatewayConnection c(*target, 30s);
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_TRUE(c.SendHead("GET", "/download?bytes=" + std::to_string(kBytes)));
    http::response_parser<http::buffer_body> p;
    p.body_limit(boost::none);
    ASSERT_TRUE(c.ReadHead(p)) << c.error();
    ASSERT_EQ(p.get().result_int(), 200u);
    int64_t received = 0, rss_max = rss_before, mismatches = 0;
    const auto start = SteadyClock::now();
    ASSERT_TRUE(c.ReadBody(p, [&](std::string_view piece, SteadyClock::time_point) {
      for (size_t i = 0; i < piece.size(); ++i) {
        if (piece[i] != static_cast<char>('a' + (received + static_cast<int64_t>(i)) % 26)) {
          ++mismatches;
        }
      }
      if (received / (16 << 20) != (received + static_cast<int64_t>(piece.size())) / (16 << 20)) {
        rss_max = std::max(rss_max, RssKiB(d.pid()));
      }
      received += static_cast<int64_t>(piece.size());
    })) << c.error();
    const auto took = SteadyClock::now() - start;
    EXPECT_EQ(received, kBytes);
    EXPECT_EQ(mismatches, 0);
    EXPECT_LT(rss_max - rss_before, 32 << 10)
        << "sandboxd grew " << (rss_max - rss_before) << " KiB during a 256 MiB download";
    Report("download of 256 MiB through the gateway: " + std::to_string(Ms(took)) +
           " ms, daemon RSS growth " + std::to_string(rss_max - rss_before) + " KiB");
  }

  // Hosts the gateway cannot serve.
  HttpResponse unknown = HttpCall({.port = d.preview_port(),
                                   .target = "/",
                                   .host_header = "40000-sbxnosuchsandbox.localhost"});
  EXPECT_EQ(unknown.status, 404) << unknown.Describe();
  HttpResponse malformed =
      HttpCall({.port = d.preview_port(), .target = "/", .host_header = "not-a-port.localhost"});
  EXPECT_EQ(malformed.status, 400) << malformed.Describe();
  HttpResponse other = HttpCall({.port = d.preview_port(), .target = "/", .host_header = "example.com"});
  EXPECT_EQ(other.status, 400) << other.Describe();
  HttpResponse wrong_port = PreviewCall(
      "http://5432-" + s->sandbox_id + "." + d.preview_domain() + "/", {.target = "/"});
  // Every port of the sandbox's namespace is its own: one nothing listens on
  // is refused there (502), and never reaches a port of the host.
  EXPECT_EQ(wrong_port.status, 502) << "a port the sandbox does not serve: " << wrong_port.Describe();
  EXPECT_NE(wrong_port.body.find("Connection refused"), std::string::npos) << wrong_port.Describe();

  HttpResponse metrics = d.Call(verb::get, "/metrics");
  // echo, chunked, sse, upload, download
  EXPECT_GE(MetricValue(metrics.body, "sandboxd_preview_requests_total{outcome=\"forwarded\"}"), 5)
      << metrics.body;
  EXPECT_EQ(MetricValue(metrics.body, "sandboxd_preview_requests_total{outcome=\"websocket\"}"), 1);
  EXPECT_GE(MetricValue(metrics.body, "sandboxd_preview_requests_total{outcome=\"too_large\"}"), 2);
  EXPECT_EQ(d.StatusOf("fwd"), "RUNNING");
}

// Steady preview traffic (3 s idle timeout) keeps the sandbox RUNNING for
// 15 s with coalesced activity writes; it pauses one timeout after the last
// request, within the coalescing window.
TEST_F(GatewayTest, SteadyTrafficKeepsItRunningAndItPausesOneTimeoutAfter) {
  Daemon d({.first_port = kActivityPorts, .idle_timeout = "3s"});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto s = CreateRunning(d, "busy", &why);
  ASSERT_TRUE(s) << why;
  const double writes_before = Metric(d, "sandboxd_activity_total{source=\"preview\"}");

  const auto start = SteadyClock::now();
  int requests = 0;
  SystemTime last_request{};
  while (SteadyClock::now() - start < 15s) {
    last_request = WallNow();
    auto state = GetHelloState(s->url, &why);
    ASSERT_TRUE(state) << "after " << Ms(SteadyClock::now() - start) << " ms: " << why;
    ++requests;
    ASSERT_EQ(d.StatusOf("busy"), "RUNNING")
        << "paused after " << Ms(SteadyClock::now() - start) << " ms of steady preview traffic";
    SleepFor(100ms);
  }
  const double writes =
      Metric(d, "sandboxd_activity_total{source=\"preview\"}") - std::max(0.0, writes_before);
  // A 3 s idle timeout makes a 750 ms window: about 20 writes in 15 s.
  EXPECT_LE(writes, 15 / 0.75 + 3) << requests << " requests";
  EXPECT_GE(writes, 10) << requests << " requests";
  Report("steady traffic: " + std::to_string(requests) + " preview requests in 15 s, " +
         std::to_string(static_cast<int>(writes)) + " activity writes");

  ASSERT_TRUE(WaitFor([&] { return d.StatusOf("busy") == "PAUSED"; }, 3s + 5s))
      << d.StatusOf("busy");
  auto history = d.History("busy", &why);
  ASSERT_TRUE(history) << why;
  const auto claim = std::find_if(history->begin(), history->end(), [](const HistoryEvent& e) {
    return e.type == "pause_requested" && e.source == "enforcer";
  });
  ASSERT_NE(claim, history->end());
  const auto after = claim->at - last_request;
  EXPECT_GE(after, 3s - 100ms) << "paused " << Ms(after) << " ms after the last request";
  EXPECT_LE(after, 3s + 750ms + 500ms) << "paused " << Ms(after) << " ms after the last request";
  EXPECT_EQ(CountEvents(*history, "paused"), 1u) << "paused during the traffic";
  Report("steady traffic: paused " + std::to_string(Ms(after)) +
         " ms after the last request (idle timeout 3 s, window 750 ms)");
}

// A request to a PAUSED sandbox wakes it and gets the app's answer from the
// same process; a browser page load gets the waking page at once.
TEST_F(GatewayTest, RequestToAPausedSandboxWakesItWithTheCounterKept) {
  Daemon d({.first_port = kWakePorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto s = CreateRunning(d, "sleepy", &why);
  ASSERT_TRUE(s) << why;
  auto before = GetHelloState(s->url, &why);
  ASSERT_TRUE(before) << why;
  ASSERT_TRUE(PauseAndWait(d, "sleepy"));
  EXPECT_TRUE(ProbeSandbox(s->url).NoAnswer()) << "the sandbox itself must be frozen";

  const auto t0 = SteadyClock::now();
  auto after = GetHelloState(s->url, &why, 30s);
  const auto took = SteadyClock::now() - t0;
  ASSERT_TRUE(after) << why;
  EXPECT_EQ(after->started_at, before->started_at) << "the process was restarted";
  EXPECT_GT(after->requests, before->requests) << "the counter was reset";
  EXPECT_EQ(d.StatusOf("sleepy"), "RUNNING");
  auto history = d.History("sleepy", &why);
  ASSERT_TRUE(history) << why;
  EXPECT_TRUE(std::any_of(history->begin(), history->end(), [](const HistoryEvent& e) {
    return e.type == "wake_requested" && e.source == "preview";
  })) << "the wake is recorded as the gateway's";
  EXPECT_EQ(Metric(d, "sandboxd_preview_wakes_total"), 1);
  EXPECT_EQ(Metric(d, "sandboxd_preview_held_requests"), 0);
  Report("wake on request: answered " + std::to_string(Ms(took)) + " ms after the request");

  // A browser asking for the page of a paused sandbox is not kept waiting:
  // the waking page comes at once (and the wake starts).
  ASSERT_TRUE(PauseAndWait(d, "sleepy"));
  const auto t1 = SteadyClock::now();
  HttpResponse page = PreviewCall(s->url, {.target = "/", .headers = {{"Accept", "text/html"}}});
  EXPECT_LT(SteadyClock::now() - t1, 2s);
  EXPECT_EQ(page.status, 503) << page.Describe();
  EXPECT_EQ(page.Header("X-Sandboxd-Preview"), "waking");
  EXPECT_FALSE(page.Header("Retry-After").empty());
  EXPECT_NE(page.body.find("Waking up"), std::string::npos) << page.body;
  EXPECT_TRUE(WaitFor([&] { return d.StatusOf("sleepy") == "RUNNING"; }, 20s))
      << "the waking page did not start a wake: " << d.StatusOf("sleepy");
  HttpResponse app = PreviewCall(s->url, {.target = "/", .headers = {{"Accept", "text/html"}}});
  EXPECT_EQ(app.status, 200) << app.Describe();
  EXPECT_NE(app.body.find("hello from sandbox"), std::string::npos);
}

// 50 requests at once to a PAUSED sandbox: one provider resume, 50 answers.
TEST_F(GatewayTest, FiftyConcurrentRequestsToAPausedSandboxMakeOneResume) {
  Daemon d({.first_port = kConcurrentPorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto s = CreateRunning(d, "crowd", &why);
  ASSERT_TRUE(s) << why;
  auto before = GetHelloState(s->url, &why);
  ASSERT_TRUE(before) << why;
  ASSERT_TRUE(PauseAndWait(d, "crowd"));
  const double resumes_before =
      Metric(d, "sandboxd_provider_call_duration_seconds_count{op=\"resume\"}");

  std::vector<std::optional<HelloState>> states(50);
  std::vector<std::string> errors(50);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < states.size(); ++i) {
    threads.emplace_back([&, i] { states[i] = GetHelloState(s->url, &errors[i], 30s); });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < states.size(); ++i) {
    ASSERT_TRUE(states[i]) << "request " << i << ": " << errors[i];
    EXPECT_EQ(states[i]->started_at, before->started_at);
  }
  const double resumes =
      Metric(d, "sandboxd_provider_call_duration_seconds_count{op=\"resume\"}") -
      std::max(0.0, resumes_before);
  EXPECT_EQ(resumes, 1) << "provider resumes for 50 concurrent requests";
  auto history = d.History("crowd", &why);
  ASSERT_TRUE(history) << why;
  EXPECT_EQ(CountEvents(*history, "resumed"), 1u);
  EXPECT_EQ(CountEvents(*history, "wake_requested"), 1u);
  EXPECT_EQ(Metric(d, "sandboxd_preview_held_requests"), 0);
}

// KILLED: 410 with a page that says how to start again; unknown: 404.
TEST_F(GatewayTest, KilledIsGoneAndUnknownIsNotFound) {
  Daemon d({.first_port = kGonePorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto s = CreateRunning(d, "doomed", &why);
  ASSERT_TRUE(s) << why;
  HttpResponse killed = d.Call(verb::delete_, SandboxPath("doomed"));
  ASSERT_EQ(killed.status, 204) << killed.Describe();
  HttpResponse json = PreviewCall(s->url, {.target = "/state"});
  EXPECT_EQ(json.status, 410) << json.Describe();
  EXPECT_EQ(json.Json().at("error").at("code"), "gone") << json.body;
  HttpResponse page = PreviewCall(s->url, {.target = "/", .headers = {{"Accept", "text/html"}}});
  EXPECT_EQ(page.status, 410) << page.Describe();
  EXPECT_NE(page.body.find("sandboxctl wake doomed"), std::string::npos) << page.body;
  EXPECT_EQ(d.StatusOf("doomed"), "KILLED") << "a request must not start a killed sandbox";

  // Made again: a new sandbox with a new URL; the old URL stays gone.
  auto again = CreateRunning(d, "doomed", &why);
  ASSERT_TRUE(again) << why;
  ASSERT_NE(again->url, s->url);
  HttpResponse old_url = PreviewCall(s->url, {.target = "/state"});
  EXPECT_EQ(old_url.status, 410) << old_url.Describe();
  EXPECT_NE(old_url.body.find("project doomed has another sandbox"), std::string::npos)
      << old_url.body;
  HttpResponse new_url = PreviewCall(again->url, {.target = "/state"});
  EXPECT_EQ(new_url.status, 200) << new_url.Describe();

  const std::string unknown = "http://40000-sbxunknown." + d.preview_domain() + "/";
  HttpResponse missing = PreviewCall(unknown, {.target = "/"});
  EXPECT_EQ(missing.status, 404) << missing.Describe();
  HttpResponse bare = HttpCall({.port = d.preview_port(), .target = "/",
                                .host_header = d.preview_domain()});
  EXPECT_EQ(bare.status, 404) << bare.Describe();
}

// A fake E2B API whose resume (POST /v2/sandboxes/{id}/connect) hangs for
// sandbox "ihang" until released, and fails at once (400) for "ifail".
class FakeE2b {
 public:
  ~FakeE2b() { Release(); }  // hanging handlers return; then server_ stops
  std::string url() const { return server_.url(); }
  int connects() const { return connects_; }
  // Hanging resumes answer 400 from now on.
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::string Sandbox(const std::string& id, bool paused) {
    boost::json::object o;
    o["sandboxID"] = id;
    o["templateID"] = "base";
    o["clientID"] = "x";
    o["alias"] = "base";
    o["startedAt"] = FormatRfc3339(started_at_);
    o["endAt"] = FormatRfc3339(started_at_ + 1h);
    o["cpuCount"] = 1;
    o["memoryMB"] = 512;
    o["diskSizeMB"] = 512;
    o["envdVersion"] = "0.2.0";
    o["state"] = paused ? "paused" : "running";
    o["metadata"] = boost::json::object{{"projectId", id == "ihang" ? "hang" : "fail"}};
    return boost::json::serialize(o);
  }

  void Handle(const FakeHttpServer::Request& req, FakeHttpServer::Response& res) {
    const std::string target(req.target());
    std::string id;
    for (const char* known : {"ihang", "ifail"}) {
      if (target.find(std::string("/") + known) != std::string::npos) id = known;
    }
    if (req.method() == verb::post && (target == "/v2/sandboxes" || target == "/sandboxes")) {
      const bool hang = req.body().find("\"hang\"") != std::string::npos;
      {
        std::lock_guard lock(mu_);
        paused_[hang ? "ihang" : "ifail"] = false;
      }
      res.result(201);
      res.body() = std::string(R"({"sandboxID":")") + (hang ? "ihang" : "ifail") +
                   R"(","templateID":"base","clientID":"x","envdVersion":"0.2.0"})";
    } else if (req.method() == verb::post && target.ends_with("/pause") && !id.empty()) {
      std::lock_guard lock(mu_);
      paused_[id] = true;
      res.result(204);
    } else if (req.method() == verb::post && target.ends_with("/connect") && !id.empty()) {
      ++connects_;
      std::unique_lock lock(mu_);
      if (id == "ihang") cv_.wait_for(lock, 30s, [&] { return released_; });
      res.result(400);
      res.body() = R"({"code":400,"message":"injected resume failure"})";
    } else if (req.method() == verb::get && target.rfind("/v2/sandboxes", 0) == 0) {
      std::lock_guard lock(mu_);
      res.result(200);
      std::string list;
      for (const auto& [known, paused] : paused_) {
        list += (list.empty() ? "" : ",") + Sandbox(known, paused);
      }
      res.body() = "[" + list + "]";
    } else if (req.method() == verb::get && !id.empty() && paused_.count(id)) {
      std::lock_guard lock(mu_);
      res.result(200);
      res.body() = Sandbox(id, paused_[id]);
    } else if (req.method() == verb::post && target.ends_with("/timeout")) {
      res.result(204);
    } else {
      res.result(404);
      res.body() = R"({"code":404,"message":"not found"})";
    }
  }

  const SystemTime started_at_ = TruncateToMillis(std::chrono::system_clock::now());
  std::atomic<int> connects_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::map<std::string, bool> paused_;
  // Last: stopped (every handler returned) before the state above goes.
  FakeHttpServer server_{[this](const FakeHttpServer::Request& req, FakeHttpServer::Response& res) {
    Handle(req, res);
  }};
};

// `serve --provider e2b` against `fake`, with the given preview wake deadline.
DaemonOptions ServeOnFakeE2b(const FakeE2b& fake, int first_port, const std::string& wake_timeout) {
  return {.first_port = first_port,
          .idle_timeout = "1h",
          .api_token = "gateway-test-token-5f0c",
          .extra_args = {"--provider", "e2b", "--preview-wake-timeout", wake_timeout},
          .env = {"E2B_API_KEY=e2b_fake", "E2B_API_URL=" + fake.url(), "E2B_DOMAIN=localhost"},
          .name = "serve"};
}

// A resume that hangs: 503 + Retry-After at the deadline (3 s here), nothing
// held afterwards, reads still fast. A resume that fails: 503 at once.
TEST_F(GatewayTest, HangingOrFailingResumeGets503WithRetryAfter) {
  FakeE2b fake;
  Daemon d(ServeOnFakeE2b(fake, kFakeE2bPorts, "3s"));
  ASSERT_TRUE(d.Start());
  std::string why;
  auto hang = CreateRunning(d, "hang", &why);
  ASSERT_TRUE(hang) << why;
  auto fail = CreateRunning(d, "fail", &why);
  ASSERT_TRUE(fail) << why;
  ASSERT_EQ(hang->sandbox_id, "ihang");
  auto target = ParsePreviewUrl(hang->url);
  ASSERT_TRUE(target) << hang->url;
  // The port of the provider's URL (E2bOptions::preview_port).
  EXPECT_EQ(target->sandbox_port, 3000) << hang->url;
  ASSERT_TRUE(PauseAndWait(d, "hang"));
  ASSERT_TRUE(PauseAndWait(d, "fail"));

  const auto t0 = SteadyClock::now();
  HttpResponse held = PreviewCall(hang->url, {.target = "/state", .timeout = 20s});
  const auto took = SteadyClock::now() - t0;
  EXPECT_EQ(held.status, 503) << held.Describe();
  EXPECT_EQ(held.Header("X-Sandboxd-Preview"), "deadline");
  EXPECT_FALSE(held.Header("Retry-After").empty());
  EXPECT_GE(took, 3s - 50ms);
  EXPECT_LT(took, 3s + 1500ms) << "answered " << Ms(took) << " ms after the request";
  EXPECT_EQ(fake.connects(), 1);
  EXPECT_EQ(Metric(d, "sandboxd_preview_held_requests"), 0) << "a waiter was left behind";
  EXPECT_EQ(Metric(d, "sandboxd_preview_deadline_total"), 1);
  const auto r0 = SteadyClock::now();
  EXPECT_EQ(d.StatusOf("hang"), "STARTING");
  EXPECT_LT(SteadyClock::now() - r0, 200ms) << "a status read waited for the hanging resume";
  Report("hanging resume: 503 after " + std::to_string(Ms(took)) + " ms (deadline 3 s)");

  const auto t1 = SteadyClock::now();
  HttpResponse failed = PreviewCall(fail->url, {.target = "/state", .timeout = 20s});
  EXPECT_EQ(failed.status, 503) << failed.Describe();
  EXPECT_EQ(failed.Header("X-Sandboxd-Preview"), "wake-failed");
  EXPECT_FALSE(failed.Header("Retry-After").empty());
  EXPECT_LT(SteadyClock::now() - t1, 3s) << "a failed resume need not wait for the deadline";
  EXPECT_NE(failed.body.find("injected resume failure"), std::string::npos) << failed.body;
  EXPECT_EQ(d.StatusOf("fail"), "PAUSED");

  fake.Release();
  EXPECT_TRUE(WaitFor([&] { return d.StatusOf("hang") == "PAUSED"; }, 20s)) << d.StatusOf("hang");
  EXPECT_EQ(Metric(d, "sandboxd_preview_held_requests"), 0);
  EXPECT_TRUE(d.Stop());
}

// Shutdown: held requests are answered, open WebSockets closed, and the
// daemon exits cleanly.
// CPU time (user + system) a process has used so far.
std::chrono::milliseconds CpuTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stol(field);  // utime, stime
  }
  return std::chrono::milliseconds(ticks * 1000 / sysconf(_SC_CLK_TCK));
}

// Out of descriptors, the gateway's accept fails for as long as a
// connection waits in its backlog: it must back off and log once, not spin
// and flood its log, and serve again once descriptors are back.
TEST_F(GatewayTest, OutOfDescriptorsTheGatewayBacksOffAndRecovers) {
  Daemon d({.first_port = kDescriptorPorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  const pid_t pid = d.pid();
  rlimit before{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &before), 0);
  size_t open_fds = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    (void)e;
    ++open_fds;
  }
  rlimit tight = before;
  tight.rlim_cur = static_cast<rlim_t>(open_fds + 3);
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &tight, nullptr), 0);
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> clients;
  for (int i = 0; i < 8; ++i) {  // the backlog takes them; accept runs out
    asio::ip::tcp::socket s(io);
    beast::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), d.preview_port()}, ec);
    ASSERT_FALSE(ec) << ec.message();
    clients.push_back(std::move(s));
  }
  const auto cpu_before = CpuTime(pid);
  std::this_thread::sleep_for(1s);
  const auto cpu_used = CpuTime(pid) - cpu_before;
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &before, nullptr), 0);
  clients.clear();
  EXPECT_LT(cpu_used, 300ms) << "the daemon spun while out of descriptors";
  // Descriptors are back: both listeners serve again.
  ASSERT_TRUE(WaitFor([&] { return d.Call(verb::get, "/healthz", "", 2s).status == 200; }, 10s));
  HttpResponse unknown = HttpCall({.port = d.preview_port(),
                                   .target = "/",
                                   .timeout = 5s,
                                   .host_header = "40000-sbxnosuchsandbox.localhost"});
  EXPECT_EQ(unknown.status, 404) << unknown.Describe();
  const double errors = Metric(d, "sandboxd_preview_accept_errors_total");
  EXPECT_GE(errors, 1);
  EXPECT_LE(errors, 15) << "accept was retried " << errors << " times in about a second";
  const std::string log = TailOfFile(d.data_dir().parent_path() / "sandboxd.log", 100000);
  size_t warnings = 0;
  for (size_t at = log.find("preview accept:"); at != std::string::npos;
       at = log.find("preview accept:", at + 1)) {
    ++warnings;
  }
  EXPECT_LE(warnings, 2u) << "one warning per episode, not per attempt";
}

// A crowd of clients that never finish a request head cannot take the
// gateway from everyone else: at its connection cap (here 50: a quarter of
// the 200 descriptors a limit of 400 leaves) the one that has waited longest is closed to make
// room, and previews keep being served.
TEST_F(GatewayTest, ClientsThatNeverFinishAHeadDoNotLockOthersOut) {
  // No sandbox: runc cannot give one its descriptor limit above the
  // daemon's. A request for an unknown sandbox is answered (404) by the
  // gateway itself, which is what a locked-out client never gets.
  Daemon d({.first_port = kCrowdPorts, .idle_timeout = "1h", .file_limit = 400});
  ASSERT_TRUE(d.Start());
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> crowd;
  for (int i = 0; i < 100; ++i) {
    asio::ip::tcp::socket c(io);
    beast::error_code ec;
    c.connect({asio::ip::make_address("127.0.0.1"), d.preview_port()}, ec);
    ASSERT_FALSE(ec) << ec.message();
    asio::write(c, asio::buffer(std::string("GET / HTTP/1.1\r\n")), ec);
    crowd.push_back(std::move(c));
  }
  ASSERT_TRUE(WaitFor([&] { return Metric(d, "sandboxd_preview_connections") >= 50; }, 10s))
      << Metric(d, "sandboxd_preview_connections");
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = HttpCall({.port = d.preview_port(),
                               .target = "/",
                               .timeout = 5s,
                               .host_header = "40000-sbxnosuchsandbox.localhost"});
    ASSERT_TRUE(r.answered) << "request " << i << ": " << r.Describe();
    EXPECT_EQ(r.status, 404) << r.Describe();
  }
  EXPECT_LE(Metric(d, "sandboxd_preview_connections"), 51);
  EXPECT_GE(Metric(d, "sandboxd_preview_requests_total{outcome=\"evicted\"}"), 50);
}

// Clients that send a request body a byte now and then keep their
// connections busy for as long as they like: they are closed to make room
// like idle ones, so a crowd of them cannot lock other visitors out. The
// descriptor limit is runc's (1,024: a sandbox gets that much), which makes
// the preview connection cap 192.
TEST_F(GatewayTest, ClientsTricklingABodyDoNotLockOthersOut) {
  Daemon d({.first_port = kTricklePorts, .idle_timeout = "1h", .file_limit = 1024});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto app = CreateRunning(d, "trickle", &why);
  ASSERT_TRUE(app) << why;
  auto target = ParsePreviewUrl(app->url);
  ASSERT_TRUE(target) << app->url;
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> crowd;
  const std::string head = "POST /echo HTTP/1.1\r\nHost: " + target->host +
                           "\r\nContent-Length: 1000000\r\n\r\nfirst bytes of the body";
  for (int i = 0; i < 220; ++i) {
    asio::ip::tcp::socket c(io);
    beast::error_code ec;
    c.connect({asio::ip::make_address("127.0.0.1"), target->gateway_port}, ec);
    ASSERT_FALSE(ec) << ec.message();
    asio::write(c, asio::buffer(head), ec);
    crowd.push_back(std::move(c));
  }
  ASSERT_TRUE(WaitFor([&] { return Metric(d, "sandboxd_preview_connections") >= 190; }, 10s))
      << Metric(d, "sandboxd_preview_connections");
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = PreviewCall(app->url, {.target = "/", .timeout = 5s});
    ASSERT_TRUE(r.answered) << "request " << i << ": " << r.Describe();
    EXPECT_EQ(r.status, 200) << r.Describe();
  }
  EXPECT_GE(Metric(d, "sandboxd_preview_requests_total{outcome=\"evicted\"}"), 5);
}

TEST_F(GatewayTest, ShutdownAnswersHeldRequestsAndClosesTunnels) {
  FakeE2b fake;
  Daemon d(ServeOnFakeE2b(fake, kShutdownPorts, "20s"));
  ASSERT_TRUE(d.Start());
  std::string why;
  auto hang = CreateRunning(d, "hang", &why);
  ASSERT_TRUE(hang) << why;
  ASSERT_TRUE(PauseAndWait(d, "hang"));
  HttpResponse held;
  std::thread client([&] { held = PreviewCall(hang->url, {.target = "/state", .timeout = 20s}); });
  ASSERT_TRUE(WaitFor([&] { return Metric(d, "sandboxd_preview_held_requests") == 1; }, 5s));
  const auto t0 = SteadyClock::now();
  ::kill(d.pid(), SIGTERM);
  client.join();
  EXPECT_LT(SteadyClock::now() - t0, 2s) << "the held request waited for its deadline";
  EXPECT_EQ(held.status, 503) << held.Describe();
  EXPECT_EQ(held.Header("X-Sandboxd-Preview"), "shutdown");
  fake.Release();
  EXPECT_TRUE(WaitFor([&] { return !d.Running(); }, 20s)) << "sandboxd did not exit";
}

}  // namespace
}  // namespace sbx::integration
