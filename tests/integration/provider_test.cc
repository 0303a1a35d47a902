// Provider tests: one `sandboxd serve --provider e2b` (SQLite store) driving
// E2B's REST API. Against `sandboxd runtime` (real runc containers, signed
// webhooks): webhooks drive the lifecycle, and the reconciler repairs drift
// when webhooks are lost. Against a tiny fake E2B API in this process: a
// failing or hanging pause call never slows reads, is retried on the
// enforcer's schedule, and once it succeeds no further pause call is made.
//
// Labelled `integration;runc`. Without root or runc they fail, never skip.
// Runtime sandbox ports: 49600-49799.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/time.h"
#include "integration/daemon.h"
#include "integration/fake_http_server.h"
#include "integration/http_client.h"
#include "integration/runtime.h"
#include "integration/support.h"

namespace sbx::integration {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::beast::http::verb;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Runtime sandbox port ranges, one per test.
constexpr int kLifecyclePorts = 49600;
constexpr int kDriftPorts = 49700;
// serve's local-provider port ranges (unused with --provider e2b), one per test.
constexpr int kLifecycleServePorts = 49800;
constexpr int kDriftServePorts = 49900;
constexpr int kFakeServePorts = 50000;

constexpr char kToken[] = "provider-test-token-8c2d4e6f1a3b";
constexpr char kWebhookSecret[] = "provider-test-webhook-secret";
constexpr char kPauseRoute[] = "/sandboxes/{sandboxID}/pause";


// Whether the project's history has a row from `source` of type `type`.
bool HasHistory(const Daemon& d, const std::string& project, const std::string& source,
                const std::string& type, std::string* shown = nullptr) {
  std::string why;
  auto h = d.History(project, &why);
  if (!h) {
    if (shown) *shown = why;
    return false;
  }
  if (shown) {
    shown->clear();
    for (const auto& e : *h) *shown += " " + e.source + ":" + e.type + "(" + e.outcome + ")";
  }
  return std::any_of(h->begin(), h->end(),
                     [&](const HistoryEvent& e) { return e.source == source && e.type == type; });
}

// Sandbox ids the runtime lists (GET /v2/sandboxes), or nullopt.
std::optional<std::vector<std::string>> RuntimeIds(const Runtime& rt) {
  HttpResponse r = rt.Call(verb::get, "/v2/sandboxes?limit=100", "", 10s);
  if (!r.answered || r.status != 200) return std::nullopt;
  boost::json::value v = r.Json();
  if (!v.is_array()) return std::nullopt;
  std::vector<std::string> ids;
  for (const auto& item : v.as_array()) {
    if (!item.is_object()) continue;
    if (const auto* id = item.as_object().if_contains("sandboxID"); id && id->is_string()) {
      ids.emplace_back(id->as_string());
    }
  }
  return ids;
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(CheckPrerequisites()); }

  void TearDown() override {
    serve_.reset();  // serve first (it calls the runtime), then the runtime
    runtime_.reset();
  }

  // The runtime on [first_port, first_port + 99], one serve on it, webhooks to serve.
  ::testing::AssertionResult StartRuntimeAndServe(int first_port, int serve_ports) {
    runtime_ = std::make_unique<Runtime>(
        RuntimeOptions{.first_port = first_port, .last_port = first_port + 99});
    if (auto started = runtime_->Start(); !started) return started;
    serve_ = std::make_unique<Daemon>(ServeOptions(serve_ports, runtime_->url(),
                                                   runtime_->api_key()));
    if (auto started = serve_->Start(); !started) return started;
    return runtime_->RegisterWebhook(serve_->url() + "api/webhooks/e2b", kWebhookSecret);
  }

