// EventStreams over a real loopback HTTP server, with FakeClock time.
#include "api/events.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "http/server.h"
#include "http/testing/chunks.h"
#include "lifecycle/testing.h"

namespace sbx::api {
namespace {

using namespace std::chrono_literals;
using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;

class EventsTest : public ::testing::Test {
 protected:
  void Start(EventStreamOptions options,
             http_server::ServerOptions server = {.listen = "127.0.0.1:0"},
             core::Metadata metadata = {}) {
    api_.Register(router_);
    streams_ = std::make_unique<EventStreams>(h_.io, h_.clock, api_, h_.lifecycle, h_.bus,
                                              h_.metrics, options);
    streams_->Register(router_);
    server_ = std::make_unique<http_server::Server>(h_.io, h_.clock, h_.metrics, router_, server);
    auto bound = server_->Start();
    ASSERT_TRUE(bound.ok());
    port_ = static_cast<uint16_t>(std::stoi(bound->substr(bound->rfind(':') + 1)));
    ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.Create(
                                   "p1", {.idle_timeout_s = 30, .metadata = std::move(metadata)}))
                    .ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    // Each reader coroutine writes to its Client when its read ends: close the
    // sockets and let every reader finish before the clients are freed.
    for (auto& c : clients_) c->socket.close();
    EXPECT_TRUE(Pump([&] {
      return std::all_of(clients_.begin(), clients_.end(), [](auto& c) { return c->closed; });
    }));
    clients_.clear();
    Pump([] { return false; }, 20);
  }

  // A raw client: sends the request, accumulates everything it receives.
  struct Client {
    explicit Client(net::io_context& io) : socket(io) {}
    net::ip::tcp::socket socket;
    std::string received;
    bool closed = false;
  };
  Client& Open(const std::string& extra_headers = "",
               const std::string& target = "/api/projects/p1/sandbox/events") {
    Client& c = Connect();
    Request(c, extra_headers, target);
    net::co_spawn(h_.io, Read(c), net::detached);
    return c;
  }
  // A client that never reads, with a small receive buffer.
  Client& OpenUnread() {
    Client& c = Connect(4096);
    Request(c, "", "/api/projects/p1/sandbox/events");
    c.closed = true;  // no reader to wait for
    return c;
  }
  Client& Connect(int receive_buffer = 0) {
    clients_.push_back(std::make_unique<Client>(h_.io));
    Client& c = *clients_.back();
    c.socket.open(net::ip::tcp::v4());
    if (receive_buffer > 0) {
      c.socket.set_option(net::socket_base::receive_buffer_size(receive_buffer));
    }
    c.socket.connect({net::ip::make_address("127.0.0.1"), port_});
    return c;
  }
  static void Request(Client& c, const std::string& extra_headers, const std::string& target) {
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\n"
                            "Authorization: Bearer secret\r\n" + extra_headers + "\r\n";
    net::write(c.socket, net::buffer(req));
  }
  static net::awaitable<void> Read(Client& c) {
    char buf[4096];
    for (;;) {
      auto [ec, n] = co_await c.socket.async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
      if (ec) break;
      c.received.append(buf, n);
    }
    c.closed = true;
  }
  // Runs the io_context until `done` or `rounds` × 5 ms of waiting for I/O.
  template <typename F>
  bool Pump(F done, int rounds = 400) {
    for (int i = 0; i < rounds && !done(); ++i) {
      h_.io.restart();
      h_.io.run_for(5ms);
    }
    return done();
  }
  static size_t Count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
  }

  Harness h_;
  jobs::AlwaysLeader leader_;
  jobs::IdleEnforcer enforcer_{h_.clock,   h_.pool,    *h_.store, h_.lifecycle,
                               h_.bus,     h_.metrics, leader_,   {}};
  Sessions sessions_{h_.clock, h_.pool, *h_.store, h_.ids, {.key = "secret"}};
  Api api_{h_.lifecycle, enforcer_, sessions_, h_.metrics, h_.ids, {.api_token = "secret"}};
  http_server::Router router_;
  std::unique_ptr<EventStreams> streams_;
  std::unique_ptr<http_server::Server> server_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Client>> clients_;
};

