// Scale-out tests: three `sandboxd serve` replicas sharing one PostgreSQL
// (from tools/with_postgres: SBX_TEST_PG_URL, SBX_TEST_PG_DATA,
// SBX_TEST_PG_CTL) with `sandboxd runtime` as their E2B provider (real runc
// containers behind E2B's REST API; its webhooks go to replica 1 only).
// DESIGN.md §2 and invariants 2, 5 and 6 across replicas: one leader at a
// time (lease in PostgreSQL), changes pushed to every replica's SSE streams,
// activity on any replica keeps a sandbox alive, every idle episode gets one
// pause call even when the leader dies mid-sweep, and acknowledged writes
// survive a PostgreSQL restart.
//
// Labelled `postgres;integration;runc`; run through tools/with_postgres (see
// tests/CMakeLists.txt). Without PostgreSQL, root or runc they fail, never
// skip. Runtime sandbox ports: 49000-49499. Each test wipes the database
// (DROP SCHEMA public CASCADE) and starts its own runtime and replicas; on a
// failure every daemon's stderr is printed.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/daemon.h"
#include "integration/http_client.h"
#include "integration/runtime.h"
#include "integration/sse_client.h"
#include "integration/support.h"

namespace sbx::integration {
namespace {

using boost::beast::http::verb;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Runtime sandbox port ranges, one per test.
constexpr int kFailoverPorts = 49000;
constexpr int kSsePorts = 49100;
constexpr int kFollowerActivityPorts = 49200;
constexpr int kPostgresRestartPorts = 49300;  // .. 49499: this one creates many
constexpr int kHoldPorts = 49500;
constexpr int kPolicyPorts = 50100;
constexpr int kDeliveryPorts = 51100;

constexpr int kReplicas = 3;
constexpr char kToken[] = "replicas-test-token-5f0c1e9a7b3d";
constexpr char kWebhookSecret[] = "replicas-test-webhook-secret";
constexpr char kPauseRoute[] = "/sandboxes/{sandboxID}/pause";

CommandResult Psql(const std::string& sql) {
  return RunCommand({"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-F", "\t",
                     Env("SBX_TEST_PG_URL"), "-c", sql},
                    30s);
}

// "$SBX_TEST_PG_CTL" <action> -D "$SBX_TEST_PG_DATA" -w -m fast (runs as postgres).
CommandResult PgCtl(const std::string& action) {
  std::vector<std::string> argv = {
      Env("SBX_TEST_PG_CTL"), action, "-D", Env("SBX_TEST_PG_DATA"), "-w", "-t", "60"};
  if (action != "start") {
    argv.push_back("-m");
    argv.push_back("fast");
  }
  return RunCommand(argv, 90s);
}

// The number in the `name <value>` line of a Prometheus text body, or nullopt.
std::optional<double> Gauge(const std::string& body, const std::string& name) {
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::strtod(line.c_str() + name.size() + 1, nullptr);
  }
  return std::nullopt;
}

// The sandbox objects of GET /api/sandboxes?<query>, or nullopt (see why).
std::optional<std::vector<SandboxView>> ListSandboxes(const Daemon& d, const std::string& query,
                                                      std::string* why) {
  HttpResponse r = d.Call(verb::get, "/api/sandboxes?" + query, "", 10s);
  if (!r.answered || r.status != 200) {
    *why = "GET /api/sandboxes?" + query + ": " + r.Describe();
    return std::nullopt;
  }
  boost::json::value v = r.Json();
  const boost::json::value* items =
      v.is_object() ? v.as_object().if_contains("sandboxes") : nullptr;
  if (!items || !items->is_array()) {
    *why = "no \"sandboxes\" array: " + r.body;
    return std::nullopt;
  }
  std::vector<SandboxView> out;
  for (const auto& item : items->as_array()) {
    auto s = ParseSandbox(item, why);
    if (!s) return std::nullopt;
    out.push_back(*s);
  }
  return out;
}

std::string StatusOfFrame(const SseFrame& f) {
  std::string why;
  auto s = ParseSandbox(f.data, &why);
  return s ? s->status : "?";
}

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(CheckPrerequisites());
    for (const char* var : {"SBX_TEST_PG_URL", "SBX_TEST_PG_DATA", "SBX_TEST_PG_CTL"}) {
      ASSERT_FALSE(Env(var).empty())
          << var
          << " is not set: the replica tests need a PostgreSQL cluster; run them as "
             "`tools/with_postgres build/sbx_replica_tests` (or through ctest)";
    }
    // A clean database: the replicas create the schema when they start.
    CommandResult wipe = Psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    ASSERT_EQ(wipe.exit_code, 0) << "cannot wipe " << Env("SBX_TEST_PG_URL") << ": " << wipe.err;
  }

  void TearDown() override {
    // Replicas first (they call the runtime), then the runtime.
    replicas_.clear();
    runtime_.reset();
  }

  // A runtime on ports [first_port, last_port] and three replicas on the
  // database; webhooks to replica 1; waits for a leader.
  ::testing::AssertionResult StartCluster(int first_port, int last_port,
                                          const std::string& idle_timeout) {
    runtime_ =
        std::make_unique<Runtime>(RuntimeOptions{.first_port = first_port, .last_port = last_port});
    if (auto started = runtime_->Start(); !started) return started;
    for (int i = 0; i < kReplicas; ++i) {
      DaemonOptions o;
      o.first_port = 49500 + 100 * i;  // local-provider ports: unused with --provider e2b
      o.idle_timeout = idle_timeout;
      o.enforcer_schedule = "@every 1s";
      o.api_token = kToken;
      o.extra_args = {"--store", Env("SBX_TEST_PG_URL"), "--provider", "e2b", "--lease-ttl",
                      "2s",      "--reconcile-schedule", "@every 2s"};
      o.extra_args.insert(o.extra_args.end(), extra_args_.begin(), extra_args_.end());
      o.env = {"E2B_API_KEY=" + runtime_->api_key(), "E2B_API_URL=" + runtime_->url(),
               "E2B_DOMAIN=localhost", std::string("E2B_WEBHOOK_SECRET=") + kWebhookSecret};
      o.name = "replica " + std::to_string(i + 1);
      o.log_lines_on_failure = 400;
      replicas_.push_back(std::make_unique<Daemon>(o));
      alive_.push_back(true);
      if (auto started = replicas_.back()->Start(); !started) {
        return started << " (" << o.name << ")";
      }
    }
    if (auto hooked =
            runtime_->RegisterWebhook(replicas_[0]->url() + "api/webhooks/e2b", kWebhookSecret);
        !hooked) {
      return hooked;
    }
    int leader = -1;
    if (!WaitFor([&] { return (leader = Leader()) >= 0; }, 15s, 50ms)) {
      return ::testing::AssertionFailure()
             << "no single leader among the replicas within 15 s: " << ShowLeaders();
    }
    return ::testing::AssertionSuccess();
  }

  // sandboxd_leader of replica i: 1, 0, or -1 when it is dead or did not answer.
  int LeaderGauge(int i) {
    if (!alive_[i]) return -1;
    HttpResponse r = replicas_[i]->Call(verb::get, "/metrics", "", 3s);
    if (!r.answered || r.status != 200) return -1;
    auto v = Gauge(r.body, "sandboxd_leader");
    return v ? static_cast<int>(*v) : -1;
  }

  // The index of the one live replica that is the leader; -1 when none is,
  // -2 when more than one claims it.
  int Leader() {
    int leader = -1;
    for (int i = 0; i < kReplicas; ++i) {
      if (LeaderGauge(i) == 1) {
        if (leader != -1) return -2;
        leader = i;
      }
    }
    return leader;
  }

  std::string ShowLeaders() {
    std::string out;
    for (int i = 0; i < kReplicas; ++i) {
      out += "replica " + std::to_string(i + 1) + ": " +
             (alive_[i] ? std::to_string(LeaderGauge(i)) : "dead") + "; ";
    }
    return out;
  }

  std::optional<SandboxView> GetOn(int i, const std::string& project, std::string* why) {
    return replicas_[i]->Get(project, why);
  }

  std::unique_ptr<Runtime> runtime_;
  std::vector<std::string> extra_args_;  // more serve flags for every replica
  std::vector<std::unique_ptr<Daemon>> replicas_;
  std::vector<bool> alive_;
};