  static DaemonOptions ServeOptions(int ports, const std::string& api_url,
                                    const std::string& api_key) {
    DaemonOptions o;
    o.first_port = ports;
    o.idle_timeout = "3s";
    o.enforcer_schedule = "@every 1s";
    o.api_token = kToken;
    o.extra_args = {"--provider", "e2b", "--reconcile-schedule", "@every 2s"};
    // sandboxd's own names (replicas_test uses E2B's, which are read too).
    o.env = {"SANDBOXD_E2B_API_KEY=" + api_key, "SANDBOXD_E2B_API_URL=" + api_url,
             "SANDBOXD_E2B_DOMAIN=localhost",
             std::string("SANDBOXD_WEBHOOK_SECRET=") + kWebhookSecret};
    o.name = "serve";
    o.log_lines_on_failure = 300;
    return o;
  }

  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Daemon> serve_;
};

// Create → idle pause by the enforcer through the E2B API, confirmed by the
// runtime's webhook → wake (resumed webhook) → kill, gone from the runtime.
TEST_F(ProviderTest, WebhooksDriveTheLifecycle) {
  ASSERT_TRUE(StartRuntimeAndServe(kLifecyclePorts, kLifecycleServePorts));
  const Daemon& d = *serve_;
  std::string why, shown;

  HttpResponse created = d.Call(verb::post, SandboxPath("p"));
  ASSERT_EQ(created.status, 201) << created.Describe();
  auto s = ParseSandbox(created.body, &why);
  ASSERT_TRUE(s) << why;
  ASSERT_EQ(s->status, "RUNNING");
  const std::string id = s->sandbox_id;
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(runtime_->RequestCount(kPauseRoute), 0);

  // Left idle (3 s): the enforcer pauses it through the runtime, and the
  // runtime's paused webhook reaches serve.
  const auto t_created = SteadyClock::now();
  EXPECT_TRUE(WaitFor([&] { return d.StatusOf("p") == "PAUSED"; }, 20s))
      << "status: " << d.StatusOf("p");
  Report("lifecycle: PAUSED " + std::to_string(Ms(SteadyClock::now() - t_created)) +
         " ms after create (idle timeout 3 s)");
  EXPECT_TRUE(WaitFor([&] { return runtime_->RequestCount(kPauseRoute) == 1; }, 5s))
      << "pause calls: " << ShowCounts(runtime_->RequestsByCode(kPauseRoute));
  EXPECT_TRUE(WaitFor(
      [&] { return HasHistory(d, "p", "webhook", "sandbox.lifecycle.paused", &shown); }, 10s))
      << "history of p:" << shown;
  EXPECT_EQ(d.StatusOf("p"), "PAUSED");

  // Wake: RUNNING again, with the runtime's resumed webhook.
  HttpResponse woke = d.Call(verb::post, SandboxPath("p") + "/wake");
  ASSERT_TRUE(woke.status == 200 || woke.status == 202) << woke.Describe();
  EXPECT_TRUE(WaitFor([&] { return d.StatusOf("p") == "RUNNING"; }, 20s))
      << "status: " << d.StatusOf("p");
  EXPECT_TRUE(WaitFor(
      [&] { return HasHistory(d, "p", "webhook", "sandbox.lifecycle.resumed", &shown); }, 10s))
      << "history of p:" << shown;

  // Kill: KILLED, and the runtime no longer lists it.
  HttpResponse killed = d.Call(verb::delete_, SandboxPath("p"));
  ASSERT_TRUE(killed.status == 200 || killed.status == 204) << killed.Describe();
  EXPECT_TRUE(WaitFor([&] { return d.StatusOf("p") == "KILLED"; }, 10s))
      << "status: " << d.StatusOf("p");
  std::optional<std::vector<std::string>> ids;
  EXPECT_TRUE(WaitFor(
      [&] {
        ids = RuntimeIds(*runtime_);
        return ids && !Contains(*ids, id);
      },
      10s))
      << "the runtime still lists " << id;
}