// Open streams are a reason to stay awake (explain's "awake") only when they
// keep the sandbox awake, that is with presence on.
TEST_F(EventsTest, ExplainNamesOpenStreamsWithPresence) {
  Start({.presence = true});
  Client& stream = Open();
  ASSERT_TRUE(Pump([&] { return Count(stream.received, "event: sandbox") >= 1; }));
  Client& explain = Open("", "/api/projects/p1/sandbox/explain");
  ASSERT_TRUE(Pump([&] { return explain.received.find("\"summary\"") != std::string::npos; }));
  EXPECT_NE(explain.received.find("{\"kind\":\"presence\",\"streams\":1}"), std::string::npos)
      << explain.received;
}

// What presence keeps per project goes with the project's last stream.
TEST_F(EventsTest, PresenceKeepsNothingOnceTheLastStreamCloses) {
  Start({.presence = true});
  Client& c = Open();
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: sandbox") >= 1; }));
  ASSERT_TRUE(Pump([&] { return streams_->heartbeat_projects() == 1; }));
  c.socket.close();
  ASSERT_TRUE(Pump([&] { return streams_->open_streams() == 0; }));
  Pump([] { return false; }, 20);  // the last viewer's heartbeat runs to its end
  EXPECT_EQ(streams_->heartbeat_projects(), 0u);
}

TEST_F(EventsTest, ExplainDoesNotNameOpenStreamsWithoutPresence) {
  Start({.presence = false});
  Client& stream = Open();
  ASSERT_TRUE(Pump([&] { return Count(stream.received, "event: sandbox") >= 1; }));
  Client& explain = Open("", "/api/projects/p1/sandbox/explain");
  ASSERT_TRUE(Pump([&] { return explain.received.find("\"summary\"") != std::string::npos; }));
  EXPECT_EQ(explain.received.find("\"presence\""), std::string::npos) << explain.received;
}

TEST_F(EventsTest, SendsCurrentObjectThenEveryChange) {
  Start({.presence = false});
  Client& c = Open();
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: sandbox") == 1; }));
  EXPECT_NE(c.received.find("text/event-stream"), std::string::npos);
  const int64_t v = h_.lifecycle.Get("p1")->version;
  EXPECT_NE(c.received.find("id: " + std::to_string(v) + "\n"), std::string::npos);
  h_.clock.Advance(1s);
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.RecordActivity("p1")).ok());
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: sandbox") == 2; }));
  EXPECT_NE(c.received.find("id: " + std::to_string(v + 1) + "\n"), std::string::npos);
  (void)RunSync(h_.io, h_.lifecycle.Pause("p1"));
  ASSERT_TRUE(Pump([&] { return c.received.find("\"status\":\"PAUSED\"") != std::string::npos; }));
}

TEST_F(EventsTest, ShutdownEndsEveryStreamWithAFinalEventAndRefusesNewOnes) {
  Start({.presence = false});
  Client& a = Open();
  Client& b = Open();
  ASSERT_TRUE(Pump([&] {
    return Count(a.received, "event: sandbox") == 1 && Count(b.received, "event: sandbox") == 1;
  }));
  streams_->Shutdown();
  ASSERT_TRUE(Pump([&] { return a.closed && b.closed; }));
  for (Client* c : {&a, &b}) {
    EXPECT_NE(c->received.find(kShutdownFrame), std::string::npos) << c->received;
  }
  EXPECT_EQ(streams_->open_streams(), 0);
  Client& late = Open();
  ASSERT_TRUE(Pump([&] { return late.received.find("shutting down") != std::string::npos; }));
  EXPECT_NE(late.received.find("HTTP/1.1 503"), std::string::npos);
}

