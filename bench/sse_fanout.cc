// SSE fan-out client for bench/sse.sh: opens N event streams to one project
// on sandboxd or on the baseline sse_floor (loopback), waits until each has
// the current object, records the server's RSS, sends one change (POST
// …/activity) and measures when each stream receives the next version, and
// the CPU the server (process PID) and this client spent meanwhile. Prints
// one JSON line. Written on Boost.Asio rather than in Python so that reading
// 10,000 sockets costs microseconds each and the measured fan-out is the
// server's, not the client's. Loopback only; gives up after 60 s.
//
// Usage: sse_fanout HOST PORT TOKEN PROJECT N PID
#include <boost/asio.hpp>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "percentile.h"

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

long RssKib(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// CPU time of every thread of process `pid` so far, in ms (schedstat: ns).
// Threads that have exited are not counted: both servers keep theirs.
double CpuMs(int pid) {
  double ns = 0;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& t : std::filesystem::directory_iterator(tasks)) {
    std::ifstream f(t.path() / "schedstat");
    double on_cpu = 0;
    if (f >> on_cpu) ns += on_cpu;
  }
  return ns / 1e6;
}

struct Stream {
  // Room for what arrives up front, so that taking the change costs no
  // allocation or page fault (the client shares the daemon's cores).
  explicit Stream(net::io_context& io) : socket(io) { pending.reserve(2 * sizeof buf); }
  tcp::socket socket;
  std::string request;
  std::string pending;  // unparsed tail of what arrived
  char buf[4096];
  int64_t first = -1;   // the version it had on connect
  Clock::time_point got{};
  bool done = false;
};

struct Bench {
  net::io_context io;
  tcp::endpoint server;
  std::vector<std::unique_ptr<Stream>> streams;
  size_t ready = 0;
  size_t received = 0;
  size_t failed = 0;
  bool changed = false;

  void Read(Stream& s) {
    s.socket.async_read_some(net::buffer(s.buf), [this, &s](boost::system::error_code ec,
                                                            size_t n) {
      if (ec) {
        if (!s.done) ++failed;
        return;
      }
      s.pending.append(s.buf, n);
      for (;;) {
        const size_t at = s.pending.find("\nid: ");
        if (at == std::string::npos) break;
        const size_t end = s.pending.find('\n', at + 5);
        if (end == std::string::npos) break;
        int64_t v = -1;
        std::from_chars(s.pending.data() + at + 5, s.pending.data() + end, v);
        s.pending.erase(0, end);
        if (s.first < 0) {
          s.first = v;
          ++ready;
        } else if (changed && v > s.first && !s.done) {
          // The stream stays open (as a browser's would) until every client
          // has the change: closing here would make the daemon tear streams
          // down in the middle of the fan-out being measured.
          s.got = Clock::now();
          s.done = true;
          ++received;
          return;
        }
      }
      if (s.pending.size() > sizeof s.buf) s.pending.erase(0, s.pending.size() - 16);
      Read(s);
    });
  }

  void Open(Stream& s, const std::string& host, const std::string& token,
            const std::string& project) {
    s.request = "GET /api/projects/" + project + "/sandbox/events HTTP/1.1\r\nHost: " + host +
                "\r\nAuthorization: Bearer " + token + "\r\n\r\n";
    s.socket.async_connect(server, [this, &s](boost::system::error_code ec) {
      if (ec) {
        ++failed;
        return;
      }
      net::async_write(s.socket, net::buffer(s.request),
                       [this, &s](boost::system::error_code wec, size_t) {
                         if (wec) {
                           ++failed;
                           return;
                         }
                         Read(s);
                       });
    });
  }

  // Runs the loop until `done` or the deadline.
  template <typename F>
  bool RunUntil(F done, Clock::time_point deadline) {
    while (!done() && Clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
    return done();
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: sse_fanout HOST PORT TOKEN PROJECT N PID\n");
    return 2;
  }
  const std::string host = argv[1];
  const auto port = static_cast<unsigned short>(std::stoi(argv[2]));
  const std::string token = argv[3];
  const std::string project = argv[4];
  const size_t n = std::stoul(argv[5]);
  const int pid = std::stoi(argv[6]);
  const auto deadline = Clock::now() + std::chrono::seconds(60);

  Bench b;
  b.server = tcp::endpoint(net::ip::make_address(host), port);
  const long before = RssKib(pid);
  const auto t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    b.streams.push_back(std::make_unique<Stream>(b.io));
    b.Open(*b.streams.back(), host, token, project);
    // Connect in batches so the listen backlog never overflows.
    if (i % 200 == 199) b.RunUntil([&] { return b.ready + b.failed > i - 100; }, deadline);
  }
  if (!b.RunUntil([&] { return b.ready + b.failed >= n; }, deadline) || b.failed > 0) {
    std::fprintf(stderr, "opened %zu of %zu streams (%zu failed)\n", b.ready, n, b.failed);
    return 1;
  }
  const double connect_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const long during = RssKib(pid);

  // The change, on its own connection.
  tcp::socket change(b.io);
  change.connect(b.server);
  const std::string post = "POST /api/projects/" + project +
                           "/sandbox/activity HTTP/1.1\r\nHost: " + host +
                           "\r\nAuthorization: Bearer " + token +
                           "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  b.changed = true;
  const double server_cpu0 = CpuMs(pid);
  const double client_cpu0 = CpuMs(getpid());
  const auto t_change = Clock::now();
  net::write(change, net::buffer(post));
  std::string answer;
  char abuf[1024];
  bool acked = false;
  Clock::time_point t_ack{};
  change.async_read_some(net::buffer(abuf), [&](boost::system::error_code ec, size_t len) {
    if (!ec) answer.append(abuf, len);
    t_ack = Clock::now();
    acked = true;
  });
  b.RunUntil([&] { return b.received + b.failed >= n && acked; }, deadline);
  // What the fan-out cost each side (both share this machine's cores).
  const double server_cpu = CpuMs(pid) - server_cpu0;
  const double client_cpu = CpuMs(getpid()) - client_cpu0;
  if (answer.rfind("HTTP/1.1 204", 0) != 0) {
    std::fprintf(stderr, "the change was refused: %s\n", answer.c_str());
    return 1;
  }

  std::vector<double> lat;
  for (const auto& s : b.streams) {
    if (s->done) lat.push_back(std::chrono::duration<double, std::milli>(s->got - t_change).count());
  }
  auto pct = [&](double p) { return sbx::bench::Percentile(lat, p); };
  std::printf(
      "{\"streams\": %zu, \"received\": %zu, \"connect_s\": %.2f, \"ack_ms\": %.2f, "
      "\"p50_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, \"rss_before_kib\": %ld, "
      "\"rss_during_kib\": %ld, \"server_cpu_ms\": %.1f, \"client_cpu_ms\": %.1f}\n",
      n, b.received, connect_s,
      std::chrono::duration<double, std::milli>(t_ack - t_change).count(), pct(50), pct(99),
      pct(100), before, during, server_cpu, client_cpu);
  return b.received == n ? 0 : 1;
}