// Invariant 6 across a failover: 20 sandboxes due together, the leader is
// killed (-9) as its sweep starts; the survivors elect a new leader, every
// sandbox ends PAUSED, and the provider saw exactly one pause call per
// sandbox, none answered 409.
TEST_F(ReplicasTest, FailoverPausesEachSandboxExactlyOnce) {
  ASSERT_TRUE(StartCluster(kFailoverPorts, kFailoverPorts + 99, "1h"));
  constexpr int kSandboxes = 20;
  std::vector<std::string> projects;
  for (int i = 0; i < kSandboxes; ++i) projects.push_back("failover-" + std::to_string(i));

  // Created with a long idle timeout, spread across the replicas.
  std::vector<HttpResponse> created(kSandboxes);
  {
    std::vector<std::thread> threads;
    for (int r = 0; r < kReplicas; ++r) {
      threads.emplace_back([&, r] {
        for (int i = r; i < kSandboxes; i += kReplicas) {
          created[i] = replicas_[r]->Call(verb::post, SandboxPath(projects[i]),
                                          R"({"idleTimeoutSeconds":3600})", 120s);
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  std::string why;
  std::set<std::string> sandbox_ids;
  for (int i = 0; i < kSandboxes; ++i) {
    ASSERT_EQ(created[i].status, 201) << projects[i] << ": " << created[i].Describe();
    auto s = ParseSandbox(created[i].body, &why);
    ASSERT_TRUE(s) << why;
    ASSERT_EQ(s->status, "RUNNING") << projects[i];
    sandbox_ids.insert(s->sandbox_id);
  }
  ASSERT_EQ(sandbox_ids.size(), static_cast<size_t>(kSandboxes));
  ASSERT_EQ(runtime_->RequestCount(kPauseRoute), 0);

  const int leader = Leader();
  ASSERT_GE(leader, 0) << ShowLeaders();

  // All due at about the same time: fresh activity on each, then a 3 s idle
  // timeout on each (through other replicas than the activity).
  const auto t_activity = SteadyClock::now();
  for (int i = 0; i < kSandboxes; ++i) {
    HttpResponse a =
        replicas_[i % kReplicas]->Call(verb::post, SandboxPath(projects[i]) + "/activity");
    ASSERT_EQ(a.status, 204) << projects[i] << ": " << a.Describe();
  }
  std::optional<SystemTime> first_due, last_due;
  for (int i = 0; i < kSandboxes; ++i) {
    HttpResponse p = replicas_[(i + 1) % kReplicas]->Call(verb::patch, SandboxPath(projects[i]),
                                                          R"({"idleTimeoutSeconds":3})");
    ASSERT_EQ(p.status, 200) << projects[i] << ": " << p.Describe();
    auto s = ParseSandbox(p.body, &why);
    ASSERT_TRUE(s) << why;
    ASSERT_EQ(s->status, "RUNNING") << projects[i] << " paused before all were set up";
    ASSERT_TRUE(s->pause_at.has_value());
    if (!first_due || *s->pause_at < *first_due) first_due = s->pause_at;
    if (!last_due || *s->pause_at > *last_due) last_due = s->pause_at;
  }
  const auto setup_ms = Ms(SteadyClock::now() - t_activity);
  ASSERT_LT(setup_ms, 2500) << "setting up took too long for the sandboxes to be due together";
  Report("failover: " + std::to_string(kSandboxes) + " sandboxes due within " +
         std::to_string(Ms(*last_due - *first_due)) + " ms of each other; leader is replica " +
         std::to_string(leader + 1));

  // Just as the sweep starts: the runtime has received the first pause call.
  ASSERT_TRUE(WaitFor([&] { return runtime_->RequestCount(kPauseRoute) >= 1; }, 15s, 2ms))
      << "no pause call reached the runtime within 15 s";
  ASSERT_TRUE(replicas_[leader]->Kill9());
  const auto t_kill = SteadyClock::now();
  alive_[leader] = false;
  const int64_t calls_at_kill = runtime_->RequestCount(kPauseRoute);
  std::vector<int> survivors;
  for (int i = 0; i < kReplicas; ++i) {
    if (alive_[i]) survivors.push_back(i);
  }
  EXPECT_LT(calls_at_kill, kSandboxes)
      << "the sweep was over before the kill: no failover mid-sweep was tested";
  std::map<std::string, int> states_at_kill;
  if (auto listed = ListSandboxes(*replicas_[survivors[0]], "limit=1000", &why)) {
    for (const auto& s : *listed) ++states_at_kill[s.status];
  }
  std::string shown_states;
  for (const auto& [status, n] : states_at_kill) {
    shown_states += " " + status + "=" + std::to_string(n);
  }

  // A new leader within a few seconds (lease 2 s).
  int new_leader = -1;
  const bool elected = WaitFor([&] { return (new_leader = Leader()) >= 0; }, 10s, 20ms);
  const auto failover_ms = Ms(SteadyClock::now() - t_kill);
  ASSERT_TRUE(elected) << "no new leader 10 s after the leader died: " << ShowLeaders();
  EXPECT_LE(failover_ms, 5000) << "failover took longer than a few seconds with a 2 s lease";
  Report("failover: killed replica " + std::to_string(leader + 1) + " after " +
         std::to_string(calls_at_kill) + " pause call(s) had been answered (records:" +
         shown_states + "); replica " + std::to_string(new_leader + 1) + " became the leader " +
         std::to_string(failover_ms) + " ms after the kill");

  // Every sandbox ends PAUSED, as both survivors see it.
  for (int i : survivors) {
    std::vector<SandboxView> last;
    const bool all_paused = WaitFor(
        [&] {
          auto listed = ListSandboxes(*replicas_[i], "limit=1000", &why);
          if (!listed) return false;
          last = *listed;
          return std::count_if(last.begin(), last.end(), [](const SandboxView& s) {
                   return s.status == "PAUSED";
                 }) == kSandboxes;
        },
        30s, 100ms);
    std::string states;
    for (const auto& s : last) states += " " + s.project_id + "=" + s.status;
    EXPECT_TRUE(all_paused) << "replica " << i + 1 << " 30 s after the kill:" << states << " "
                            << why;
  }
  const auto all_paused_ms = Ms(SteadyClock::now() - t_kill);
  // Late duplicates would show up within a few sweeps.
  SleepFor(3s);
  auto by_code = runtime_->RequestsByCode(kPauseRoute, &why);
  int64_t total = 0;
  for (const auto& [code, n] : by_code) total += n;
  EXPECT_EQ(total, kSandboxes) << "pause calls by status code: " << ShowCounts(by_code) << " "
                               << why;
  EXPECT_EQ(by_code.count("409") ? by_code["409"] : 0, 0)
      << "pause calls by status code: " << ShowCounts(by_code);
  // The provider agrees.
  HttpResponse paused = runtime_->Call(verb::get, "/v2/sandboxes?state=paused&limit=100");
  ASSERT_EQ(paused.status, 200) << paused.Describe();
  boost::json::value pv = paused.Json();
  EXPECT_TRUE(pv.is_array() && pv.as_array().size() == static_cast<size_t>(kSandboxes))
      << "the runtime's paused sandboxes: " << paused.body;
  // What the reconcilers changed (drift repairs), for the report: with
  // webhooks, the crash and the sweep there should be none beyond settling
  // the dead leader's PAUSING claims.
  std::map<std::string, int> repairs;
  for (const auto& project : projects) {
    auto history = replicas_[survivors[0]]->History(project, &why);
    if (!history) continue;
    for (const auto& e : *history) {
      if (e.source == "reconciler") ++repairs[e.type + "(" + e.outcome + ")"];
    }
  }
  std::string shown_repairs;
  for (const auto& [what, n] : repairs) shown_repairs += " " + what + "=" + std::to_string(n);
  Report("failover: reconciler events in the 20 histories:" +
         (shown_repairs.empty() ? std::string(" none") : shown_repairs));
  Report("failover: all PAUSED on the survivors " + std::to_string(all_paused_ms) +
         " ms after the kill; runtime pause calls by code " + ShowCounts(by_code));
}

// DESIGN §2: a change committed through replica 1 reaches an SSE stream on
// replica 3 (LISTEN/NOTIFY) within 1 s.
TEST_F(ReplicasTest, ChangeReachesOtherReplicaSseWithin1s) {
  ASSERT_TRUE(StartCluster(kSsePorts, kSsePorts + 99, "1h"));
  const std::string project = "sse";
  HttpResponse create = replicas_[0]->Call(verb::post, SandboxPath(project));
  ASSERT_EQ(create.status, 201) << create.Describe();
  std::string why;
  auto created = ParseSandbox(create.body, &why);
  ASSERT_TRUE(created) << why;

  SseClient sse(replicas_[2]->port(), SandboxPath(project) + "/events", kToken);
  ASSERT_TRUE(sse.Start());
  ASSERT_TRUE(sse.WaitForId(created->version, 5s))
      << "the stream on replica 3 did not send the current object: " << sse.Error();

  std::vector<int64_t> latencies;
  int64_t last_version = created->version;
  auto measure = [&](const std::string& what, const HttpResponse& r, SteadyClock::time_point sent,
                     int64_t version) {
    ASSERT_GT(version, last_version) << what << " committed no new version";
    last_version = version;
    auto frame = sse.WaitForId(version, 5s);
    ASSERT_TRUE(frame) << what << ": version " << version << " never reached replica 3's stream "
                       << sse.Error();
    const int64_t ms = Ms(frame->received - sent);
    latencies.push_back(ms);
    Report("sse: " + what + " through replica 1 (HTTP " + std::to_string(r.status) + ", version " +
           std::to_string(version) + ") seen on replica 3 after " + std::to_string(ms) + " ms (" +
           StatusOfFrame(*frame) + ")");
    EXPECT_GE(ms, 0) << what << ": version " << version << " was on the stream before the change";
    EXPECT_LE(ms, 1000) << what << ": version " << version << " took " << ms << " ms";
  };

  for (int round = 0; round < 5; ++round) {
    SleepFor(300ms);
    const auto sent = SteadyClock::now();
    HttpResponse a = replicas_[0]->Call(verb::post, SandboxPath(project) + "/activity");
    ASSERT_EQ(a.status, 204) << a.Describe();
    auto now = replicas_[0]->Get(project, &why);  // the version replica 1 committed
    ASSERT_TRUE(now) << why;
    measure("activity " + std::to_string(round + 1), a, sent, now->version);
  }
  SleepFor(300ms);
  const auto sent = SteadyClock::now();
  HttpResponse pause = replicas_[0]->Call(verb::post, SandboxPath(project) + "/pause");
  ASSERT_EQ(pause.status, 202) << pause.Describe();
  auto pausing = ParseSandbox(pause.body, &why);
  ASSERT_TRUE(pausing) << why;
  measure("pause", pause, sent, pausing->version);
  // The pause completes on replica 1 (provider call, then PAUSED): pushed too.
  ASSERT_TRUE(WaitFor([&] { return replicas_[0]->StatusOf(project) == "PAUSED"; }, 15s))
      << replicas_[0]->StatusOf(project);
  auto done = replicas_[0]->Get(project, &why);
  ASSERT_TRUE(done) << why;
  auto paused_frame = sse.WaitForId(done->version, 2s);
  ASSERT_TRUE(paused_frame) << "PAUSED (version " << done->version << ") never reached replica 3";
  EXPECT_EQ(StatusOfFrame(*paused_frame), "PAUSED");
  const int64_t worst = *std::max_element(latencies.begin(), latencies.end());
  Report("sse: worst propagation replica 1 -> replica 3 stream: " + std::to_string(worst) +
         " ms over " + std::to_string(latencies.size()) + " changes");
  EXPECT_EQ(replicas_[2]->StatusOf(project), "PAUSED");
}

// Invariant 5 across replicas: activity sent to a follower keeps the sandbox
// alive (the leader enforces), past several would-be deadlines, with no
// pause call; once it stops, one pause about one idle timeout later.
TEST_F(ReplicasTest, ActivityOnFollowerPreventsPause) {
  ASSERT_TRUE(StartCluster(kFollowerActivityPorts, kFollowerActivityPorts + 99, "3s"));
  const int leader = Leader();
  ASSERT_GE(leader, 0) << ShowLeaders();
  const int follower = (leader + 1) % kReplicas;
  const std::string project = "busy";
  std::string why;
  auto sent = SteadyClock::now();
  HttpResponse create = replicas_[follower]->Call(verb::post, SandboxPath(project));
  ASSERT_EQ(create.status, 201) << create.Describe();
  auto created = ParseSandbox(create.body, &why);
  ASSERT_TRUE(created) << why;
  ASSERT_EQ(created->idle_timeout_s, 3);
  SystemTime stored_activity = created->last_activity_at;

  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1));
    // ~2.5 s after the last acknowledged activity (measured from sending it).
    std::this_thread::sleep_until(sent + 2500ms);
    sent = SteadyClock::now();
    HttpResponse a = replicas_[follower]->Call(verb::post, SandboxPath(project) + "/activity");
    ASSERT_EQ(a.status, 204) << a.Describe();
    for (int i = 0; i < kReplicas; ++i) {
      auto s = GetOn(i, project, &why);
      ASSERT_TRUE(s) << why;
      EXPECT_EQ(s->status, "RUNNING") << "replica " << i + 1 << " after round " << round + 1;
    }
    auto now = GetOn(follower, project, &why);
    ASSERT_TRUE(now) << why;
    EXPECT_GT(now->last_activity_at, stored_activity) << "activity was not recorded";
    stored_activity = now->last_activity_at;
    ASSERT_EQ(runtime_->RequestCount(kPauseRoute), 0)
        << "a pause call reached the runtime although activity arrives every 2.5 s";
  }
  Report("activity: " + std::to_string(kRounds) + " activities 2.5 s apart on follower replica " +
         std::to_string(follower + 1) + " (leader replica " + std::to_string(leader + 1) +
         "): still RUNNING, 0 pause calls");

  // Activity stops: paused about 3 s after the last one, with one call.
  const auto last_sent = sent;
  ASSERT_TRUE(
      WaitFor([&] { return replicas_[follower]->StatusOf(project) == "PAUSED"; }, 10s, 20ms))
      << "still " << replicas_[follower]->StatusOf(project) << " 10 s after the last activity";
  const int64_t paused_after_ms = Ms(SteadyClock::now() - last_sent);
  auto history = replicas_[follower]->History(project, &why);
  ASSERT_TRUE(history) << why;
  const auto claim = std::find_if(history->begin(), history->end(), [](const HistoryEvent& e) {
    return e.type == "pause_requested" && e.source == "enforcer";
  });
  ASSERT_NE(claim, history->end()) << "no enforcer pause claim in the history";
  const int64_t claimed_after_ms = Ms(claim->at - stored_activity);
  EXPECT_GE(claimed_after_ms, 2950) << "paused before its idle timeout";
  EXPECT_LE(claimed_after_ms, 5000) << "paused too late after its idle timeout";
  SleepFor(2s);
  auto by_code = runtime_->RequestsByCode(kPauseRoute, &why);
  int64_t total = 0;
  for (const auto& [code, n] : by_code) total += n;
  EXPECT_EQ(total, 1) << ShowCounts(by_code) << " " << why;
  EXPECT_EQ(by_code["204"], 1) << ShowCounts(by_code);
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_EQ(replicas_[i]->StatusOf(project), "PAUSED") << "replica " << i + 1;
  }
  Report("activity: after the last activity, claimed " + std::to_string(claimed_after_ms) +
         " ms after lastActivityAt, seen PAUSED " + std::to_string(paused_after_ms) +
         " ms after sending it; pause calls " + ShowCounts(by_code));
}

// A busy hold placed through one follower is in the database, so the leader
// (another process) honours it: no pause while it lasts, past two idle
// timeouts; released through a third replica, the sandbox pauses once.
TEST_F(ReplicasTest, HoldOnAFollowerKeepsTheLeaderFromPausing) {
  ASSERT_TRUE(StartCluster(kHoldPorts, kHoldPorts + 99, "3s"));
  const int leader = Leader();
  ASSERT_GE(leader, 0) << ShowLeaders();
  const int follower = (leader + 1) % kReplicas;
  const int other = (leader + 2) % kReplicas;
  const std::string project = "held";
  std::string why;
  HttpResponse create = replicas_[follower]->Call(verb::post, SandboxPath(project));
  ASSERT_EQ(create.status, 201) << create.Describe();
  HttpResponse hold = replicas_[follower]->Call(verb::post, SandboxPath(project) + "/holds",
                                                R"({"name":"build","ttlSeconds":60})");
  ASSERT_EQ(hold.status, 200) << hold.Describe();
  SleepFor(7s);  // more than two idle timeouts
  for (int i = 0; i < kReplicas; ++i) {
    auto s = GetOn(i, project, &why);
    ASSERT_TRUE(s) << why;
    EXPECT_EQ(s->status, "RUNNING") << "replica " << i + 1;
    HttpResponse list = replicas_[i]->Call(verb::get, SandboxPath(project) + "/holds");
    EXPECT_NE(list.body.find("\"build\""), std::string::npos) << "replica " << i + 1 << ": "
                                                               << list.Describe();
  }
  ASSERT_EQ(runtime_->RequestCount(kPauseRoute), 0) << "paused although held";
  HttpResponse release =
      replicas_[other]->Call(verb::delete_, SandboxPath(project) + "/holds/build");
  ASSERT_EQ(release.status, 204) << release.Describe();
  ASSERT_TRUE(
      WaitFor([&] { return replicas_[follower]->StatusOf(project) == "PAUSED"; }, 6s, 20ms))
      << "still " << replicas_[follower]->StatusOf(project) << " after the hold was released";
  SleepFor(1s);
  EXPECT_EQ(runtime_->RequestCount(kPauseRoute), 1);
  Report("holds: held 7 s on follower replica " + std::to_string(follower + 1) +
         " with a 3 s idle timeout: 0 pause calls; released on replica " +
         std::to_string(other + 1) + ": paused by leader replica " + std::to_string(leader + 1));
}

// Webhook delivery health is the cluster's, not one process's: webhooks
// reach replica 1 only and only the leader repairs drift, yet every
// replica's /readyz reports the drift no webhook reported ("silent"), and
// every one reports "ok" once a webhook arrives again.
TEST_F(ReplicasTest, WebhookHealthIsTheSameOnEveryReplica) {
  ASSERT_TRUE(StartCluster(kDeliveryPorts, kDeliveryPorts + 99, "1h"));
  const int leader = Leader();
  ASSERT_GE(leader, 0) << ShowLeaders();
  auto delivery = [&](bool on) {
    HttpResponse r = runtime_->Call(verb::post, "/admin/webhook-delivery",
                                    on ? R"({"enabled":true})" : R"({"enabled":false})");
    return r.status == 200 || r.status == 204;
  };
  auto webhooks_status = [&](int i) {
    HttpResponse r = replicas_[i]->Call(verb::get, "/readyz");
    const auto at = r.body.find(R"("webhooks":{"status":")");
    if (r.status != 200 || at == std::string::npos) return "? " + r.Describe();
    const auto from = at + std::string(R"("webhooks":{"status":")").size();
    return r.body.substr(from, r.body.find('"', from) - from);
  };
  auto every_replica_says = [&](const std::string& want) {
    for (int i = 0; i < kReplicas; ++i) {
      if (webhooks_status(i) != want) return false;
    }
    return true;
  };
  auto show = [&] {
    std::string out;
    for (int i = 0; i < kReplicas; ++i) {
      out += " replica " + std::to_string(i + 1) + ": " + webhooks_status(i) + ";";
    }
    return out + " leader: replica " + std::to_string(leader + 1);
  };
  ASSERT_TRUE(delivery(false));
  const std::string project = "drifted";
  HttpResponse create = replicas_[(leader + 1) % kReplicas]->Call(verb::post, SandboxPath(project));
  ASSERT_EQ(create.status, 201) << create.Describe();
  std::string why;
  auto s = ParseSandbox(create.body, &why);
  ASSERT_TRUE(s) << why;
  // Paused behind sandboxd's back, and no webhook says so: the leader's
  // reconciler (every 2 s) repairs it.
  HttpResponse paused = runtime_->Call(verb::post, "/sandboxes/" + s->sandbox_id + "/pause", "{}");
  ASSERT_TRUE(paused.status == 204 || paused.status == 200) << paused.Describe();
  auto t = SteadyClock::now();
  ASSERT_TRUE(WaitFor([&] { return every_replica_says("silent"); }, 20s, 100ms)) << show();
  Report("delivery health: drift repaired by the leader reported silent by all 3 replicas in " +
         std::to_string(Ms(SteadyClock::now() - t)) + " ms");
  // Delivery back: the wake's webhooks reach replica 1 only.
  ASSERT_TRUE(delivery(true));
  HttpResponse wake = replicas_[leader]->Call(verb::post, SandboxPath(project) + "/wake");
  ASSERT_TRUE(wake.status == 200 || wake.status == 202) << wake.Describe();
  t = SteadyClock::now();
  ASSERT_TRUE(WaitFor([&] { return every_replica_says("ok"); }, 20s, 100ms)) << show();
  Report("delivery health: a webhook to replica 1 cleared it on all 3 replicas in " +
         std::to_string(Ms(SteadyClock::now() - t)) + " ms");
  for (int i = 0; i < kReplicas; ++i) {
    HttpResponse metrics = replicas_[i]->Call(verb::get, "/metrics");
    EXPECT_EQ(Gauge(metrics.body, "sandboxd_drift_since_last_webhook"), 0.0) << "replica " << i + 1;
    EXPECT_TRUE(Gauge(metrics.body, "sandboxd_webhook_last_verified_timestamp_seconds"))
        << "replica " << i + 1;
  }
}

// The adaptive idle policy on three replicas: a regret seen through one
// replica raises the project's timeout once (only the leader acts), every
// replica serves the new timeout, and `sandboxd policy replay` reads the
// same history from PostgreSQL offline.
TEST_F(ReplicasTest, AdaptivePolicyActsOnceAcrossReplicasAndReplaysFromPostgres) {
  extra_args_ = {"--idle-policy", "adaptive", "--idle-policy-min", "1s",
                 "--idle-policy-schedule", "@every 1s"};
  ASSERT_TRUE(StartCluster(kPolicyPorts, kPolicyPorts + 99, "2s"));
  const std::string project = "learns";
  std::string why;
  HttpResponse create = replicas_[1]->Call(verb::post, SandboxPath(project));
  ASSERT_EQ(create.status, 201) << create.Describe();
  ASSERT_TRUE(WaitFor([&] { return replicas_[1]->StatusOf(project) == "PAUSED"; }, 8s, 20ms))
      << replicas_[1]->StatusOf(project);
  HttpResponse wake = replicas_[2]->Call(verb::post, SandboxPath(project) + "/wake");
  ASSERT_EQ(wake.status, 202) << wake.Describe();  // right back: a regret
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(WaitFor(
        [&] {
          auto s = GetOn(i, project, &why);
          return s && s->idle_timeout_s == 4;
        },
        15s, 50ms))
        << "replica " << i + 1 << ": " << (GetOn(i, project, &why) ? "" : why);
  }
  SleepFor(3s);  // three more passes on every replica
  auto history = replicas_[0]->History(project, &why);
  ASSERT_TRUE(history) << why;
  int changes = 0;
  for (const HistoryEvent& e : *history) {
    if (e.type == "settings_changed" && e.source == "policy") ++changes;
  }
  EXPECT_EQ(changes, 1) << "the timeout change was not made exactly once";
  EXPECT_EQ(GetOn(0, project, &why)->idle_timeout_s, 4);

  CommandResult replay =
      RunCommand({std::string(SBX_BUILD_DIR) + "/sandboxd", "policy", "replay", "--store",
                  Env("SBX_TEST_PG_URL"), "--since", "1d", "--idle-timeout", "2s", "--json"},
                 60s);
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  const auto v = boost::json::parse(replay.out);
  EXPECT_EQ(v.at("episodes"), 1) << replay.out;
  EXPECT_EQ(v.at("recorded").at("regretWakes"), 1) << replay.out;
  EXPECT_EQ(v.at("policies").at(0).at("resumeWaits"), 1) << replay.out;
  Report("idle policy: one timeout change across " + std::to_string(kReplicas) +
         " replicas; replayed from PostgreSQL");
}