TEST_F(EventsTest, OutputFollowSendsTheTailThenNewLinesAndEndsAtShutdown) {
  Start({.presence = false, .log_poll = 100ms});
  const std::string id = h_.lifecycle.Get("p1")->sandbox_id;
  for (const char* line : {"one", "two", "three"}) h_.provider.AppendOutput(id, line);
  const std::string logs = "/api/projects/p1/sandbox/logs";
  Client& c = Open("", logs + "?follow=1&tail=2");
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: lines") == 1; })) << c.received;
  EXPECT_NE(c.received.find("text/event-stream"), std::string::npos);
  EXPECT_NE(c.received.find("id: 3\ndata: {\"lines\":[\"two\",\"three\"],\"cursor\":\"3\""),
            std::string::npos)
      << c.received;
  // Nothing new: no frame; then the new line alone, after the poll interval.
  h_.clock.Advance(100ms);
  Pump([] { return false; }, 10);
  EXPECT_EQ(Count(c.received, "event: lines"), 1u);
  h_.provider.AppendOutput(id, "four");
  h_.clock.Advance(100ms);
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: lines") == 2; })) << c.received;
  EXPECT_NE(c.received.find("{\"lines\":[\"four\"],\"cursor\":\"4\""), std::string::npos);
  // A reconnect names its last id and gets only what came after.
  Client& again = Open("Last-Event-ID: 3\r\n", logs + "?follow=1");
  ASSERT_TRUE(Pump([&] { return Count(again.received, "event: lines") == 1; }));
  EXPECT_NE(again.received.find("{\"lines\":[\"four\"]"), std::string::npos) << again.received;
  EXPECT_EQ(streams_->open_streams(), 2);
  // Without follow the plain route answers; shutdown ends the follow streams.
  Client& plain = Open("", logs + "?tail=1");
  ASSERT_TRUE(Pump([&] { return plain.received.find("\"four\"") != std::string::npos; }));
  EXPECT_NE(plain.received.find("application/json"), std::string::npos);
  streams_->Shutdown();
  ASSERT_TRUE(Pump([&] { return c.closed && again.closed; }));
  EXPECT_NE(c.received.find(kShutdownFrame), std::string::npos);
  EXPECT_EQ(streams_->open_streams(), 0);
}

TEST_F(EventsTest, OutputFollowIsRefusedBeforeTheStreamWhenItCannotBeServed) {
  Start({.presence = false});
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.Create("quiet", {})).ok());
  h_.provider.AppendOutput(h_.lifecycle.Get("p1")->sandbox_id, "one");
  auto answer = [&](const std::string& target, const std::string& headers = "") {
    Client& c = Open(headers, target);
    EXPECT_TRUE(Pump([&] { return c.closed || c.received.find("\r\n\r\n{") != std::string::npos; }));
    return c.received;
  };
  // A provider that keeps no output: 409, as without follow.
  EXPECT_NE(answer("/api/projects/quiet/sandbox/logs?follow=1").find("HTTP/1.1 409"),
            std::string::npos);
  EXPECT_NE(answer("/api/projects/p1/sandbox/logs?follow=yes").find("HTTP/1.1 400"),
            std::string::npos);
  EXPECT_NE(answer("/api/projects/p1/sandbox/logs?follow=1&after=99").find("HTTP/1.1 400"),
            std::string::npos);
  // A reconnect whose Last-Event-ID is no cursor: 400, not a stream that
  // ends at once (the EventSource would reconnect with it forever).
  EXPECT_NE(answer("/api/projects/p1/sandbox/logs?follow=1", "Last-Event-ID: 99\r\n")
                .find("HTTP/1.1 400"),
            std::string::npos);
  EXPECT_NE(answer("/api/projects/p1/sandbox/logs?follow=1",
                   "Last-Event-ID: " + std::string(101, '1') + "\r\n")
                .find("HTTP/1.1 400"),
            std::string::npos);
  EXPECT_NE(answer("/api/projects/nope/sandbox/logs?follow=1").find("HTTP/1.1 404"),
            std::string::npos);
  clients_.push_back(std::make_unique<Client>(h_.io));
  Client& anonymous = *clients_.back();
  anonymous.socket.connect({net::ip::make_address("127.0.0.1"), port_});
  net::write(anonymous.socket,
             net::buffer(std::string("GET /api/projects/p1/sandbox/logs?follow=1 HTTP/1.1\r\n"
                                     "Host: x\r\n\r\n")));
  net::co_spawn(h_.io, Read(anonymous), net::detached);
  ASSERT_TRUE(Pump([&] { return anonymous.received.find("HTTP/1.1 401") != std::string::npos; }));
  EXPECT_EQ(streams_->open_streams(), 0);
}

