// Real sockets on 127.0.0.1 (the test's own namespace) with kernel-chosen
// ports; no network and no root needed.
#include "provider/local/http_probe.h"

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

// HttpGetOn over a fresh socket of this process.
Result<HttpResponse> Get(Clock& clock, uint16_t port, const std::string& path,
                         std::chrono::milliseconds timeout) {
  return HttpGetOn(clock, ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port, path, timeout);
}

TEST(HttpProbeTest, GetsStatusAndBody) {
  SystemClock clock;
  Listener listener;
  std::thread server = listener.ServeOnce(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 14\r\n\r\n"
      "{\"requests\":1}");
  auto r = Get(clock, listener.port(), "/state", 2s);
  server.join();
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"requests\":1}");
  EXPECT_TRUE(listener.last_request().starts_with("GET /state HTTP/1.1\r\n"));
}

TEST(HttpProbeTest, ReadsBodyUntilCloseWithoutLength) {
  SystemClock clock;
  Listener listener;
  std::thread server = listener.ServeOnce("HTTP/1.0 503 Service Unavailable\r\n\r\nbusy");
  auto r = Get(clock, listener.port(), "/", 2s);
  server.join();
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "busy");
}

TEST(HttpProbeTest, NonHttpAnswerIsUnavailable) {
  SystemClock clock;
  Listener listener;
  std::thread server = listener.ServeOnce("SSH-2.0-OpenSSH\r\n\r\n");
  auto r = Get(clock, listener.port(), "/", 2s);
  server.join();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(HttpProbeTest, SilentServerTimesOut) {
  SystemClock clock;
  Listener listener;  // listens (the kernel accepts) but never answers
  auto r = Get(clock, listener.port(), "/", 100ms);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find(std::to_string(listener.port())), std::string::npos);
}

TEST(HttpProbeTest, ClosedPortIsUnavailable) {
  SystemClock clock;
  uint16_t port = 0;
  {
    Listener listener;
    port = listener.port();
  }
  EXPECT_EQ(Get(clock, port, "/", 1s).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sbx::provider::local
