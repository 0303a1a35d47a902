// Real sockets on 127.0.0.1 with kernel-chosen ports; no network needed.
#include "provider/local/socket_loopback_network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1:<ephemeral>.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd_); }
  uint16_t port() const { return port_; }

  // Accepts one connection, reads the request head, writes `response`, closes.
  std::thread ServeOnce(std::string response) {
    return std::thread([this, response = std::move(response)] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string request;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof(buf));
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      last_request_ = request;
      (void)!::write(c, response.data(), response.size());
      ::close(c);
    });
  }
  const std::string& last_request() const { return last_request_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string last_request_;
};

TEST(SocketLoopbackNetworkTest, GetsStatusAndBody) {
  SystemClock clock;
  SocketLoopbackNetwork net(clock);
  Listener listener;
  std::thread server = listener.ServeOnce(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 14\r\n\r\n"
      "{\"requests\":1}");
  auto r = net.HttpGet(listener.port(), "/state", 2s);
  server.join();
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"requests\":1}");
  EXPECT_TRUE(listener.last_request().starts_with("GET /state HTTP/1.1\r\n"));
}

TEST(SocketLoopbackNetworkTest, ReadsBodyUntilCloseWithoutLength) {
  SystemClock clock;
  SocketLoopbackNetwork net(clock);
  Listener listener;
  std::thread server = listener.ServeOnce("HTTP/1.0 503 Service Unavailable\r\n\r\nbusy");
  auto r = net.HttpGet(listener.port(), "/", 2s);
  server.join();
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "busy");
}

TEST(SocketLoopbackNetworkTest, NonHttpAnswerIsUnavailable) {
  SystemClock clock;
  SocketLoopbackNetwork net(clock);
  Listener listener;
  std::thread server = listener.ServeOnce("SSH-2.0-OpenSSH\r\n\r\n");
  auto r = net.HttpGet(listener.port(), "/", 2s);
  server.join();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(SocketLoopbackNetworkTest, SilentServerTimesOut) {
  SystemClock clock;
  SocketLoopbackNetwork net(clock);
  Listener listener;  // listens (the kernel accepts) but never answers
  auto r = net.HttpGet(listener.port(), "/", 100ms);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find(std::to_string(listener.port())), std::string::npos);
}

TEST(SocketLoopbackNetworkTest, ClosedPortIsUnavailableAndBindable) {
  SystemClock clock;
  SocketLoopbackNetwork net(clock);
  uint16_t port = 0;
  {
    Listener listener;
    port = listener.port();
    EXPECT_FALSE(net.CanBind(port));
  }
  EXPECT_TRUE(net.CanBind(port));
  EXPECT_EQ(net.HttpGet(port, "/", 1s).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sbx::provider::local