// A forget ends the project's streams. Made again, the project repeats
// versions: a new stream's first frame shows the new record, not the frame
// kept for the old one at the same version, and a reconnect whose
// Last-Event-ID is the old record's (above the new version) still gets it.
TEST_F(EventsTest, AProjectMadeAgainAfterAForgetShowsItsNewSandbox) {
  Start({.presence = false});
  const std::string path = "/api/projects/p1/sandbox/events";
  Client& before = Open();
  ASSERT_TRUE(Pump([&] { return Count(before.received, "event: sandbox") == 1; }));
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.Kill("p1")).ok());
  ASSERT_TRUE(Pump([&] { return Count(before.received, "event: sandbox") == 2; }));
  const int64_t killed_at = h_.lifecycle.Get("p1")->version;
  const std::string old_id = h_.lifecycle.Get("p1")->sandbox_id;
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.Forget("p1", true)).ok());
  ASSERT_TRUE(Pump([&] { return before.closed; }));
  EXPECT_NE(before.received.find("event: end\ndata: {\"code\":\"not_found\""),
            std::string::npos)
      << before.received;
  EXPECT_TRUE(before.received.ends_with("\r\n0\r\n\r\n")) << before.received;
  EXPECT_EQ(streams_->open_streams(), 0);
  Client& gone = Open("", path);  // what the EventSource's reconnect gets
  ASSERT_TRUE(Pump([&] { return gone.closed; }));
  EXPECT_EQ(gone.received.rfind("HTTP/1.1 404", 0), 0u) << gone.received;
  h_.clock.Advance(1s);
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.Create("p1", {})).ok());
  while (h_.lifecycle.Get("p1")->version < killed_at) {
    h_.clock.Advance(1s);
    ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.RecordActivity("p1")).ok());
  }
  ASSERT_EQ(h_.lifecycle.Get("p1")->version, killed_at);
  const std::string new_id = h_.lifecycle.Get("p1")->sandbox_id;
  ASSERT_NE(new_id, old_id);
  Client& after = Open("", path);
  ASSERT_TRUE(Pump([&] { return Count(after.received, "event: sandbox") == 1; }));
  EXPECT_NE(after.received.find(new_id), std::string::npos) << after.received;
  EXPECT_EQ(after.received.find(old_id), std::string::npos) << after.received;
  EXPECT_NE(after.received.find("RUNNING"), std::string::npos) << after.received;
  Client& ahead = Open("Last-Event-ID: " + std::to_string(killed_at + 5) + "\r\n", path);
  ASSERT_TRUE(Pump([&] { return Count(ahead.received, "event: sandbox") == 1; }));
  EXPECT_NE(ahead.received.find(new_id), std::string::npos) << ahead.received;
}

TEST_F(EventsTest, LastEventIdSkipsWhatTheClientHas) {
  Start({.presence = false});
  const int64_t v = h_.lifecycle.Get("p1")->version;
  Client& up_to_date = Open("Last-Event-ID: " + std::to_string(v) + "\r\n");
  Client& behind = Open("Last-Event-ID: " + std::to_string(v - 1) + "\r\n");
  ASSERT_TRUE(Pump([&] { return Count(behind.received, "event: sandbox") == 1; }));
  Pump([] { return false; }, 20);
  EXPECT_EQ(Count(up_to_date.received, "event: sandbox"), 0u);
  EXPECT_NE(up_to_date.received.find(": connected"), std::string::npos);
}

// A hold that has expired is no longer listed, also by a stream opened on a
// record that has not been written since (its frame is built again).
TEST_F(EventsTest, AStreamOpenedAfterAHoldExpiredDoesNotListIt) {
  Start({.presence = false});
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.PlaceHold("p1", "build", 60s)).ok());
  Client& before = Open();
  ASSERT_TRUE(Pump([&] { return Count(before.received, "event: sandbox") == 1; }));
  EXPECT_NE(before.received.find("\"name\":\"build\""), std::string::npos) << before.received;
  h_.clock.Advance(61s);  // expired, and no write since (the idle timeout is 30 s, no enforcer)
  Client& after = Open();
  ASSERT_TRUE(Pump([&] { return Count(after.received, "event: sandbox") == 1; }));
  EXPECT_NE(after.received.find("\"holds\":[]"), std::string::npos) << after.received;
}

TEST_F(EventsTest, KeepAliveCommentsAndStreamLimit) {
  Start({.max_streams = 1, .keepalive = 15s, .presence = false});
  Client& c = Open();
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: sandbox") == 1; }));
  Client& refused = Open();
  ASSERT_TRUE(Pump([&] { return refused.received.find("too many") != std::string::npos; }));
  EXPECT_NE(refused.received.find("HTTP/1.1 503"), std::string::npos);
  EXPECT_NE(refused.received.find("too many event streams"), std::string::npos);
  AdvanceAndRun(h_.io, h_.clock, 15s);
  ASSERT_TRUE(Pump([&] { return c.received.find(": keep-alive") != std::string::npos; }));
}