// Webhook delivery off: a pause and a kill done behind serve's back at the
// runtime are repaired by the reconciler.
TEST_F(ProviderTest, ReconcilerRepairsDriftWithoutWebhooks) {
  ASSERT_TRUE(StartRuntimeAndServe(kDriftPorts, kDriftServePorts));
  const Daemon& d = *serve_;
  std::string why, shown;

  HttpResponse off = runtime_->Call(verb::post, "/admin/webhook-delivery", R"({"enabled":false})");
  ASSERT_TRUE(off.status == 200 || off.status == 204) << off.Describe();

  std::map<std::string, std::string> ids;
  for (const std::string p : {"p2", "p3"}) {
    HttpResponse r = d.Call(verb::post, SandboxPath(p), R"({"idleTimeoutSeconds":3600})");
    ASSERT_EQ(r.status, 201) << p << ": " << r.Describe();
    auto s = ParseSandbox(r.body, &why);
    ASSERT_TRUE(s) << why;
    ASSERT_EQ(s->status, "RUNNING");
    ids[p] = s->sandbox_id;
  }

  // Paused at the runtime directly.
  HttpResponse paused = runtime_->Call(verb::post, "/sandboxes/" + ids["p2"] + "/pause", "{}");
  ASSERT_TRUE(paused.status == 204 || paused.status == 200) << paused.Describe();
  auto t = SteadyClock::now();
  EXPECT_TRUE(WaitFor([&] { return d.StatusOf("p2") == "PAUSED"; }, 10s))
      << "status: " << d.StatusOf("p2");
  Report("drift: pause behind serve's back repaired in " +
         std::to_string(Ms(SteadyClock::now() - t)) + " ms (reconcile every 2 s)");
  EXPECT_TRUE(HasHistory(d, "p2", "reconciler", "paused", &shown))
      << "history of p2:" << shown;
  EXPECT_FALSE(HasHistory(d, "p2", "webhook", "sandbox.lifecycle.paused", &shown))
      << "a webhook arrived although delivery is off:" << shown;

  // Killed at the runtime directly.
  HttpResponse killed = runtime_->Call(verb::delete_, "/sandboxes/" + ids["p3"]);
  ASSERT_TRUE(killed.status == 204 || killed.status == 200) << killed.Describe();
  t = SteadyClock::now();
  EXPECT_TRUE(WaitFor([&] { return d.StatusOf("p3") == "KILLED"; }, 10s))
      << "status: " << d.StatusOf("p3");
  Report("drift: kill behind serve's back repaired in " +
         std::to_string(Ms(SteadyClock::now() - t)) + " ms");
  EXPECT_TRUE(HasHistory(d, "p3", "reconciler", "killed", &shown))
      << "history of p3:" << shown;

  HttpResponse metrics = d.Call(verb::get, "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.Describe();
  EXPECT_NE(metrics.body.find("sandboxd_drift_repaired_total"), std::string::npos)
      << metrics.body;

  // What breaks silently is said: drift no webhook reported, in /readyz's
  // detail (still ready) and in the metrics the alerts read.
  HttpResponse ready = d.Call(verb::get, "/readyz");
  ASSERT_EQ(ready.status, 200) << ready.Describe();
  EXPECT_NE(ready.body.find(R"("webhooks":{"status":"silent")"), std::string::npos)
      << ready.Describe();
  EXPECT_NE(metrics.body.find("sandboxd_drift_since_last_webhook 2"), std::string::npos)
      << metrics.body;
  // Delivery back on: the next signed webhook clears it.
  HttpResponse on = runtime_->Call(verb::post, "/admin/webhook-delivery", R"({"enabled":true})");
  ASSERT_TRUE(on.status == 200 || on.status == 204) << on.Describe();
  HttpResponse pause = d.Call(verb::post, SandboxPath("p2") + "/wake");
  ASSERT_TRUE(pause.status == 200 || pause.status == 202) << pause.Describe();
  EXPECT_TRUE(WaitFor(
      [&] {
        return d.Call(verb::get, "/readyz").body.find(R"("webhooks":{"status":"ok")") !=
               std::string::npos;
      },
      10s))
      << d.Call(verb::get, "/readyz").Describe();
  HttpResponse after = d.Call(verb::get, "/metrics");
  EXPECT_NE(after.body.find("sandboxd_webhook_last_verified_timestamp_seconds "), std::string::npos)
      << after.body;
  EXPECT_NE(after.body.find("sandboxd_drift_since_last_webhook 0"), std::string::npos)
      << after.body;
}

// A fake E2B API: one sandbox "ifake1". Pause calls 1..4 answer 500 (one
// failed pause: the provider makes 4 attempts), call 5 hangs 3 s and answers
// 500, later calls answer 204. Every connection is closed after one answer.
class FakeE2b {
 public:

  std::string url() const { return server_.url(); }
  int pause_calls() const { return pause_calls_; }
  int pauses_in_flight() const { return in_flight_; }
  bool paused() const { return paused_; }

 private:
  std::string Listed(bool paused) const {
    boost::json::object o;
    o["sandboxID"] = "ifake1";
    o["templateID"] = "base";
    o["clientID"] = "x";
    o["alias"] = "base";
    o["startedAt"] = FormatRfc3339(started_at_);
    o["endAt"] = FormatRfc3339(started_at_ + 1h);
    o["cpuCount"] = 1;
    o["memoryMB"] = 512;
    o["diskSizeMB"] = 512;
    o["envdVersion"] = "0.2.0";
    o["state"] = paused ? "paused" : "running";
    o["metadata"] = boost::json::object{{"projectId", "p"}};
    return boost::json::serialize(o);
  }

  void Handle(const FakeHttpServer::Request& req, FakeHttpServer::Response& res) {
    const std::string target(req.target());
    if (req.method() == verb::post && target == "/v2/sandboxes") {  // E2B's current create
      res.result(201);
      res.body() =
          R"({"sandboxID":"ifake1","templateID":"base","clientID":"x","envdVersion":"0.2.0"})";
    } else if (req.method() == verb::post && target == "/sandboxes/ifake1/pause") {
      const int n = ++pause_calls_;
      ++in_flight_;
      if (n == 5) std::this_thread::sleep_for(3s);
      if (n <= 5) {
        res.result(500);
        res.body() = R"({"code":500,"message":"injected failure"})";
      } else {
        paused_ = true;
        res.result(204);
      }
      --in_flight_;
    } else if (req.method() == verb::get && target.rfind("/v2/sandboxes", 0) == 0) {
      res.result(200);
      res.body() = "[" + Listed(paused_) + "]";
    } else if (req.method() == verb::get && target == "/sandboxes/ifake1") {
      res.result(200);
      res.body() = Listed(paused_);
    } else if (req.method() == verb::post && target == "/sandboxes/ifake1/timeout") {
      res.result(204);
    } else if (req.method() == verb::post && target == "/v2/sandboxes/ifake1/connect") {
      res.result(500);  // every resume fails
      res.body() = R"({"code":500,"message":"injected resume failure"})";
    } else {
      res.result(404);
      res.body() = R"({"code":404,"message":"not found"})";
    }
  }

  const SystemTime started_at_ = TruncateToMillis(std::chrono::system_clock::now());
  std::atomic<int> pause_calls_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<bool> paused_{false};
  std::mutex mu_;
  // Last: stopped (every handler returned) before the state above goes.
  FakeHttpServer server_{[this](const FakeHttpServer::Request& req, FakeHttpServer::Response& res) {
    Handle(req, res);
  }};
};

TEST_F(ProviderTest, FailingProviderKeepsReadsFastAndPausesOnce) {
  FakeE2b fake;
  serve_ = std::make_unique<Daemon>(ServeOptions(kFakeServePorts, fake.url(), "e2b_fake"));
  ASSERT_TRUE(serve_->Start());
  const Daemon& d = *serve_;
  std::string why;

  HttpResponse created = d.Call(verb::post, SandboxPath("p"));
  ASSERT_EQ(created.status, 201) << created.Describe();
  auto s = ParseSandbox(created.body, &why);
  ASSERT_TRUE(s) << why;
  ASSERT_EQ(s->status, "RUNNING");
  ASSERT_EQ(s->sandbox_id, "ifake1");

  // Read continuously until PAUSED; time the reads made while a pause call
  // was in flight at the fake.
  std::vector<int64_t> in_flight_reads_ms;
  std::string last_body;
  const bool paused = WaitFor(
      [&] {
        const bool busy = fake.pauses_in_flight() > 0;
        const auto t0 = SteadyClock::now();
        HttpResponse r = d.Call(verb::get, SandboxPath("p"), "", 5s);
        const int64_t ms = Ms(SteadyClock::now() - t0);
        if (!r.answered || r.status != 200) return false;
        last_body = r.body;
        if (busy && fake.pauses_in_flight() > 0) in_flight_reads_ms.push_back(ms);
        auto v = ParseSandbox(r.body);
        if (!v) return false;
        return v->status == "PAUSED";
      },
      60s, 20ms);
  ASSERT_TRUE(paused) << "not PAUSED within 60 s; pause calls " << fake.pause_calls()
                      << "; last: " << last_body;
  // The failed pause put the record back to RUNNING (with lastError) before
  // the sweep retried it. The RUNNING spell lasts until the next sweep tick,
  // which may come at once, so history shows it rather than a lucky read.
  auto history = d.History("p");
  ASSERT_TRUE(history.has_value());
  const bool failed_back_to_running =
      std::any_of(history->begin(), history->end(), [](const HistoryEvent& e) {
        return e.type == "pause_failed" && e.status == "RUNNING" && e.outcome == "applied";
      });
  EXPECT_TRUE(failed_back_to_running) << "no applied pause_failed → RUNNING in history";
  EXPECT_EQ(fake.pause_calls(), 6) << "4 failed attempts, a hanging one, then the 204";
  ASSERT_GE(in_flight_reads_ms.size(), 10u) << "too few reads while a pause call was in flight";
  std::vector<int64_t> sorted = in_flight_reads_ms;
  std::sort(sorted.begin(), sorted.end());
  const int64_t max_ms = sorted.back();
  const int64_t median_ms = sorted[sorted.size() / 2];
  Report("failing provider: " + std::to_string(sorted.size()) +
         " reads while a pause call was in flight: median " + std::to_string(median_ms) +
         " ms, max " + std::to_string(max_ms) + " ms");
  EXPECT_LT(max_ms, 50) << "a read took " << max_ms << " ms while a pause call was in flight";

  // PAUSED: no further pause call.
  const int calls = fake.pause_calls();
  SleepFor(3s);
  EXPECT_EQ(fake.pause_calls(), calls) << "pause calls after PAUSED";
  EXPECT_EQ(d.StatusOf("p"), "PAUSED");

  // A wake the provider fails: still PAUSED, and explain still names the
  // idle enforcer as who paused it (its failed attempts and the failed wake
  // stepped over), with the failed wake as the failure and its retry plan.
  HttpResponse woke = d.Call(verb::post, SandboxPath("p") + "/wake");
  EXPECT_TRUE(woke.status >= 200 && woke.status < 600) << woke.Describe();
  std::string shown;
  ASSERT_TRUE(WaitFor([&] { return HasHistory(d, "p", "api", "resume_failed", &shown); }, 20s))
      << "history of p:" << shown;
  ASSERT_TRUE(WaitFor([&] { return d.StatusOf("p") == "PAUSED"; }, 10s)) << d.StatusOf("p");
  HttpResponse explained = d.Call(verb::get, SandboxPath("p") + "/explain");
  ASSERT_EQ(explained.status, 200) << explained.Describe();
  const auto e = boost::json::parse(explained.body).as_object();
  EXPECT_EQ(e.at("cause").at("source"), "enforcer") << explained.body;
  EXPECT_EQ(e.at("failure").at("code"), "resume_failed") << explained.body;
  const std::string summary(e.at("summary").as_string());
  EXPECT_NE(summary.find(": paused by the idle enforcer"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Last failure (resume_failed)"), std::string::npos) << summary;
}

}  // namespace
}  // namespace sbx::integration
