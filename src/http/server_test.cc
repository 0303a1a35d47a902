// Server over real loopback sockets: the bytes it writes, keep-alive, HEAD,
// limits, and the per-route request metrics.
#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace sbx::http_server {
namespace {

class ServerTest : public ::testing::Test {
 protected:
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
    // Answers once the test releases it (the shutdown test).
    router_.Add(http::verb::get, "/slow", [this](RequestContext& ctx) -> net::awaitable<Response> {
      slow_started_ = true;
      (void)co_await slow_gate_->WaitUntil(SteadyTime::max());
      co_return JsonResponse(ctx.request, http::status::ok, "{}");
    });
    slow_gate_ = clock_.NewTimer(io_.get_executor());
    server_ =
        std::make_unique<Server>(io_, clock_, metrics_, router_,
                                 ServerOptions{.listen = "127.0.0.1:0", .max_body_bytes = 64});
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
  std::unique_ptr<Timer> slow_gate_;
  std::atomic<bool> slow_started_{false};
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(ServerTest, WritesCompleteResponsesOnOneKeptAliveConnection) {
  auto s = Connect();
  const std::string first =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
      "Content-Length: 10\r\n\r\n{\"id\":\"a\"}";
  EXPECT_EQ(Exchange(s, "GET /items/a HTTP/1.1\r\nHost: x\r\n\r\n"), first);
  const std::string second =
      "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
      "Content-Length: 47\r\n\r\n{\"error\":{\"code\":\"conflict\",\"message\":\"taken\"}}";
  EXPECT_EQ(Exchange(s, "POST /items/b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), second);
  // HEAD: the GET's head with its Content-Length, and no body.
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
      "Content-Length: 10\r\n\r\n";
  EXPECT_EQ(Exchange(s, "HEAD /items/a HTTP/1.1\r\nHost: x\r\n\r\n", true), head);
  // A handler that set no length still gets a correct one.
  const std::string bare = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain";
  EXPECT_EQ(Exchange(s, "GET /bare HTTP/1.1\r\nHost: x\r\n\r\n"), bare);
}

TEST_F(ServerTest, HttpOneZeroWithoutKeepAliveIsClosedAfterTheResponse) {
  auto s = Connect();
  const std::string got = Exchange(s, "GET /items/z HTTP/1.0\r\n\r\n");
  char byte;
  beast::error_code ec;
  s.read_some(net::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, net::error::eof) << "the connection stays open";
  EXPECT_EQ(got.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("\r\n\r\n{\"id\":\"z\"}"), std::string::npos) << got;
}

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
  net::post(io_, [this] { slow_gate_->Cancel(); });
  const std::string answer = Exchange(busy, "");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
  busy.read_some(net::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_EQ(OnIo([this] { return server_->open_connections(); }), 0u);
}

}  // namespace
}  // namespace sbx::http_server