// Streams being opened count against the limit: ten requests that all pass
// the gate before any stream starts (here each waits to send its one-byte
// body) open three streams, not ten; a place reserved by a request that
// ends without a stream is given back.
TEST_F(EventsTest, StreamsStillOpeningCountAgainstTheLimit) {
  Start({.max_streams = 3, .keepalive = 15s, .presence = false});
  std::vector<Client*> waiting;
  for (int i = 0; i < 10; ++i) waiting.push_back(&Open("Content-Length: 1\r\n"));
  Pump([] { return false; }, 20);
  for (Client* c : waiting) net::write(c->socket, net::buffer(std::string("x")));
  auto answered = [&] {
    return std::all_of(waiting.begin(), waiting.end(), [](Client* c) {
      return c->received.find("HTTP/1.1 ") != std::string::npos;
    });
  };
  ASSERT_TRUE(Pump(answered));
  Pump([] { return false; }, 20);
  size_t ok = 0;
  size_t refused = 0;
  for (Client* c : waiting) {
    ok += c->received.rfind("HTTP/1.1 200", 0) == 0 ? 1 : 0;
    refused += c->received.rfind("HTTP/1.1 503", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(ok, 3u);
  EXPECT_EQ(refused, 7u);
  EXPECT_EQ(streams_->open_streams(), 3);
  // A request that reserved a place and left before its stream started.
  {
    Client& gone = Open("Content-Length: 1\r\n");
    (void)gone;
  }
  for (int i = 0; i < 3; ++i) {
    waiting[static_cast<size_t>(i)]->socket.close();
  }
  clients_.back()->socket.close();
  ASSERT_TRUE(Pump([&] { return streams_->open_streams() == 0; }));
  Pump([] { return false; }, 20);
  std::vector<Client*> again;
  for (int i = 0; i < 3; ++i) again.push_back(&Open());
  ASSERT_TRUE(Pump([&] {
    return std::all_of(again.begin(), again.end(), [](Client* c) {
      return Count(c->received, "event: sandbox") == 1;
    });
  })) << "places were not given back";
}

TEST_F(EventsTest, RequiresTokenOrCookieAndAKnownProject) {
  Start({.presence = false});
  clients_.push_back(std::make_unique<Client>(h_.io));
  Client& c = *clients_.back();
  c.socket.connect({net::ip::make_address("127.0.0.1"), port_});
  net::write(c.socket, net::buffer(std::string(
      "GET /api/projects/p1/sandbox/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  net::co_spawn(h_.io, Read(c), net::detached);
  ASSERT_TRUE(Pump([&] { return c.closed; }));
  EXPECT_NE(c.received.find("401"), std::string::npos);
  Client& cookie = Open();  // bearer; now with the cookie instead
  (void)cookie;
  auto session = RunSync(h_.io, sessions_.Create());
  ASSERT_TRUE(session.ok()) << session.error().ToString();
  clients_.push_back(std::make_unique<Client>(h_.io));
  Client& k = *clients_.back();
  k.socket.connect({net::ip::make_address("127.0.0.1"), port_});
  net::write(k.socket, net::buffer("GET /api/projects/p1/sandbox/events HTTP/1.1\r\nHost: x\r\n"
                                   "Cookie: sandboxd_session=" + *session + "\r\n\r\n"));
  net::co_spawn(h_.io, Read(k), net::detached);
  ASSERT_TRUE(Pump([&] { return Count(k.received, "event: sandbox") == 1; }));
}

// p1's idle timeout is 30 s; the warning 10 s.
TEST_F(EventsTest, PausePendingArrivesOnceBeforeEachIdlePauseAndNotForAManualOne) {
  Start({.keepalive = 1h, .presence = false, .pause_warning = 10s});
  Client& c = Open();
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: sandbox") == 1; }));
  const SystemTime pause_at = *core::PauseAt(*h_.lifecycle.Get("p1"));
  AdvanceAndRun(h_.io, h_.clock, 19s);
  Pump([] { return false; }, 10);
  EXPECT_EQ(Count(c.received, "event: pause_pending"), 0u) << c.received;
  AdvanceAndRun(h_.io, h_.clock, 1s);
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: pause_pending") == 1; }))
      << c.received;
  EXPECT_NE(c.received.find(fmt::format(
                R"(data: {{"projectId":"p1","pauseAt":"{}","secondsLeft":10}})",
                FormatRfc3339(pause_at))),
            std::string::npos)
      << c.received;
  // Once per episode.
  AdvanceAndRun(h_.io, h_.clock, 5s);
  Pump([] { return false; }, 10);
  EXPECT_EQ(Count(c.received, "event: pause_pending"), 1u);
  // Activity starts a new episode: warned again 20 s after it.
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.RecordActivity("p1")).ok());
  AdvanceAndRun(h_.io, h_.clock, 19s);
  Pump([] { return false; }, 10);
  EXPECT_EQ(Count(c.received, "event: pause_pending"), 1u);
  AdvanceAndRun(h_.io, h_.clock, 1s);
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: pause_pending") == 2; }))
      << c.received;
  // A pause asked for is not warned about, and a paused sandbox gets none.
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.RecordActivity("p1")).ok());
  AdvanceAndRun(h_.io, h_.clock, 5s);
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.Pause("p1")).ok());
  AdvanceAndRun(h_.io, h_.clock, 1min);
  Pump([] { return false; }, 10);
  EXPECT_EQ(Count(c.received, "event: pause_pending"), 2u) << c.received;
  EXPECT_EQ(h_.metrics.CounterValue("sandboxd_pause_warnings_total"), 2);
}

