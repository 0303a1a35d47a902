// Open-loop webhook client for bench/webhooks.sh: posts the signed deliveries
// of EVENTS_FILE (`signature<TAB>body` lines, bench/webhook_events.py) into
// POST /api/webhooks/e2b at a fixed offered rate, whatever the answers do,
// and measures each acknowledgement from the moment its request was due (so
// a stalled server shows up as latency, not as fewer requests: no
// coordinated omission). wrk measures the saturated server; this measures
// the latency at a given load, which is what a latency target means.
// Requests go out over CONNS keep-alive connections: a due request waits for
// a free connection, and that wait is part of its latency. Prints one line:
//   RESULT sent ok non2xx errors p50_ms p99_ms max_ms seconds p99_after_1s_ms
// and, with TIMELINE_FILE set, writes one "due_ms latency_ms" line per ack.
// Loopback only; gives up 30 s after the last request was due.
//
// Usage: webhook_rate HOST PORT EVENTS_FILE RATE CONNS
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "percentile.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using sbx::bench::Percentile;

namespace {

struct Event {
  std::string signature;
  std::string body;
};

struct Bench {
  net::io_context io;
  tcp::endpoint server;
  std::string host;
  std::vector<Event> events;
  Clock::time_point start;
  std::chrono::nanoseconds interval{};
  size_t next = 0;          // the next event to send
  std::deque<size_t> due;   // due events waiting for a free connection
  std::vector<net::steady_timer*> idle;  // connections waiting for a due event
  std::vector<std::pair<double, double>> timeline;  // per ack: (due ms since start, latency ms)
  size_t ok = 0, non2xx = 0, errors = 0, finished = 0;

  Clock::time_point DueAt(size_t i) const {
    return start + interval * static_cast<int64_t>(i);
  }
  bool Done() const { return finished == events.size(); }
  // Hands newly due events to waiting connections.
  void Wake(size_t n) {
    for (; n > 0 && !idle.empty(); --n) {
      idle.back()->cancel();
      idle.pop_back();
    }
  }
};

// One keep-alive connection: takes the oldest due event, posts it, records
// its latency from when it was due, repeats; reconnects after an error.
net::awaitable<void> Connection(Bench& b) {
  beast::tcp_stream stream(co_await net::this_coro::executor);
  beast::flat_buffer buffer;
  net::steady_timer idle(co_await net::this_coro::executor);
  bool connected = false;
  while (!b.Done()) {
    if (b.due.empty()) {
      // Nothing due: wait until the schedule wakes this connection.
      idle.expires_at(Clock::time_point::max());
      b.idle.push_back(&idle);
      boost::system::error_code woken;
      co_await idle.async_wait(net::redirect_error(net::use_awaitable, woken));
      continue;
    }
    const size_t i = b.due.front();
    b.due.pop_front();
    boost::system::error_code ec;
    if (!connected) {
      co_await stream.async_connect(b.server, net::redirect_error(net::use_awaitable, ec));
      connected = !ec;
    }
    http::request<http::string_body> req{http::verb::post, "/api/webhooks/e2b", 11};
    req.set(http::field::host, b.host);
    req.set(http::field::content_type, "application/json");
    req.set("e2b-signature", b.events[i].signature);
    req.body() = b.events[i].body;
    req.prepare_payload();
    http::response<http::string_body> res;
    if (connected) {
      stream.expires_after(std::chrono::seconds(10));
      co_await http::async_write(stream, req, net::redirect_error(net::use_awaitable, ec));
      if (!ec) {
        co_await http::async_read(stream, buffer, res,
                                  net::redirect_error(net::use_awaitable, ec));
      }
    }
    const double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - b.DueAt(i)).count();
    ++b.finished;
    if (!connected || ec) {
      ++b.errors;
      beast::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
      continue;
    }
    b.timeline.emplace_back(
        std::chrono::duration<double, std::milli>(b.DueAt(i) - b.start).count(), ms);
    if (res.result_int() / 100 == 2) {
      ++b.ok;
    } else {
      ++b.non2xx;
    }
    if (!res.keep_alive()) {
      beast::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
    }
  }
}

// Releases each event into the due queue at its time.
net::awaitable<void> Schedule(Bench& b) {
  net::steady_timer timer(co_await net::this_coro::executor);
  while (b.next < b.events.size()) {
    const auto now = Clock::now();
    size_t released = 0;
    for (; b.next < b.events.size() && b.DueAt(b.next) <= now; ++released) {
      b.due.push_back(b.next++);
    }
    b.Wake(released);
    if (b.next < b.events.size()) {
      timer.expires_at(b.DueAt(b.next));
      co_await timer.async_wait(net::use_awaitable);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: webhook_rate HOST PORT EVENTS_FILE RATE CONNS\n");
    return 2;
  }
  Bench b;
  b.host = argv[1];
  b.server = tcp::endpoint(net::ip::make_address(argv[1]),
                           static_cast<unsigned short>(std::atoi(argv[2])));
  std::ifstream in(argv[3]);
  for (std::string line; std::getline(in, line);) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    b.events.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  const double rate = std::atof(argv[4]);
  const int conns = std::atoi(argv[5]);
  if (b.events.empty() || rate <= 0 || conns <= 0) {
    std::fprintf(stderr, "webhook_rate: no events, or a rate or connection count below 1\n");
    return 2;
  }
  b.interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
  b.start = Clock::now() + std::chrono::milliseconds(100);
  net::co_spawn(b.io, Schedule(b), net::detached);
  for (int c = 0; c < conns; ++c) net::co_spawn(b.io, Connection(b), net::detached);
  const auto give_up = b.DueAt(b.events.size()) + std::chrono::seconds(30);
  while (!b.Done() && Clock::now() < give_up) b.io.run_for(std::chrono::milliseconds(100));
  const double seconds =
      std::chrono::duration<double>(Clock::now() - b.start).count();
  // Every ack, and the same without those due in the first second: the
  // daemon's first requests on a fresh database (and this client's
  // connections opening) against its steady state.
  std::vector<double> all;
  std::vector<double> warm;
  for (const auto& [due, ms] : b.timeline) {
    all.push_back(ms);
    if (due >= 1000) warm.push_back(ms);
  }
  std::printf("RESULT %zu %zu %zu %zu %.3f %.3f %.3f %.2f %.3f\n", b.finished, b.ok, b.non2xx,
              b.errors + (b.events.size() - b.finished), Percentile(all, 50), Percentile(all, 99),
              Percentile(all, 100), seconds, Percentile(warm, 99));
  // When the slow acks came (TIMELINE_FILE).
  if (const char* path = std::getenv("TIMELINE_FILE")) {
    if (FILE* f = std::fopen(path, "w")) {
      for (const auto& [due, ms] : b.timeline) std::fprintf(f, "%.3f %.3f\n", due, ms);
      std::fclose(f);
    }
  }
  return 0;
}
