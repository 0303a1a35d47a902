// The baseline of bench/sse.sh: the least a server can do to fan one change
// out to N event streams over this machine's loopback. It holds plain sockets
// open (any GET is a stream: an SSE response head and the frame of version 1),
// and on any POST answers 204 and sends the next version's frame, the same
// bytes as sandboxd's (OBJECT_FILE holds the sandbox object), with one send()
// per stream, shared among as many threads as sandboxd sends with (one per
// core, at most four). No routing, authentication or per-stream state.
// sse_fanout measures it exactly as it measures sandboxd, so the ratio of the
// two is what sandboxd's own work adds. Loopback only; runs until killed.
//
// Usage: sse_floor OBJECT_FILE   (prints "port N" once listening)
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <latch>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

// One SSE frame as an HTTP chunk.
std::string Chunk(int64_t version, const std::string& object) {
  const std::string frame =
      "event: sandbox\nid: " + std::to_string(version) + "\ndata: " + object + "\n\n";
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", frame.size());
  return std::string(size, static_cast<size_t>(n)) + frame + "\r\n";
}

// Sends `bytes` to every stream: this thread and the pool's take runs of 64
// in turn (the pool lives as long as the process, as sandboxd's does, so that
// its CPU time is counted).
void FanOut(boost::asio::thread_pool& pool, unsigned helpers, const std::vector<int>& streams,
            const std::string& bytes) {
  std::atomic<size_t> next{0};
  auto take = [&] {
    for (size_t begin = next.fetch_add(64); begin < streams.size(); begin = next.fetch_add(64)) {
      for (size_t i = begin; i < std::min(streams.size(), begin + 64); ++i) {
        (void)send(streams[i], bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      }
    }
  };
  std::latch done(helpers);
  for (unsigned k = 0; k < helpers; ++k) {
    boost::asio::post(pool, [&] {
      take();
      done.count_down();
    });
  }
  take();
  done.wait();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sse_floor OBJECT_FILE\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::string object((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!object.empty() && (object.back() == '\n' || object.back() == '\r')) object.pop_back();

  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 4096) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("listen");
    return 1;
  }
  std::printf("port %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  const unsigned helpers = std::min(4u, std::max(1u, std::thread::hardware_concurrency())) - 1;
  boost::asio::thread_pool pool(std::max(1u, helpers));
  const int ep = epoll_create1(0);
  epoll_event ev{.events = EPOLLIN, .data = {.fd = listener}};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  std::unordered_map<int, std::string> requests;  // connection → what it sent so far
  std::vector<int> streams;
  std::unordered_map<int, size_t> stream_at;      // stream fd → its index in streams
  int64_t version = 1;
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::vector<epoll_event> events(256);
  char buf[4096];
  for (;;) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int e = 0; e < n; ++e) {
      const int fd = events[e].data.fd;
      if (fd == listener) {
        for (int c; (c = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          epoll_event cev{.events = EPOLLIN, .data = {.fd = c}};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          requests[c];
        }
        continue;
      }
      const ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got <= 0) {
        if (auto it = stream_at.find(fd); it != stream_at.end()) {
          streams[it->second] = streams.back();
          stream_at[streams.back()] = it->second;
          streams.pop_back();
          stream_at.erase(fd);
        }
        requests.erase(fd);
        close(fd);
        continue;
      }
      auto req = requests.find(fd);
      if (req == requests.end()) continue;  // a stream's stray bytes
      req->second.append(buf, static_cast<size_t>(got));
      if (req->second.find("\r\n\r\n") == std::string::npos) continue;
      const bool post = req->second.rfind("POST ", 0) == 0;
      requests.erase(req);
      if (!post) {
        const std::string first = head + Chunk(version, object);
        (void)send(fd, first.data(), first.size(), MSG_NOSIGNAL);
        stream_at[fd] = streams.size();
        streams.push_back(fd);
        continue;
      }
      const char answer[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
      (void)send(fd, answer, sizeof answer - 1, MSG_NOSIGNAL);
      close(fd);
      FanOut(pool, helpers, streams, Chunk(++version, object));
    }
  }
}