TEST_F(EventsTest, NoPauseWarningWhenTheIdleTimeoutIsNotLongerThanIt) {
  Start({.keepalive = 1h, .presence = false, .pause_warning = 30s});  // timeout 30 s
  Client& c = Open();
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: sandbox") == 1; }));
  for (int i = 0; i < 4; ++i) AdvanceAndRun(h_.io, h_.clock, 10s);
  Pump([] { return false; }, 10);
  EXPECT_EQ(Count(c.received, "event: pause_pending"), 0u) << c.received;
}

// With presence on, an open stream's heartbeats (every third of the idle
// timeout) keep the pause away: no warning for a pause that never comes,
// even when the warning is longer than two thirds of the timeout.
TEST_F(EventsTest, AViewerKeptAwakeByPresenceIsNotWarned) {
  Start({.keepalive = 1h, .presence = true, .pause_warning = 25s});  // timeout 30 s
  Client& c = Open();
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: sandbox") >= 1; }));
  for (int i = 0; i < 60; ++i) AdvanceAndRun(h_.io, h_.clock, 1s);
  Pump([] { return false; }, 10);
  EXPECT_EQ(Count(c.received, "event: pause_pending"), 0u) << c.received;
  EXPECT_EQ(h_.lifecycle.Get("p1")->status, core::SandboxStatus::kRunning);
}

// An event stream is presence: one opened with the operator's cookie by a
// page of another origin is refused and keeps nothing awake.
TEST_F(EventsTest, ACrossOriginStreamWithTheCookieIsRefusedAndIsNoPresence) {
  Start({.keepalive = 15s, .presence = true});
  auto session = RunSync(h_.io, sessions_.Create());
  ASSERT_TRUE(session.ok());
  const auto before = h_.lifecycle.Get("p1")->last_activity_at;
  h_.clock.Advance(5s);
  auto open = [&](const std::string& from) -> Client& {
    Client& k = Connect();
    net::write(k.socket, net::buffer("GET /api/projects/p1/sandbox/events HTTP/1.1\r\nHost: x\r\n"
                                     "Cookie: sandboxd_session=" + *session + "\r\n" + from +
                                     "\r\n"));
    net::co_spawn(h_.io, Read(k), net::detached);
    return k;
  };
  Client& evil = open("Sec-Fetch-Site: cross-site\r\n");
  Client& preview = open("Origin: http://3000-sbx.localhost:8081\r\n");
  ASSERT_TRUE(Pump([&] { return evil.closed && preview.closed; }));
  for (Client* c : {&evil, &preview}) {
    EXPECT_NE(c->received.find("403 Forbidden"), std::string::npos) << c->received;
    EXPECT_EQ(c->received.find("event: sandbox"), std::string::npos) << c->received;
  }
  EXPECT_EQ(streams_->open_streams(), 0);
  EXPECT_EQ(h_.lifecycle.Get("p1")->last_activity_at, before);
  // The dashboard's own stream is presence.
  Client& own = open("Sec-Fetch-Site: same-origin\r\n");
  ASSERT_TRUE(Pump([&] { return Count(own.received, "event: sandbox") >= 1; }));
  ASSERT_TRUE(Pump([&] { return h_.lifecycle.Get("p1")->last_activity_at > before; }));
}

