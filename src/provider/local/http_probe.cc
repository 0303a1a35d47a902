#include "provider/local/http_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

namespace sbx::provider::local {
namespace {

constexpr size_t kMaxBodyBytes = 1024 * 1024;
constexpr size_t kMaxHeaderBytes = 16 * 1024;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    char b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

// What is known about a response once its header has arrived.
struct Head {
  size_t header_bytes = 0;  // including the blank line
  int status = 0;
  std::optional<size_t> content_length;
};

// Parses the status line and Content-Length. nullopt while the header is
// incomplete; an error when it is not HTTP.
Result<std::optional<Head>> ParseHead(std::string_view data) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > kMaxHeaderBytes) return Unavailable("response header too large");
    return std::optional<Head>();
  }
  Head head;
  head.header_bytes = end + 4;
  std::string_view header = data.substr(0, end);
  // "HTTP/1.1 200 OK"
  if (!header.starts_with("HTTP/1.") || header.size() < 12 || header[8] != ' ') {
    return Unavailable("not an HTTP response");
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (header[i] < '0' || header[i] > '9') return Unavailable("bad HTTP status line");
    status = status * 10 + (header[i] - '0');
  }
  head.status = status;
  size_t pos = header.find("\r\n");
  while (pos != std::string_view::npos) {
    size_t next = header.find("\r\n", pos + 2);
    std::string_view line = header.substr(
        pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
    if (StartsWithNoCase(line, "content-length:")) {
      size_t n = 0;
      for (char c : line.substr(15)) {
        if (c == ' ' || c == '\t') continue;
        if (c < '0' || c > '9') return Unavailable("bad Content-Length");
        n = n * 10 + static_cast<size_t>(c - '0');
        if (n > kMaxBodyBytes) return Unavailable("response body too large");
      }
      head.content_length = n;
    }
    pos = next;
  }
  return std::optional<Head>(head);
}

// Waits until a socket is ready for `events`, or the deadline passes.
struct Waiter {
  Clock& clock;
  SteadyTime deadline;
  const std::string& target;
  std::chrono::milliseconds timeout;

  Status operator()(int waited, short events) const {
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock.SteadyNow());
      if (left.count() <= 0) {
        return DeadlineExceeded(fmt::format("{}: no answer within {}ms", target, timeout.count()));
      }
      pollfd p{.fd = waited, .events = events, .revents = 0};
      int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
      if (rc > 0) return OkStatus();
      if (rc < 0 && errno != EINTR) return Internal(target + ": poll: " + std::strerror(errno));
    }
  }
};

// Makes `fd` non-blocking and connects it to 127.0.0.1:`port`.
Status Connect(int fd, uint16_t port, const Waiter& wait) {
  const std::string& target = wait.target;
  if (fd < 0) return Internal(target + ": no socket");
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return Internal(target + ": fcntl: " + std::strerror(errno));
  }
  sockaddr_in addr = Loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) return Unavailable(target + ": connect: " + std::strerror(errno));
    SBX_RETURN_IF_ERROR(wait(fd, POLLOUT));
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Unavailable(target + ": connect: " + std::strerror(err));
  }
  return OkStatus();
}

// Sends all of `request` on the non-blocking `fd`.
Status SendAll(int fd, const std::string& request, const Waiter& wait) {
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      SBX_RETURN_IF_ERROR(wait(fd, POLLOUT));
    } else if (errno != EINTR) {
      return Unavailable(wait.target + ": send: " + std::strerror(errno));
    }
  }
  return OkStatus();
}

// Reads one response from the non-blocking `fd`: up to its Content-Length, or
// to the end of the connection when it has none.
Result<HttpResponse> ReadResponse(int fd, const Waiter& wait) {
  const std::string& target = wait.target;
  std::string data;
  std::optional<Head> head;
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      SBX_RETURN_IF_ERROR(wait(fd, POLLIN));
      continue;
    }
    if (n < 0) return Unavailable(target + ": recv: " + std::strerror(errno));
    const bool eof = n == 0;
    data.append(buf, static_cast<size_t>(n));
    if (!head.has_value()) {
      auto parsed = ParseHead(data);
      if (!parsed.has_value()) return parsed.error().WithContext(target);
      head = *parsed;
    }
    if (head.has_value()) {
      size_t body_bytes = data.size() - head->header_bytes;
      if (body_bytes > kMaxBodyBytes) return Unavailable(target + ": response body too large");
      if (eof && head->content_length.has_value() && body_bytes < *head->content_length) {
        return Unavailable(target + ": connection closed before the full body");
      }
      if (eof || (head->content_length.has_value() && body_bytes >= *head->content_length)) {
        size_t keep = head->content_length.value_or(body_bytes);
        return HttpResponse{.status = head->status,
                            .body = data.substr(head->header_bytes, std::min(keep, body_bytes))};
      }
    }
    if (eof) return Unavailable(target + ": connection closed before a full response");
  }
}

}  // namespace

Result<HttpResponse> HttpGetOn(Clock& clock, int fd, uint16_t port, const std::string& path,
                               std::chrono::milliseconds timeout) {
  Socket s(fd);
  const std::string target = fmt::format("GET http://127.0.0.1:{}{}", port, path);
  const Waiter wait{.clock = clock,
                    .deadline = clock.SteadyNow() + timeout,
                    .target = target,
                    .timeout = timeout};
  SBX_RETURN_IF_ERROR(Connect(s.get(), port, wait));
  const std::string request = fmt::format(
      "GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: sandboxd-probe\r\n"
      "Connection: close\r\n\r\n",
      path, port);
  SBX_RETURN_IF_ERROR(SendAll(s.get(), request, wait));
  return ReadResponse(s.get(), wait);
}

}  // namespace sbx::provider::local
