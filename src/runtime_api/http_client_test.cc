// BeastHttpClient against a real peer on 127.0.0.1 that writes its answers
// byte for byte, as a sandbox's server might.
#include "runtime_api/http_client.h"

#include <gtest/gtest.h>

namespace sbx::runtime_api {
namespace {

using namespace std::chrono_literals;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

class HttpClientTest : public ::testing::Test {
 protected:
  // Serves one connection: reads the request head, writes `answer`, closes.
  uint16_t ServeOnce(std::string answer) {
    acceptor_.open(net::ip::tcp::v4());
    acceptor_.bind({net::ip::address_v4::loopback(), 0});
    acceptor_.listen();
    net::co_spawn(io_, Serve(std::move(answer)), net::detached);
    return acceptor_.local_endpoint().port();
  }

  Result<http_server::Response> Send(uint16_t port, http::verb method,
                                     const std::string& host = "127.0.0.1") {
    http_server::Request req{method, "/page", 11};
    req.set(http::field::host, host);
    req.keep_alive(false);
    std::optional<Result<http_server::Response>> out;
    net::co_spawn(io_, client_.Send(host, port, req, 5s),
                  [&](std::exception_ptr e, Result<http_server::Response> r) {
                    if (e) std::rethrow_exception(e);
                    out.emplace(std::move(r));
                  });
    for (int i = 0; i < 1000 && !out; ++i) {
      io_.restart();
      io_.run_for(10ms);
    }
    if (!out) return Internal("the client never answered");
    return std::move(*out);
  }

  net::io_context io_;
  net::ip::tcp::acceptor acceptor_{io_};
  BeastHttpClient client_;

 private:
  net::awaitable<void> Serve(std::string answer) {
    auto [accept_ec, socket] = co_await acceptor_.async_accept(kNoThrow);
    if (accept_ec) co_return;
    std::string head;
    auto [read_ec, n] = co_await net::async_read_until(socket, net::dynamic_buffer(head),
                                                       "\r\n\r\n", kNoThrow);
    if (read_ec) co_return;
    // Whether the peer read it all is the client's test, not the server's.
    (void)co_await net::async_write(socket, net::buffer(answer), kNoThrow);
    beast::error_code ignored;
    socket.shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  }
};

// Names are the Resolver's (with its deadline and the webhook target
// policy); the client takes addresses only.
TEST_F(HttpClientTest, ANameIsRefusedAndAnAddressConnects) {
  const uint16_t port = ServeOnce("HTTP/1.1 204 No Content\r\n\r\n");
  auto named = Send(port, http::verb::get, "localhost");
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.error().code(), StatusCode::kInvalidArgument) << named.error().ToString();
  auto r = Send(port, http::verb::get);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->result(), http::status::no_content);
}

TEST_F(HttpClientTest, InterimAnswersAreSkippedAndTheFinalOneReturned) {
  const uint16_t port = ServeOnce(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Answer: final\r\n\r\nhello");
  auto r = Send(port, http::verb::post);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->result(), http::status::created);
  EXPECT_EQ(r->body(), "hello");
  EXPECT_EQ((*r)["X-Answer"], "final");
}

TEST_F(HttpClientTest, AnAnswerThatEndsAfterItsInterimHeadIsATransportError) {
  const uint16_t port = ServeOnce("HTTP/1.1 100 Continue\r\n\r\n");
  auto r = Send(port, http::verb::get);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable) << r.error().ToString();
}

TEST_F(HttpClientTest, HeadAnswersCarryTheirLengthButNoBody) {
  const uint16_t port = ServeOnce("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
  auto r = Send(port, http::verb::head);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->result(), http::status::ok);
  EXPECT_EQ((*r)[http::field::content_length], "12");
  EXPECT_TRUE(r->body().empty());
}

}  // namespace
}  // namespace sbx::runtime_api