TEST_F(EventsTest, SignOutEndsTheSessionsStreams) {
  Start({.keepalive = 15s, .presence = false});
  auto open_with_cookie = [&](const std::string& session) -> Client& {
    clients_.push_back(std::make_unique<Client>(h_.io));
    Client& k = *clients_.back();
    k.socket.connect({net::ip::make_address("127.0.0.1"), port_});
    net::write(k.socket, net::buffer("GET /api/projects/p1/sandbox/events HTTP/1.1\r\nHost: x\r\n"
                                     "Cookie: sandboxd_session=" + session + "\r\n\r\n"));
    net::co_spawn(h_.io, Read(k), net::detached);
    return k;
  };
  auto a = RunSync(h_.io, sessions_.Create());
  auto b = RunSync(h_.io, sessions_.Create());
  ASSERT_TRUE(a.ok() && b.ok());
  Client& signed_out = open_with_cookie(*a);
  Client& other = open_with_cookie(*b);
  Client& bearer = Open();
  ASSERT_TRUE(Pump([&] {
    return Count(signed_out.received, "event: sandbox") == 1 &&
           Count(other.received, "event: sandbox") == 1 &&
           Count(bearer.received, "event: sandbox") == 1;
  }));
  // Signed out here: that session's stream ends at once.
  ASSERT_TRUE(RunSync(h_.io, sessions_.Revoke(*a)).ok());
  ASSERT_TRUE(Pump([&] { return signed_out.closed; }));
  EXPECT_NE(signed_out.received.find(kSignedOutFrame), std::string::npos) << signed_out.received;
  EXPECT_FALSE(other.closed);
  EXPECT_EQ(streams_->open_streams(), 2);
  // Revoked elsewhere (another replica deleted it from the store): the next
  // keep-alive finds out, once the cached check is too old to trust.
  ASSERT_TRUE(h_.store->DeleteSession(sessions_.HashOf(*b)).ok());
  AdvanceAndRun(h_.io, h_.clock, 15s);
  ASSERT_TRUE(Pump([&] { return other.closed; }));
  EXPECT_NE(other.received.find(kSignedOutFrame), std::string::npos) << other.received;
  // A bearer stream has no session to lose.
  Pump([] { return false; }, 20);
  EXPECT_FALSE(bearer.closed);
  EXPECT_NE(bearer.received.find(": keep-alive"), std::string::npos);
  EXPECT_EQ(streams_->open_streams(), 1);
}

TEST_F(EventsTest, OpenStreamKeepsTheSandboxAwakeAndClosingStartsTheIdleClock) {
  Start({.presence = true});
  Client& c = Open();
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: sandbox") >= 1; }));
  // Far past the 30 s idle timeout, the open stream's heartbeats keep it fresh.
  for (int i = 0; i < 12; ++i) {
    AdvanceAndRun(h_.io, h_.clock, 5s);
    Pump([] { return false; }, 2);
  }
  auto s = h_.lifecycle.Get("p1");
  EXPECT_FALSE(core::IsIdleDue(*s, h_.clock.Now()));
  EXPECT_GE(s->last_activity_at, TruncateToMillis(h_.clock.Now()) - 10s);
  // The viewer leaves: activity is recorded once more, at close.
  c.socket.close();
  ASSERT_TRUE(Pump([&] { return streams_->open_streams() == 0; }));
  EXPECT_EQ(h_.lifecycle.Get("p1")->last_activity_at, TruncateToMillis(h_.clock.Now()));
}

TEST_F(EventsTest, StreamOnAPausedSandboxLeavesTheServerResponsive) {
  Start({.presence = true});
  (void)RunSync(h_.io, h_.lifecycle.Pause("p1"));
  h_.Drain();
  ASSERT_EQ(h_.lifecycle.Get("p1")->status, core::SandboxStatus::kPaused);
  Client& c = Open();
  ASSERT_TRUE(Pump([&] { return Count(c.received, "event: sandbox") == 1; }));
  // A plain status read on another connection still gets its answer, and no
  // heartbeat turned the paused sandbox's record over.
  const int64_t version = h_.lifecycle.Get("p1")->version;
  clients_.push_back(std::make_unique<Client>(h_.io));
  Client& reader = *clients_.back();
  reader.socket.connect({net::ip::make_address("127.0.0.1"), port_});
  net::write(reader.socket, net::buffer(std::string(
      "GET /api/projects/p1/sandbox HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\r\n")));
  net::co_spawn(h_.io, Read(reader), net::detached);
  ASSERT_TRUE(Pump([&] { return reader.received.find("\"PAUSED\"") != std::string::npos; }));
  AdvanceAndRun(h_.io, h_.clock, 60s);
  EXPECT_EQ(h_.lifecycle.Get("p1")->version, version);
}

