// CurlTransport against a real HTTP server on 127.0.0.1:0 (a Beast sync
// server on its own thread): a round trip, a hanging answer and a refused
// connection. Loopback only; each test takes well under a second.
#include "provider/e2b/curl_transport.h"

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "base/net.h"

namespace sbx::provider::e2b {
namespace {

using namespace std::chrono_literals;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Serves one connection at a time, one request per connection, with
// `handler`, until destroyed. Nothing here throws: every Asio call takes an
// error_code.
class TestServer {
 public:
  using Handler = std::function<Response(const Request&)>;

  explicit TestServer(Handler handler) : handler_(std::move(handler)), acceptor_(io_) {
    boost::system::error_code ec;
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    EXPECT_FALSE(ec) << ec.message();
    port_ = acceptor_.local_endpoint(ec).port();
    thread_ = std::thread([this] { Run(); });
  }

  ~TestServer() {
    stopping_ = true;
    // Wake the blocking accept with a connection of our own.
    net::io_context io;
    tcp::socket wake(io);
    boost::system::error_code ec;
    wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string Url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + target;
  }

 private:
  void Run() {
    while (!stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) break;
      beast::flat_buffer buffer;
      Request request;
      http::read(socket, buffer, request, ec);
      if (ec) continue;
      Response response = handler_(request);
      response.prepare_payload();
      http::write(socket, response, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  Handler handler_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

class CurlTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto global = CurlGlobal::Create();
    ASSERT_TRUE(global.ok()) << global.error().ToString();
    global_ = std::move(*global).release();
  }
  static void TearDownTestSuite() {
    delete global_;
    global_ = nullptr;
  }

  static CurlGlobal* global_;
};

CurlGlobal* CurlTransportTest::global_ = nullptr;

TEST_F(CurlTransportTest, RoundTripsRequestAndResponse) {
  std::promise<Request> seen;
  TestServer server([&seen](const Request& req) {
    seen.set_value(req);
    Response res(http::status::created, req.version());
    res.set("X-Next-Token", "tok-1");
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"sandboxID":"iabc"})";
    return res;
  });
  CurlTransport transport(*global_);
  HttpRequest request;
  request.method = "POST";
  request.url = server.Url("/sandboxes?limit=5");
  request.headers = {{"X-API-Key", "e2b_secret"}, {"Content-Type", "application/json"}};
  request.body = R"({"templateID":"base"})";
  request.timeout = 2s;

  auto response = transport.Send(request);
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"sandboxID":"iabc"})");
  EXPECT_EQ(response->Header("x-next-token"), "tok-1");
  EXPECT_EQ(response->Header("Content-Type"), "application/json");

  Request got = seen.get_future().get();
  EXPECT_EQ(got.method(), http::verb::post);
  EXPECT_EQ(got.target(), "/sandboxes?limit=5");
  EXPECT_EQ(got["X-API-Key"], "e2b_secret");
  EXPECT_EQ(got[http::field::content_type], "application/json");
  EXPECT_EQ(got[http::field::user_agent], "sandboxd");
  EXPECT_EQ(got.body(), R"({"templateID":"base"})");
}

TEST_F(CurlTransportTest, SendsDeleteAndGetWithoutBody) {
  std::vector<std::string> seen;
  std::mutex mu;
  TestServer server([&](const Request& req) {
    {
      std::lock_guard lock(mu);
      seen.push_back(std::string(req.method_string()) + " " + std::string(req.target()) + " [" +
                     req.body() + "]");
    }
    return Response(
        req.method() == http::verb::delete_ ? http::status::no_content : http::status::not_found,
        req.version());
  });
  CurlTransport transport(*global_);
  auto deleted =
      transport.Send(HttpRequest{.method = "DELETE", .url = server.Url("/sandboxes/ia")});
  ASSERT_TRUE(deleted.ok()) << deleted.error().ToString();
  EXPECT_EQ(deleted->status, 204);
  auto got = transport.Send(HttpRequest{.method = "GET", .url = server.Url("/sandboxes/ib")});
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(got->status, 404);  // any HTTP status is a successful exchange
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"DELETE /sandboxes/ia []", "GET /sandboxes/ib []"}));
}

TEST_F(CurlTransportTest, HangingServerTimesOut) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  TestServer server([released](const Request& req) {
    released.wait();  // answers only once the test is done
    return Response(http::status::ok, req.version());
  });
  CurlTransport transport(*global_);
  SystemClock clock;
  const SteadyTime start = clock.SteadyNow();
  auto response =
      transport.Send(HttpRequest{.method = "GET", .url = server.Url("/slow"), .timeout = 300ms});
  const auto elapsed = clock.SteadyNow() - start;
  release.set_value();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), StatusCode::kDeadlineExceeded) << response.error().ToString();
  EXPECT_NE(response.error().message().find("/slow"), std::string::npos);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(CurlTransportTest, RefusedConnectionIsUnavailable) {
  uint16_t port = 0;
  {
    // Bind a port, then free it: nothing listens there afterwards.
    net::io_context io;
    tcp::acceptor probe(io);
    boost::system::error_code ec;
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.bind(endpoint, ec);
    ASSERT_FALSE(ec) << ec.message();
    port = probe.local_endpoint(ec).port();
  }
  CurlTransport transport(*global_);
  auto response = transport.Send(HttpRequest{
      .method = "GET", .url = "http://127.0.0.1:" + std::to_string(port) + "/", .timeout = 2s});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), StatusCode::kUnavailable) << response.error().ToString();
}

TEST_F(CurlTransportTest, OversizedBodyIsUnavailable) {
  TestServer server([](const Request& req) {
    Response res(http::status::ok, req.version());
    res.body() = std::string(1000, 'x');
    return res;
  });
  CurlTransport transport(*global_, {.max_response_bytes = 100});
  auto response = transport.Send(HttpRequest{.method = "GET", .url = server.Url("/big")});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(response.error().message().find("exceeds 100 bytes"), std::string::npos)
      << response.error().message();
}

TEST_F(CurlTransportTest, BadUrlIsInvalidArgument) {
  CurlTransport transport(*global_);
  auto response = transport.Send(HttpRequest{.method = "GET", .url = "gopher://127.0.0.1/"});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), StatusCode::kInvalidArgument) << response.error().ToString();
}

}  // namespace
}  // namespace sbx::provider::e2b
