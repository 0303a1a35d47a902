// Server over real loopback sockets: what needs a socket — deadlines (with
// millisecond values), the connection limit, accept back-off, the two-phase
// shutdown and the per-route metrics. The request path itself is tested over
// test streams (connection_test.cc).
#include "http/server.h"
#include "http/testing/chunks.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <future>
#include <thread>

namespace sbx::http_server {
namespace {

class ServerTest : public ::testing::Test {
 protected:
  virtual ServerOptions Options() {
    return {.listen = "127.0.0.1:0", .max_body_bytes = 64};
  }
  void SetUp() override {
    router_.Add(http::verb::get, "/items/{id}",
                [](RequestContext& ctx) -> net::awaitable<Response> {
                  co_return JsonResponse(ctx.request, http::status::ok,
                                         "{\"id\":\"" + ctx.params["id"] + "\"}");
                });
    router_.Add(http::verb::post, "/items/{id}",
                [](RequestContext& ctx) -> net::awaitable<Response> {
                  co_return ErrorResponse(ctx.request, http::status::conflict, "conflict", "taken");
                });
    router_.Add(http::verb::get, "/bare", [](RequestContext& ctx) -> net::awaitable<Response> {
      Response res{http::status::ok, ctx.request.version()};  // no Content-Length set
      res.body() = "plain";
      co_return res;
    });
    // An answer far larger than the sockets' buffers take at once.
    router_.Add(http::verb::get, "/big", [](RequestContext& ctx) -> net::awaitable<Response> {
      Response res{http::status::ok, ctx.request.version()};
      res.body() = std::string(16 << 20, 'b');
      co_return res;
    });
    // Answers once the test releases it (the shutdown test).
    router_.Add(http::verb::get, "/slow", [this](RequestContext& ctx) -> net::awaitable<Response> {
      auto gate = clock_.NewTimer(co_await net::this_coro::executor);
      slow_gates_.insert(gate.get());
      slow_started_ = true;
      (void)co_await gate->WaitUntil(SteadyTime::max());
      slow_gates_.erase(gate.get());
      co_return JsonResponse(ctx.request, http::status::ok, "{}");
    });
    // Writes "first" and a chunk far larger than the socket takes at once,
    // so that TryWrite keeps a backlog; then flushes it and writes "tail".
    router_.AddStream(
        http::verb::get, "/flood", nullptr,
        [this](RequestContext&, StreamWriter& w) -> net::awaitable<void> {
          flood_.first = w.TryWrite("first");
          flood_.big = w.TryWrite(big_);
          flood_.backlog = w.backlog();
          flood_.refused_behind_backlog = !w.TryWrite("x");
          flood_.done = true;
          const bool flushed = co_await w.Flush();
          flood_.flushed = flushed;
          if (flushed) flood_.tail = co_await w.Write("tail");
        });
    // Refused by its guard before the body is read.
    router_.Add(
        http::verb::post, "/guarded",
        [](RequestContext& ctx) -> net::awaitable<Response> {
          co_return JsonResponse(ctx.request, http::status::ok, "{}");
        },
        [](RequestContext& ctx) -> net::awaitable<std::optional<Response>> {
          co_return ErrorResponse(ctx.request, http::status::unauthorized, "unauthorized",
                                  "no credentials");
        });
    // Bugs: a handler and a stream handler that throw.
    router_.Add(http::verb::get, "/throws", [](RequestContext&) -> net::awaitable<Response> {
      throw std::runtime_error("handler bug");
      co_return Response{};
    });
    router_.AddStream(http::verb::get, "/stream-throws", nullptr,
                      [](RequestContext&, StreamWriter&) -> net::awaitable<void> {
                        throw std::runtime_error("stream handler bug");
                        co_return;
                      });
    server_ = std::make_unique<Server>(io_, clock_, metrics_, router_, Options());
    auto bound = server_->Start();
    ASSERT_TRUE(bound.ok()) << bound.error().ToString();
    port_ = static_cast<uint16_t>(std::stoi(bound->substr(bound->rfind(':') + 1)));
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_->Stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // Sends `raw` and reads one response: the head, then Content-Length bytes
  // of body (none for HEAD), or everything until the server closes.
  std::string Exchange(net::ip::tcp::socket& s, const std::string& raw, bool head = false) {
    net::write(s, net::buffer(raw));
    std::string got;
    char buf[4096];
    for (;;) {
      const size_t end = got.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        const size_t at = got.find("Content-Length: ");
        if (at != std::string::npos && at < end) length = std::stoul(got.substr(at + 16));
        if (got.size() >= end + 4 + (head ? 0 : length)) return got;
      }
      beast::error_code ec;
      const size_t n = s.read_some(net::buffer(buf), ec);
      if (ec) return got;
      got.append(buf, n);
    }
  }
  net::ip::tcp::socket Connect() {
    net::ip::tcp::socket s(client_io_);
    s.connect({net::ip::make_address("127.0.0.1"), port_});
    // A server that fails to answer fails the test instead of hanging it.
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return s;
  }
  // Runs `f` on the server's I/O thread and returns its value.
  template <typename F>
  auto OnIo(F f) {
    std::promise<decltype(f())> done;
    net::post(io_, [&] { done.set_value(f()); });
    return done.get_future().get();
  }
  double Requests(const std::string& route, const std::string& code) {
    return metrics_.CounterValue("sandboxd_http_requests_total",
                                 {{"route", route}, {"code", code}});
  }

  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_{io_.get_executor()};
  net::io_context client_io_;
  SystemClock clock_;
  Metrics metrics_;
  Router router_;
  std::unique_ptr<Server> server_;
  std::set<Timer*> slow_gates_;  // I/O thread only
  // Lets every /slow request answer.
  void ReleaseSlow() {
    net::post(io_, [this] {
      for (Timer* t : slow_gates_) t->Cancel();
    });
  }
  std::atomic<bool> slow_started_{false};
  const std::string big_ = [] {
    std::string b(4 << 20, ' ');
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
    return b;
  }();
  struct {
    bool first = false, big = false, backlog = false, refused_behind_backlog = false;
    bool flushed = false, tail = false;
    std::atomic<bool> done{false};
  } flood_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(ServerTest, CountsEveryRequestByRouteTemplateAndCode) {
  auto s = Connect();
  for (const char* id : {"a", "b", "c"}) {
    (void)Exchange(s, std::string("GET /items/") + id + " HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  (void)Exchange(s, "POST /items/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  (void)Exchange(s, "DELETE /items/a HTTP/1.1\r\nHost: x\r\n\r\n");
  (void)Exchange(s, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  auto big = Connect();
  const std::string refused =
      Exchange(big, "POST /items/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
                        std::string(100, 'x'));
  EXPECT_EQ(refused.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << refused;
  EXPECT_EQ(Requests("/items/{id}", "200"), 3);
  EXPECT_EQ(Requests("/items/{id}", "409"), 1);
  EXPECT_EQ(Requests("method_not_allowed", "405"), 1);
  EXPECT_EQ(Requests("fallback", "404"), 1);
  EXPECT_EQ(Requests("rejected", "413"), 1);
  const std::string text = metrics_.Render();
  EXPECT_NE(text.find("sandboxd_http_request_duration_seconds_count{route=\"/items/{id}\"} 4\n"),
            std::string::npos)
      << text;
}

TEST_F(ServerTest, ShutdownClosesIdleConnectionsAndLetsARequestInProgressFinish) {
  auto idle = Connect();
  (void)Exchange(idle, "GET /items/a HTTP/1.1\r\nHost: x\r\n\r\n");  // now idle, kept alive
  auto busy = Connect();
  net::write(busy, net::buffer(std::string("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")));
  while (!slow_started_) std::this_thread::yield();
  EXPECT_EQ(OnIo([this] { return server_->open_connections(); }), 2u);

  server_->BeginShutdown();
  // The idle connection is closed without a word.
  char byte;
  beast::error_code ec;
  idle.read_some(net::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_EQ(OnIo([this] { return server_->open_connections(); }), 1u);
  // No new connections are taken.
  net::ip::tcp::socket late(client_io_);
  late.connect({net::ip::make_address("127.0.0.1"), port_}, ec);
  EXPECT_TRUE(ec) << "a connection was accepted after shutdown began";
  // The request in progress gets its answer, then the connection closes.
  ReleaseSlow();
  const std::string answer = Exchange(busy, "");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
  busy.read_some(net::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_EQ(OnIo([this] { return server_->open_connections(); }), 0u);
}

// Reads until the server closes the connection (or 5 s pass); returns how
// long that took and whether it closed.
std::pair<bool, std::chrono::milliseconds> WaitForClose(net::ip::tcp::socket& s) {
  const auto start = std::chrono::steady_clock::now();
  char buf[256];
  beast::error_code ec;
  while (!ec) (void)s.read_some(net::buffer(buf), ec);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return {ec == net::error::eof || ec == net::error::connection_reset, took};
}

class ServerDeadlineTest : public ServerTest {
 protected:
  ServerOptions Options() override {
    return {.listen = "127.0.0.1:0",
            .idle_timeout = std::chrono::milliseconds(300),
            .header_timeout = std::chrono::milliseconds(300),
            .linger_timeout = std::chrono::milliseconds(300)};
  }
};

TEST_F(ServerDeadlineTest, AnIdleConnectionIsClosedAtTheIdleTimeout) {
  auto s = Connect();
  auto [closed, took] = WaitForClose(s);
  EXPECT_TRUE(closed);
  EXPECT_GE(took.count(), 250);
  EXPECT_LT(took.count(), 3000);
}

// Slowloris: a head trickling in a byte at a time is cut off at the header
// timeout, however steadily the bytes come.
TEST_F(ServerDeadlineTest, ATricklingHeadIsCutOffAtTheHeaderTimeout) {
  auto s = Connect();
  const std::string head = "GET /items/a HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'z');
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (char c : head) {
      if (stop) break;
      beast::error_code ec;
      net::write(s, net::buffer(&c, 1), ec);
      if (ec) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto [closed, took] = WaitForClose(s);
  stop = true;
  trickle.join();
  EXPECT_TRUE(closed);
  EXPECT_LT(took.count(), 2000) << "the head took " << head.size() * 20 << " ms to send in full";
}

// Lingering after a refusal is bounded: a client that goes on sending is cut
// off at the linger timeout, however steadily the bytes come.
TEST_F(ServerDeadlineTest, LingeringAfterARefusalEndsAtTheLingerTimeout) {
  auto s = Connect();
  const auto start = std::chrono::steady_clock::now();
  net::write(s, net::buffer(std::string(
                    "POST /guarded HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")));
  // The answer and the FIN come at once; the server's close shows when the
  // client's sends start to fail.
  const std::string chunk = "1\r\nb\r\n";
  beast::error_code ec;
  for (int i = 0; i < 500 && !ec; ++i) {
    net::write(s, net::buffer(chunk), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  EXPECT_TRUE(ec) << "the server still took the body after 5000 ms";
  EXPECT_GE(took.count(), 250) << "closed before the linger timeout";
  EXPECT_LT(took.count(), 3000);
  std::string got;
  char buf[4096];
  beast::error_code read_ec;
  while (!read_ec) got.append(buf, s.read_some(net::buffer(buf), read_ec));
  EXPECT_EQ(got.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << got;
}

class ServerLimitTest : public ServerTest {
 protected:
  ServerOptions Options() override { return {.listen = "127.0.0.1:0", .max_connections = 3}; }
};

// At the limit, the connection that has waited longest for a request makes
// room for the new one; the new client is answered.
TEST_F(ServerLimitTest, TheLongestWaitingConnectionMakesRoom) {
  auto first = Connect();
  auto second = Connect();
  auto third = Connect();
  while (OnIo([this] { return server_->open_connections(); }) < 3) std::this_thread::yield();
  auto fresh = Connect();
  const std::string got = Exchange(fresh, "GET /items/n HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  auto [closed, took] = WaitForClose(first);
  EXPECT_TRUE(closed);
  EXPECT_EQ(metrics_.CounterValue("sandboxd_http_connections_evicted_total", {}), 1);
}

// A connection trickling a request's body holds no place either: the one
// that started waiting first makes room, as for a wait for a request.
TEST_F(ServerLimitTest, AConnectionStillSendingItsBodyMakesRoom) {
  std::vector<net::ip::tcp::socket> slow;
  for (int i = 0; i < 3; ++i) {
    slow.push_back(Connect());
    net::write(slow.back(), net::buffer(std::string(
                                "POST /items/a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")));
  }
  while (OnIo([this] { return server_->busy_connections(); }) < 3) std::this_thread::yield();
  auto fresh = Connect();
  const std::string got = Exchange(fresh, "GET /items/n HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_EQ(metrics_.CounterValue("sandboxd_http_connections_evicted_total", {}), 1);
  EXPECT_EQ(metrics_.CounterValue("sandboxd_http_connections_rejected_total", {}), 0);
}

// Nor does a client that asks and then does not read the answer: once its
// answer's write has stalled, it makes room like a waiting connection.
TEST_F(ServerLimitTest, AClientThatDoesNotReadItsAnswerMakesRoom) {
  std::vector<net::ip::tcp::socket> deaf;
  for (int i = 0; i < 3; ++i) {
    net::ip::tcp::socket s(client_io_);
    s.open(net::ip::tcp::v4());
    s.set_option(net::socket_base::receive_buffer_size(1024));
    s.connect({net::ip::make_address("127.0.0.1"), port_});
    net::write(s, net::buffer(std::string("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")));
    deaf.push_back(std::move(s));
  }
  while (OnIo([this] { return server_->busy_connections(); }) < 3) std::this_thread::yield();
  std::this_thread::sleep_for(kStalledWrite + std::chrono::milliseconds(200));
  auto fresh = Connect();
  const std::string got = Exchange(fresh, "GET /items/n HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_EQ(metrics_.CounterValue("sandboxd_http_connections_evicted_total", {}), 1);
  EXPECT_EQ(metrics_.CounterValue("sandboxd_http_connections_rejected_total", {}), 0);
}

TEST_F(ServerLimitTest, WhenEveryConnectionIsBusyTheNewOneIsClosed) {
  std::vector<net::ip::tcp::socket> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(Connect());
    net::write(busy.back(), net::buffer(std::string("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")));
  }
  while (OnIo([this] { return server_->open_connections(); }) < 3 || !slow_started_) {
    std::this_thread::yield();
  }
  // Every one of the three is busy once each has sent its head.
  while (OnIo([this] { return server_->busy_connections(); }) < 3) std::this_thread::yield();
  auto late = Connect();
  auto [closed, took] = WaitForClose(late);
  EXPECT_TRUE(closed);
  EXPECT_EQ(metrics_.CounterValue("sandboxd_http_connections_rejected_total", {}), 1);
  ReleaseSlow();
}

// A head Beast cannot parse gets a clear 400, not a silent close.
TEST_F(ServerTest, AMalformedHeadGetsA400WithAnErrorBody) {
  for (const std::string& raw : {std::string("GET /items/a HTTP/1.1\r\nHost x\r\n\r\n"),
                                std::string("G@T /items/a HTTP/1.1\r\nHost: x\r\n\r\n"),
                                std::string("GET /items/a HTTP/9.Z\r\nHost: x\r\n\r\n")}) {
    auto s = Connect();
    const std::string got = Exchange(s, raw);
    EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << got;
    EXPECT_NE(got.find(R"({"error":{"code":"invalid_argument","message":"malformed request: )"),
              std::string::npos)
        << got;
  }
  // A peer that leaves mid-head gets nothing, and the server goes on.
  {
    auto s = Connect();
    net::write(s, net::buffer(std::string("GET /items/a HT")));
  }
  auto s = Connect();
  EXPECT_EQ(Exchange(s, "GET /items/a HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

// A body the server cannot delimit is refused, not read as nothing with its
// bytes taken for the next request (RFC 9112 §6.3); a body whose chunking is
// broken gets an answer too, not a silent close.
TEST_F(ServerTest, BodiesThatCannotBeFramedGetA400) {
  {
    auto s = Connect();
    const std::string got = Exchange(s,
                                     "POST /items/a HTTP/1.1\r\nHost: x\r\n"
                                     "Transfer-Encoding: gzip\r\n\r\n"
                                     "GET /items/smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << got;
    EXPECT_NE(got.find("Transfer-Encoding must end in chunked"), std::string::npos) << got;
    EXPECT_EQ(got.find("smuggled"), std::string::npos) << "the body was served as a request";
    EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got;
  }
  for (const std::string& chunk : {std::string("zz"), std::string("ffffffffffffffffff")}) {
    auto s = Connect();
    const std::string got = Exchange(s,
                                     "POST /items/a HTTP/1.1\r\nHost: x\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n" +
                                         chunk + "\r\nabc\r\n0\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << chunk << ": " << got;
    EXPECT_NE(got.find(R"("code":"invalid_argument")"), std::string::npos) << got;
  }
  auto s = Connect();
  EXPECT_EQ(Exchange(s, "GET /items/a HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 200", 0),
            0u);
}

// A handler that throws is a bug: its client gets a 500 with an error body,
// and neither it nor a throwing stream handler leaves a connection behind.
TEST_F(ServerTest, AThrowingHandlerAnswers500AndLeavesNoConnectionBehind) {
  {
    auto s = Connect();
    const std::string got = Exchange(s, "GET /throws HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << got;
    EXPECT_NE(got.find(R"("code":"internal")"), std::string::npos) << got;
  }
  {
    auto s = Connect();
    // Whatever it got (the head may have gone out), the connection ends.
    (void)Exchange(s, "GET /stream-throws HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  for (int i = 0; i < 1000 && OnIo([this] { return server_->open_connections(); }) > 0; ++i) {
    std::this_thread::yield();
  }
  EXPECT_EQ(OnIo([this] { return server_->open_connections(); }), 0u);
  // The server still serves.
  auto s = Connect();
  EXPECT_EQ(Exchange(s, "GET /items/b HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 200", 0),
            0u);
}

// A client that sends its body without waiting (no Expect: 100-continue) while
// the server answers before reading it (a guard's refusal, 413) must get the
// answer: the server reads and drops the rest instead of closing on unread
// bytes, which resets the connection under the client's writes and reads.
TEST_F(ServerTest, AnAnswerGivenBeforeTheBodyIsReadIsNotLostToAReset) {
  const size_t size = 8 << 20;  // far more than the socket buffers hold
  // The guarded route's body is chunked: a Content-Length over the limit
  // would be refused (413) before the guard runs.
  std::string chunked;
  for (size_t sent = 0; sent < size; sent += 4096) {
    chunked += "1000\r\n" + std::string(4096, 'b') + "\r\n";
  }
  chunked += "0\r\n\r\n";
  for (const std::string& path : {std::string("/guarded"), std::string("/items/a")}) {
    auto s = Connect();
    const bool guarded = path == "/guarded";
    const std::string head =
        "POST " + path + " HTTP/1.1\r\nHost: x\r\n" +
        (guarded ? std::string("Transfer-Encoding: chunked")
                 : "Content-Length: " + std::to_string(size)) +
        "\r\n\r\n";
    const std::string body = guarded ? chunked : std::string(size, 'b');
    std::promise<beast::error_code> wrote;
    std::thread writer([&] {
      beast::error_code ec;
      net::write(s, std::array<net::const_buffer, 2>{net::buffer(head), net::buffer(body)}, ec);
      wrote.set_value(ec);
    });
    std::string got;
    beast::error_code read_ec;
    char buf[4096];
    while (!read_ec) {
      const size_t n = s.read_some(net::buffer(buf), read_ec);
      got.append(buf, n);
    }
    writer.join();
    const beast::error_code write_ec = wrote.get_future().get();
    EXPECT_FALSE(write_ec) << path << ": the body's send failed: " << write_ec.message();
    EXPECT_EQ(read_ec, net::error::eof) << path << ": " << read_ec.message();
    const std::string expected =
        guarded ? "HTTP/1.1 401 Unauthorized\r\n" : "HTTP/1.1 413 Payload Too Large\r\n";
    EXPECT_EQ(got.rfind(expected, 0), 0u) << path << ": " << got;
  }
}

// Out of descriptors, accept fails for as long as a connection waits in the
// backlog: the server must back off (and log once), not spin, and recover.
TEST_F(ServerTest, OutOfDescriptorsBacksOffAndRecovers) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  // Room for one more descriptor, which the client's socket takes.
  auto s = Connect();
  (void)Exchange(s, "GET /items/a HTTP/1.1\r\nHost: x\r\n\r\n");
  int open_fds = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++open_fds;
  }
  --open_fds;  // the directory iterator's own descriptor, closed again
  rlimit tight = before;
  tight.rlim_cur = static_cast<rlim_t>(open_fds + 1);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  net::ip::tcp::socket waiting(client_io_);
  beast::error_code ec;
  waiting.connect({net::ip::make_address("127.0.0.1"), port_}, ec);  // queued; accept fails
  ASSERT_FALSE(ec) << ec.message();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const double errors = metrics_.CounterValue("sandboxd_http_accept_errors_total", {});
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
  EXPECT_GE(errors, 1);
  EXPECT_LE(errors, 12) << "accept was retried " << errors << " times in 600 ms";
  // Descriptors are back: the waiting client is served.
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  setsockopt(waiting.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::string got = Exchange(waiting, "GET /items/w HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
}

}  // namespace
}  // namespace sbx::http_server

namespace sbx::http_server {
namespace {

// A stream's immediate writes: what the socket does not take is kept and
// sent first, so a slow reader still gets every chunk whole and in order.
TEST_F(ServerTest, TryWriteKeepsWhatTheSocketDoesNotTakeAndFlushesItInOrder) {
  net::ip::tcp::socket s(client_io_);
  s.open(net::ip::tcp::v4());
  s.set_option(net::socket_base::receive_buffer_size(4096));
  s.connect({net::ip::make_address("127.0.0.1"), port_});
  net::write(s, net::buffer(std::string("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")));
  for (int i = 0; i < 1000 && !flood_.done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(flood_.done);
  std::string got;
  char buf[65536];
  for (;;) {
    beast::error_code ec;
    const size_t n = s.read_some(net::buffer(buf), ec);
    if (ec) break;
    got.append(buf, n);
  }
  EXPECT_TRUE(flood_.first);
  EXPECT_TRUE(flood_.big);
  EXPECT_TRUE(flood_.backlog);
  EXPECT_TRUE(flood_.refused_behind_backlog);
  EXPECT_TRUE(flood_.flushed);
  EXPECT_TRUE(flood_.tail);
  ASSERT_NE(got.find("\r\n\r\n"), std::string::npos);
  const std::vector<std::string> chunks = testing::ChunksOf(got);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], "first");
  EXPECT_TRUE(chunks[1] == big_) << "the large chunk arrived changed, " << chunks[1].size()
                                 << " bytes";
  EXPECT_EQ(chunks[2], "tail");
}

}  // namespace
}  // namespace sbx::http_server