// The versions of the `event: sandbox` frames received, in order; -1 for a
// frame that is not whole.
std::vector<int64_t> Versions(const std::string& received) {
  std::vector<int64_t> versions;
  for (const std::string& chunk : http_server::testing::ChunksOf(received)) {
    if (chunk.rfind("event: sandbox\nid: ", 0) != 0) continue;
    const bool whole = chunk.ends_with("}\n\n") && chunk.find("\ndata: {") != std::string::npos;
    versions.push_back(whole ? std::stoll(chunk.substr(19)) : -1);
  }
  return versions;
}

// A change goes to many streams at once, a slice at a time, from the I/O
// thread and a fan-out thread together. Every stream gets every version whole
// and in order; a client that stops reading holds no one back and does not
// make the server buffer without bound: it is dropped at the write deadline.
TEST_F(EventsTest, FanOutGivesEveryStreamEachChangeInOrderAndDropsOneThatStopsReading) {
  // ~8 KiB frames: the stuck client's socket (a 64 KiB send buffer, which
  // the kernel doubles) fills within the changes below.
  core::Metadata big;
  for (int i = 0; i < 8; ++i) {
    big["k" + std::to_string(i)] = std::string(1000, static_cast<char>('a' + i));
  }
  Start({.presence = false, .fanout_threads = 1, .fanout_slice = 64},
        {.listen = "127.0.0.1:0", .stream_write_timeout = 300ms}, big);
  std::vector<Client*> readers;
  for (int i = 0; i < 150; ++i) readers.push_back(&Open());
  OpenUnread();
  ASSERT_TRUE(Pump([&] {
    return streams_->open_streams() == 151 &&
           std::all_of(readers.begin(), readers.end(),
                       [](Client* c) { return Versions(c->received).size() == 1; });
  }));
  const int64_t first = Versions(readers[0]->received)[0];
  std::vector<int64_t> expected{first};
  for (int i = 0; i < 30; ++i) {
    h_.clock.Advance(1s);
    ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.RecordActivity("p1")).ok());
    expected.push_back(h_.lifecycle.Get("p1")->version);
    // Every few changes, the readers catch up; the stuck client falls behind.
    if (i % 5 != 4) continue;
    ASSERT_TRUE(Pump([&] {
      return std::all_of(readers.begin(), readers.end(), [&](Client* c) {
        return Versions(c->received).size() >= expected.size();
      });
    })) << "after change " << i;
  }
  for (Client* c : readers) ASSERT_EQ(Versions(c->received), expected);
  // The stuck stream is dropped at its write deadline; the others go on.
  ASSERT_TRUE(Pump([&] { return streams_->open_streams() == 150; }));
  h_.clock.Advance(1s);
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.RecordActivity("p1")).ok());
  expected.push_back(h_.lifecycle.Get("p1")->version);
  ASSERT_TRUE(Pump([&] {
    return std::all_of(readers.begin(), readers.end(), [&](Client* c) {
      return Versions(c->received) == expected;
    });
  }));
}

// Streams that leave while a change is on its way (between two slices of its
// fan-out) are skipped; those that stay get it once.
TEST_F(EventsTest, StreamsThatLeaveDuringAFanOutAreSkipped) {
  Start({.presence = false, .fanout_threads = 1, .fanout_slice = 8});
  std::vector<Client*> clients;
  for (int i = 0; i < 100; ++i) clients.push_back(&Open());
  ASSERT_TRUE(Pump([&] {
    return std::all_of(clients.begin(), clients.end(),
                       [](Client* c) { return Versions(c->received).size() == 1; });
  }));
  h_.clock.Advance(1s);
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.RecordActivity("p1")).ok());
  // The change is now queued on the I/O thread; half the clients leave.
  for (int i = 0; i < 100; i += 2) clients[static_cast<size_t>(i)]->socket.close();
  ASSERT_TRUE(Pump([&] { return streams_->open_streams() == 50; }));
  for (int i = 1; i < 100; i += 2) {
    const Client& c = *clients[static_cast<size_t>(i)];
    ASSERT_TRUE(Pump([&] { return Versions(c.received).size() == 2; }));
  }
  h_.clock.Advance(1s);
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.RecordActivity("p1")).ok());
  for (int i = 1; i < 100; i += 2) {
    const Client& c = *clients[static_cast<size_t>(i)];
    ASSERT_TRUE(Pump([&] { return Versions(c.received).size() == 3; }));
  }
}

}  // namespace
}  // namespace sbx::api