// Invariant 2 with PostgreSQL restarting under load: /readyz turns 503 while
// the database is down and 200 again by itself; every write acknowledged
// (before, during or after) is in the database; the replicas serve again.
TEST_F(ReplicasTest, PostgresRestartDuringLoad) {
  ASSERT_TRUE(StartCluster(kPostgresRestartPorts, kPostgresRestartPorts + 199, "1h"));
  std::string why;

  struct Acked {
    std::mutex mu;
    std::map<std::string, SystemTime> projects;  // created (2xx) -> when acknowledged
    std::map<std::string, SystemTime> activity;  // newest acknowledged activity: sent after
    std::vector<std::string> live;               // projects to send activity to
    std::map<std::string, int> outcomes;         // "create 201", "activity 503"…
    int after_recovery = 0;                      // acknowledged writes after recovery
  } acked;
  std::atomic<bool> stop{false};
  std::atomic<bool> recovered{false};
  auto outcome = [](const HttpResponse& r) {
    return r.answered ? std::to_string(r.status) : std::string(r.timed_out ? "timeout" : "error");
  };

  for (int i = 0; i < kReplicas; ++i) {
    const std::string p = "seed-" + std::to_string(i);
    HttpResponse r = replicas_[i]->Call(verb::post, SandboxPath(p));
    ASSERT_EQ(r.status, 201) << r.Describe();
    acked.projects[p] = WallNow();
    acked.live.push_back(p);
  }

  std::thread creator([&] {
    for (int i = 0; !stop; ++i) {
      const std::string p = "load-" + std::to_string(i);
      HttpResponse r = replicas_[i % kReplicas]->Call(verb::post, SandboxPath(p), "", 30s);
      std::lock_guard lock(acked.mu);
      ++acked.outcomes["create " + outcome(r)];
      if (r.answered && (r.status == 200 || r.status == 201)) {
        acked.projects[p] = WallNow();
        acked.live.push_back(p);
        if (recovered) ++acked.after_recovery;
      }
      if (!stop) SleepFor(300ms);
    }
  });
  std::thread active([&] {
    for (int i = 0; !stop; ++i) {
      std::string p;
      {
        std::lock_guard lock(acked.mu);
        p = acked.live[static_cast<size_t>(i) % acked.live.size()];
      }
      const SystemTime sent = TruncateToMillis(WallNow());
      HttpResponse r =
          replicas_[(i / 2) % kReplicas]->Call(verb::post, SandboxPath(p) + "/activity", "", 10s);
      std::lock_guard lock(acked.mu);
      ++acked.outcomes["activity " + outcome(r)];
      if (r.answered && r.status == 204) {
        acked.activity[p] = std::max(acked.activity[p], sent);
        if (recovered) ++acked.after_recovery;
      }
      SleepFor(15ms);
    }
  });
  // /readyz of every replica, every 50 ms: when each saw 503 and 200.
  struct Readiness {
    std::mutex mu;
    std::vector<std::vector<std::pair<SteadyClock::time_point, int>>> seen{kReplicas};
  } readiness;
  std::vector<std::thread> pollers;
  for (int i = 0; i < kReplicas; ++i) {
    pollers.emplace_back([&, i] {
      while (!stop) {
        HttpResponse r = replicas_[i]->CallWithHeaders(verb::get, "/readyz", {});
        const int code = r.answered ? r.status : -1;
        {
          std::lock_guard lock(readiness.mu);
          auto& s = readiness.seen[i];
          if (s.empty() || s.back().second != code) s.push_back({SteadyClock::now(), code});
        }
        SleepFor(50ms);
      }
    });
  }
  auto stop_load = [&] {
    stop = true;
    creator.join();
    active.join();
    for (auto& t : pollers) t.join();
  };
  // Whether replica i answered 503 at some point since `since`.
  auto saw_503_since = [&](int i, SteadyClock::time_point since) {
    std::lock_guard lock(readiness.mu);
    const auto& s = readiness.seen[i];
    for (size_t k = 0; k < s.size(); ++k) {
      const bool in_range =
          s[k].first >= since || (k + 1 < s.size() && s[k + 1].first >= since) || k + 1 == s.size();
      if (in_range && s[k].second == 503) return true;
    }
    return false;
  };
  auto ready_now = [&](int i) {
    return replicas_[i]->CallWithHeaders(verb::get, "/readyz", {}).status;
  };

  SleepFor(3s);  // the load runs against a healthy database
  for (int i = 0; i < kReplicas; ++i) EXPECT_EQ(ready_now(i), 200) << "replica " << i + 1;

  // Ready again by itself, within 10 s of PostgreSQL being up.
  auto expect_ready_again = [&](const std::string& what, SteadyClock::time_point t_up) {
    for (int i = 0; i < kReplicas; ++i) {
      const bool ready = WaitFor([&] { return ready_now(i) == 200; }, 10s, 50ms);
      EXPECT_TRUE(ready) << "replica " << i + 1 << " /readyz " << ready_now(i) << " 10 s after "
                         << what;
      Report("postgres: replica " + std::to_string(i + 1) + " ready again " +
             std::to_string(Ms(SteadyClock::now() - t_up)) + " ms after " + what);
    }
  };

  // 1. pg_ctl restart -m fast under load.
  const auto t_restart = SteadyClock::now();
  CommandResult restart = PgCtl("restart");
  const auto restart_ms = Ms(SteadyClock::now() - t_restart);
  if (restart.exit_code != 0) {
    stop_load();
    FAIL() << "pg_ctl restart: " << restart.out << restart.err;
  }
  int caught = 0;
  for (int i = 0; i < kReplicas; ++i) caught += saw_503_since(i, t_restart) ? 1 : 0;
  Report("postgres: pg_ctl restart -m fast took " + std::to_string(restart_ms) + " ms; " +
         std::to_string(caught) + " of 3 replicas were seen answering /readyz 503 during it");
  expect_ready_again("the restart", SteadyClock::now());
  SleepFor(2s);

  // 2. A longer outage, past the 2 s leader lease, so that 503 is certain to
  // be seen on every replica (a restart may be too quick to catch).
  CommandResult stopped = PgCtl("stop");
  if (stopped.exit_code != 0) {
    stop_load();
    FAIL() << "pg_ctl stop: " << stopped.out << stopped.err;
  }
  const auto t_stop = SteadyClock::now();
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(WaitFor([&] { return ready_now(i) == 503; }, 10s, 50ms))
        << "replica " << i + 1 << " answers /readyz " << ready_now(i) << " with PostgreSQL stopped";
  }
  Report("postgres: stopped; every replica answered /readyz 503 within " +
         std::to_string(Ms(SteadyClock::now() - t_stop)) + " ms");
  SleepFor(3s);  // the load keeps hitting the replicas meanwhile
  CommandResult started = PgCtl("start");
  if (started.exit_code != 0) {
    stop_load();
    FAIL() << "pg_ctl start: " << started.out << started.err;
  }
  expect_ready_again(
      "the start after a " + std::to_string(Ms(SteadyClock::now() - t_stop)) + " ms outage",
      SteadyClock::now());
  recovered = true;
  SleepFor(4s);  // the load continues against the recovered replicas
  stop_load();

  std::map<std::string, int> outcomes;
  int after_recovery = 0;
  {
    std::lock_guard lock(acked.mu);
    outcomes = acked.outcomes;
    after_recovery = acked.after_recovery;
  }
  std::string shown;
  for (const auto& [k, n] : outcomes) shown += k + ": " + std::to_string(n) + ", ";
  Report("postgres: load outcomes " + shown +
         "acknowledged after recovery: " + std::to_string(after_recovery));
  EXPECT_GT(after_recovery, 0) << "no write was acknowledged after recovery: " << shown;

  // Every acknowledged write is in the database.
  CommandResult rows = Psql("SELECT project_id, last_activity_at_ms FROM sandboxes");
  ASSERT_EQ(rows.exit_code, 0) << rows.err;
  std::map<std::string, int64_t> stored;
  {
    std::istringstream lines(rows.out);
    for (std::string line; std::getline(lines, line);) {
      const size_t tab = line.find('\t');
      if (tab == std::string::npos) continue;
      stored[line.substr(0, tab)] = std::strtoll(line.c_str() + tab + 1, nullptr, 10);
    }
  }
  for (const auto& [project, at] : acked.projects) {
    EXPECT_TRUE(stored.contains(project)) << "acknowledged create of " << project << " (at "
                                          << Show(at) << ") is not in the database";
  }
  for (const auto& [project, sent] : acked.activity) {
    auto it = stored.find(project);
    ASSERT_NE(it, stored.end()) << project;
    const int64_t sent_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(sent.time_since_epoch()).count();
    EXPECT_GE(it->second, sent_ms)
        << "acknowledged activity of " << project << " sent at " << Show(sent)
        << " is lost: stored lastActivityAt " << it->second << " ms";
  }
  // Rows nobody was told about (a create that failed during the outage).
  CommandResult statuses = Psql("SELECT project_id, status FROM sandboxes ORDER BY project_id");
  std::string unacknowledged;
  {
    std::istringstream lines(statuses.out);
    for (std::string line; std::getline(lines, line);) {
      const size_t tab = line.find('\t');
      if (tab != std::string::npos && !acked.projects.contains(line.substr(0, tab))) {
        unacknowledged += " " + line.substr(0, tab) + "=" + line.substr(tab + 1);
      }
    }
  }
  if (!unacknowledged.empty()) {
    Report("postgres: rows of creates that were not acknowledged:" + unacknowledged);
  }
  Report("postgres: " + std::to_string(acked.projects.size()) + " acknowledged creates and " +
         std::to_string(acked.activity.size()) + " projects' newest acknowledged activity all " +
         "in the database (" + std::to_string(stored.size()) + " rows)");

  // Every replica's read model caught up with the database.
  for (int i = 0; i < kReplicas; ++i) {
    std::set<std::string> missing;
    const bool caught_up = WaitFor(
        [&] {
          auto listed = ListSandboxes(*replicas_[i], "limit=1000", &why);
          if (!listed) return false;
          missing.clear();
          std::map<std::string, SystemTime> seen;
          for (const auto& s : *listed) seen[s.project_id] = s.last_activity_at;
          for (const auto& [project, at] : acked.projects) {
            if (!seen.contains(project)) missing.insert(project);
          }
          for (const auto& [project, sent] : acked.activity) {
            if (!seen.contains(project) || seen[project] < sent) missing.insert(project);
          }
          return missing.empty();
        },
        10s, 200ms);
    std::string names;
    for (const auto& m : missing) names += " " + m;
    EXPECT_TRUE(caught_up) << "replica " << i + 1
                           << " does not show these acknowledged writes:" << names << " " << why;
  }

  // Operations cut off by the outage are settled (by the reconciler): no
  // record stays STARTING or PAUSING.
  const auto t_settle = SteadyClock::now();
  std::string unsettled;
  const bool settled = WaitFor(
      [&] {
        CommandResult r = Psql(
            "SELECT project_id || '=' || status FROM sandboxes "
            "WHERE status IN ('STARTING', 'PAUSING') ORDER BY project_id");
        unsettled = r.exit_code == 0 ? r.out : "psql: " + r.err;
        return r.exit_code == 0 && r.out.empty();
      },
      30s, 500ms);
  EXPECT_TRUE(settled) << "still in a transitional state 30 s after recovery:\n" << unsettled;
  Report("postgres: no STARTING/PAUSING record left " +
         std::to_string(Ms(SteadyClock::now() - t_settle)) + " ms after the checks" +
         (settled ? "" : " (NOT settled)"));

  // And they serve normally: a create through each, one leader.
  for (int i = 0; i < kReplicas; ++i) {
    const std::string p = "after-" + std::to_string(i);
    HttpResponse r = replicas_[i]->Call(verb::post, SandboxPath(p));
    EXPECT_EQ(r.status, 201) << "replica " << i + 1 << ": " << r.Describe();
    for (int j = 0; j < kReplicas; ++j) {
      EXPECT_TRUE(WaitFor([&] { return replicas_[j]->StatusOf(p) == "RUNNING"; }, 5s))
          << p << " on replica " << j + 1 << ": " << replicas_[j]->StatusOf(p);
    }
  }
  int leader = -1;
  EXPECT_TRUE(WaitFor([&] { return (leader = Leader()) >= 0; }, 10s, 100ms))
      << "no single leader after the restart: " << ShowLeaders();
}

}  // namespace
}  // namespace sbx::integration
