#include "api/api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "http/testing/call_route.h"
#include "lifecycle/testing.h"
#include "store/testing/forwarding_store.h"

namespace sbx::api {
namespace {

using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : api_(h_.lifecycle, enforcer_, sessions_, h_.metrics, h_.ids, {.api_token = "secret"}) {
    api_.Register(router_);
  }

  // Signs in with the token; returns the session id from Set-Cookie.
  std::string SignIn(http_server::Router& router) {
    http_server::Request req{http::verb::post, "/api/session", 11};
    req.set(http::field::authorization, "Bearer secret");
    req.prepare_payload();
    auto res = RunSync(h_.io, http_server::testing::CallRoute(router, req));
    EXPECT_EQ(res.result(), http::status::no_content) << res.body();
    const std::string set(res[http::field::set_cookie]);
    const std::string prefix = std::string(kSessionCookie) + "=";
    if (set.rfind(prefix, 0) != 0) return "";
    return set.substr(prefix.size(), set.find(';') - prefix.size());
  }
  std::string SignIn() { return SignIn(router_); }

  // A request with the session cookie `id` (and browser headers) on `router`.
  http_server::Response CallRouter(
      http_server::Router& router, http::verb method, const std::string& target,
      const std::string& id, std::string body = "",
      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http_server::Request req{method, target, 11};
    req.set(http::field::host, "127.0.0.1:8080");
    req.set(http::field::cookie, "other=1; " + std::string(kSessionCookie) + "=" + id);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    auto res = RunSync(h_.io, http_server::testing::CallRoute(router, req));
    h_.Drain();
    return res;
  }

  http_server::Response Call(http::verb method, const std::string& target, std::string body = "",
                             bool auth = true) {
    http_server::Request req{method, target, 11};
    if (auth) req.set(http::field::authorization, "Bearer secret");
    req.body() = std::move(body);
    req.prepare_payload();
    auto res = RunSync(h_.io, http_server::testing::CallRoute(router_, req));
    h_.Drain();
    return res;
  }

  // With the session cookie instead of the token, and browser headers.
  http_server::Response CallWithCookie(
      http::verb method, const std::string& target, std::string body,
      std::vector<std::pair<std::string, std::string>> headers) {
    http_server::Request req{method, target, 11};
    req.set(http::field::host, "127.0.0.1:8080");
    if (cookie_.empty()) cookie_ = SignIn();
    req.set(http::field::cookie, std::string(kSessionCookie) + "=" + cookie_);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    auto res = RunSync(h_.io, http_server::testing::CallRoute(router_, req));
    h_.Drain();
    return res;
  }

  bool Authenticate(const std::string& cookie) {
    http_server::Request req{http::verb::get, "/api/sandboxes", 11};
    req.set(http::field::cookie, "other=1; " + cookie);
    return RunSync(h_.io, api_.Authenticate(req)).ok();
  }

  static boost::json::value Json(const http_server::Response& r) {
    return boost::json::parse(r.body());
  }

  Harness h_;
  jobs::AlwaysLeader leader_;
  jobs::IdleEnforcer enforcer_{h_.clock,   h_.pool,    *h_.store, h_.lifecycle,
                               h_.bus,     h_.metrics, leader_,   {}};
  Sessions sessions_{h_.clock, h_.pool, *h_.store, h_.ids, {.key = "secret"}};
  Api api_;
  http_server::Router router_;
  std::string cookie_;  // CallWithCookie's session
};

TEST_F(ApiTest, EveryApiRouteNeedsTheToken) {
  for (auto [verb, target] : std::vector<std::pair<http::verb, std::string>>{
           {http::verb::get, "/api/projects/p1/sandbox"},
           {http::verb::post, "/api/projects/p1/sandbox"},
           {http::verb::post, "/api/projects/p1/sandbox/wake"},
           {http::verb::delete_, "/api/projects/p1/sandbox"},
           {http::verb::get, "/api/sandboxes"},
           {http::verb::get, "/api/jobs/idle-enforcer/runs"},
           {http::verb::post, "/api/projects/p1/sandbox/holds"},
           {http::verb::get, "/api/projects/p1/sandbox/holds"},
           {http::verb::delete_, "/api/projects/p1/sandbox/holds/build"},
           {http::verb::get, "/api/projects/p1/sandbox/explain"},
           {http::verb::delete_, "/api/projects/p1"},
           {http::verb::get, "/api/overview"},
           {http::verb::get, "/api/policy/report"}}) {
    auto r = Call(verb, target, "", false);
    EXPECT_EQ(r.result(), http::status::unauthorized) << target;
    EXPECT_EQ(Json(r).at("error").at("code"), "unauthenticated");
  }
  EXPECT_EQ(h_.provider.calls("create"), 0);
}

// A project forgotten and made again starts its versions over: a status
// read must show the new sandbox, not the bytes cached for the old record
// at the same version.
TEST_F(ApiTest, AStatusReadAfterForgetAndCreateShowsTheNewSandbox) {
  const std::string path = "/api/projects/again/sandbox";
  ASSERT_EQ(Call(http::verb::post, path).result(), http::status::created);
  const auto old_read = Json(Call(http::verb::get, path));
  const std::string old_id(old_read.at("sandboxId").as_string());
  ASSERT_EQ(Call(http::verb::delete_, path).result(), http::status::no_content);
  ASSERT_EQ(Call(http::verb::delete_, "/api/projects/again?history=remove").result(),
            http::status::ok);
  EXPECT_EQ(Call(http::verb::get, path).result(), http::status::not_found);
  h_.clock.Advance(std::chrono::seconds(1));
  ASSERT_EQ(Call(http::verb::post, path).result(), http::status::created);
  const auto now = Json(Call(http::verb::get, path));
  EXPECT_EQ(now.at("version"), old_read.at("version")) << "the test wants the version repeated";
  EXPECT_NE(now.at("sandboxId").as_string(), old_id) << "the old sandbox's cached status";
  EXPECT_EQ(now.at("status"), "RUNNING");
}

TEST_F(ApiTest, CreateChoosesEgressOnlyWhenAsked) {
  ASSERT_EQ(Call(http::verb::post, "/api/projects/open/sandbox", R"({"allowInternetAccess":true})")
                .result(),
            http::status::created);
  ASSERT_EQ(Call(http::verb::post, "/api/projects/plain/sandbox", "{}").result(),
            http::status::created);
  auto bad = Call(http::verb::post, "/api/projects/bad/sandbox", R"({"allowInternetAccess":"yes"})");
  EXPECT_EQ(bad.result(), http::status::bad_request) << bad.body();
  EXPECT_FALSE(h_.lifecycle.Get("bad").ok()) << "bad input changes nothing";
  const auto creates = h_.provider.creates();
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_EQ(creates[0].allow_internet_access, true);
  EXPECT_EQ(creates[1].allow_internet_access, std::nullopt) << "unset: the template decides";
}

TEST_F(ApiTest, CreateGetAndLifecycleRoutes) {
  auto c = Call(http::verb::post, "/api/projects/demo/sandbox", R"({"idleTimeoutSeconds":60})");
  ASSERT_EQ(c.result(), http::status::created) << c.body();
  auto j = Json(c);
  EXPECT_EQ(j.at("status"), "RUNNING");
  EXPECT_EQ(j.at("idleTimeoutSeconds"), 60);
  EXPECT_TRUE(j.at("pauseAt").is_string());
  EXPECT_TRUE(j.at("lastError").is_null());
  EXPECT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox").result(), http::status::ok);
  auto g = Call(http::verb::get, "/api/projects/demo/sandbox");
  EXPECT_EQ(g.result(), http::status::ok);
  EXPECT_EQ(Json(g).at("projectId"), "demo");
  EXPECT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox/activity").result(),
            http::status::no_content);
  auto p = Call(http::verb::post, "/api/projects/demo/sandbox/pause");
  EXPECT_EQ(p.result(), http::status::accepted);
  EXPECT_EQ(Json(p).at("status"), "PAUSING");
  EXPECT_EQ(h_.lifecycle.Get("demo")->status, core::SandboxStatus::kPaused);
  auto w = Call(http::verb::post, "/api/projects/demo/sandbox/wake");
  EXPECT_EQ(w.result(), http::status::accepted);
  EXPECT_EQ(Json(w).at("status"), "STARTING");
  auto patch = Call(http::verb::patch, "/api/projects/demo/sandbox", R"({"idleTimeoutSeconds":30})");
  EXPECT_EQ(Json(patch).at("idleTimeoutSeconds"), 30);
  auto hist = Call(http::verb::get, "/api/projects/demo/sandbox/history");
  EXPECT_GE(Json(hist).at("events").as_array().size(), 5u);
  EXPECT_TRUE(Json(hist).at("nextBefore").is_null());
  // Paged: each page's nextBefore asks for the older rows.
  auto page1 = Json(Call(http::verb::get, "/api/projects/demo/sandbox/history?limit=2"));
  ASSERT_EQ(page1.at("events").as_array().size(), 2u);
  const int64_t next = page1.at("nextBefore").as_int64();
  EXPECT_EQ(next, page1.at("events").at(1).at("seq").as_int64());
  auto page2 = Json(Call(http::verb::get, "/api/projects/demo/sandbox/history?limit=2&before=" +
                                               std::to_string(next)));
  EXPECT_LT(page2.at("events").at(0).at("seq").as_int64(), next);
  for (const char* bad : {"before=0", "before=x", "before=-3", "before="}) {
    auto r = Call(http::verb::get, std::string("/api/projects/demo/sandbox/history?") + bad);
    EXPECT_EQ(r.result(), http::status::bad_request) << bad;
  }
  EXPECT_EQ(Call(http::verb::delete_, "/api/projects/demo/sandbox").result(),
            http::status::no_content);
  EXPECT_EQ(Json(Call(http::verb::get, "/api/projects/demo/sandbox")).at("status"), "KILLED");
}

TEST_F(ApiTest, OverviewSummarizesTheWindowFromTheStore) {
  using namespace std::chrono_literals;
  for (const char* p : {"a", "b", "c"}) {
    ASSERT_EQ(Call(http::verb::post, fmt::format("/api/projects/{}/sandbox", p),
                   R"({"idleTimeoutSeconds":60})")
                  .result(),
              http::status::created);
  }
  h_.clock.Advance(2min);
  ASSERT_EQ(Call(http::verb::post, "/api/projects/b/sandbox/activity").result(),
            http::status::no_content);
  ASSERT_EQ(Call(http::verb::delete_, "/api/projects/c/sandbox").result(),
            http::status::no_content);
  // The idle enforcer pauses a (due a minute ago), not b.
  auto pass = RunSync(h_.io, enforcer_.Sweep("schedule"));
  h_.Drain();
  ASSERT_EQ(pass.paused, 1);
  h_.clock.Advance(10min);

  auto r = Call(http::verb::get, "/api/overview");
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  auto o = Json(r);
  EXPECT_EQ(o.at("window"), "1h");
  EXPECT_EQ(o.at("bucketSeconds"), 60);
  EXPECT_FALSE(o.at("truncated").as_bool());
  EXPECT_EQ(o.at("coveredFrom"), o.at("from"));
  EXPECT_EQ(o.at("current").at("RUNNING"), 1);
  EXPECT_EQ(o.at("current").at("PAUSED"), 1);
  EXPECT_EQ(o.at("current").at("KILLED"), 1);
  EXPECT_EQ(o.at("current").at("STARTING"), 0);
  const auto& buckets = o.at("buckets").as_array();
  ASSERT_EQ(buckets.size(), 60u);
  EXPECT_EQ(buckets.back().at("end"), o.at("to"));
  int64_t creates = 0, pauses = 0, kills = 0, late = 0;
  for (const auto& b : buckets) {
    creates += b.at("creates").as_int64();
    pauses += b.at("pauses").as_int64();
    kills += b.at("kills").as_int64();
    late += b.at("lateness").at("count").as_int64();
  }
  EXPECT_EQ(creates, 3);
  EXPECT_EQ(pauses, 1);
  EXPECT_EQ(kills, 1);
  EXPECT_EQ(late, 1);
  // Before anything was made nothing ran; the statuses then follow history.
  EXPECT_EQ(buckets.front().at("statuses").at("RUNNING"), 0);
  EXPECT_EQ(buckets.back().at("statuses"), o.at("current"));
  // Awake: a for 2 min, b for 12, c for 2; a's idle pause saved 10 min.
  const auto& savings = o.at("savings");
  EXPECT_EQ(savings.at("idlePauses"), 1);
  EXPECT_NEAR(savings.at("runningHours").to_number<double>(), 16.0 / 60, 0.01);
  EXPECT_NEAR(savings.at("savedHours").to_number<double>(), 10.0 / 60, 0.01);

  auto day = Json(Call(http::verb::get, "/api/overview?window=24h"));
  EXPECT_EQ(day.at("buckets").as_array().size(), 96u);
  EXPECT_EQ(day.at("bucketSeconds"), 900);
  for (const char* bad : {"window=2h", "window=", "window=1H"}) {
    auto b = Call(http::verb::get, std::string("/api/overview?") + bad);
    EXPECT_EQ(b.result(), http::status::bad_request) << bad;
    EXPECT_EQ(Json(b).at("error").at("code"), "invalid_argument");
  }
}

TEST_F(ApiTest, PolicyReportCountsRegretWakesFromHistory) {
  using namespace std::chrono_literals;
  ASSERT_EQ(Call(http::verb::post, "/api/projects/a/sandbox", R"({"idleTimeoutSeconds":60})")
                .result(),
            http::status::created);
  h_.clock.Advance(2min);
  ASSERT_EQ(RunSync(h_.io, enforcer_.Sweep("schedule")).paused, 1);
  h_.Drain();
  h_.clock.Advance(3min);  // back 3 min after the idle pause: a regret
  ASSERT_EQ(Call(http::verb::post, "/api/projects/a/sandbox/wake").result(),
            http::status::accepted);
  h_.Drain();
  auto r = Call(http::verb::get, "/api/policy/report?since=1h");
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  auto j = Json(r);
  const auto& t = j.at("totals");
  EXPECT_EQ(t.at("idlePauses"), 1);
  EXPECT_EQ(t.at("wakes"), 1);
  EXPECT_EQ(t.at("regretWakes"), 1);
  EXPECT_EQ(t.at("resumeWaits"), 1);
  EXPECT_NEAR(t.at("savedMinutes").to_number<double>(), 3.0, 0.01);
  EXPECT_EQ(j.at("regretWindowSeconds"), 600);
  EXPECT_EQ(j.at("projectCount"), 1);
  EXPECT_EQ(j.at("projects").at(0).at("projectId"), "a");
  // A 2-minute window does not call a 3-minute return a regret.
  auto narrow = Json(Call(http::verb::get, "/api/policy/report?since=1h&regretWindow=2m"));
  EXPECT_EQ(narrow.at("totals").at("regretWakes"), 0);
  for (const char* bad : {"since=soon", "since=800h", "regretWindow=0", "regretWindow=x",
                          "compare=smart"}) {
    auto b = Call(http::verb::get, std::string("/api/policy/report?") + bad);
    EXPECT_EQ(b.result(), http::status::bad_request) << bad;
  }
  // No shadow configured: no replay unless asked for.
  EXPECT_TRUE(j.at("replay").is_null());
  EXPECT_EQ(j.at("policy").at("default"), "fixed");
  EXPECT_TRUE(j.at("policy").at("shadow").is_null());
  // Replayed over the one idle episode (away 5 minutes, from the 60 s
  // timeout the record had): both pause after a minute and make the user
  // wait; adaptive learns from the regret.
  auto compared = Json(Call(http::verb::get, "/api/policy/report?since=1h&compare=adaptive"));
  const auto& replay = compared.at("replay");
  EXPECT_EQ(replay.at("episodes"), 1);
  ASSERT_EQ(replay.at("policies").as_array().size(), 2u);
  const auto& fixed = replay.at("policies").at(0);
  const auto& adaptive = replay.at("policies").at(1);
  EXPECT_EQ(fixed.at("policy"), "fixed");
  EXPECT_EQ(fixed.at("resumeWaits"), 1);
  EXPECT_EQ(fixed.at("regretWakes"), 1);
  EXPECT_NEAR(fixed.at("idleMinutes").to_number<double>(), 1.0, 0.01);
  EXPECT_NEAR(fixed.at("savedMinutes").to_number<double>(), 4.0, 0.01);
  EXPECT_EQ(adaptive.at("policy"), "adaptive");
  EXPECT_EQ(adaptive.at("timeoutChanges"), 1);
  EXPECT_FALSE(replay.at("note").as_string().empty());
}

TEST_F(ApiTest, EachProjectChoosesItsIdlePolicyAndTheChoiceIsInHistory) {
  ASSERT_EQ(Call(http::verb::post, "/api/projects/a/sandbox").result(), http::status::created);
  auto fresh = Json(Call(http::verb::get, "/api/projects/a/sandbox"));
  EXPECT_TRUE(fresh.at("idlePolicy").is_null());
  EXPECT_EQ(fresh.at("effectiveIdlePolicy"), "fixed");
  auto chosen = Call(http::verb::patch, "/api/projects/a/sandbox", R"({"idlePolicy":"adaptive"})");
  ASSERT_EQ(chosen.result(), http::status::ok) << chosen.body();
  EXPECT_EQ(Json(chosen).at("idlePolicy"), "adaptive");
  EXPECT_EQ(Json(chosen).at("effectiveIdlePolicy"), "adaptive");
  // Both at once; then back to the deployment's.
  auto both = Json(Call(http::verb::patch, "/api/projects/a/sandbox",
                        R"({"idlePolicy":"warmup","idleTimeoutSeconds":90})"));
  EXPECT_EQ(both.at("idlePolicy"), "warmup");
  EXPECT_EQ(both.at("idleTimeoutSeconds"), 90);
  auto reset = Json(Call(http::verb::patch, "/api/projects/a/sandbox", R"({"idlePolicy":null})"));
  EXPECT_TRUE(reset.at("idlePolicy").is_null());
  EXPECT_EQ(reset.at("effectiveIdlePolicy"), "fixed");
  EXPECT_EQ(reset.at("idleTimeoutSeconds"), 90);
  // Bad input changes nothing.
  const auto version = reset.at("version");
  for (const char* bad : {R"({"idlePolicy":"smart"})", R"({"idlePolicy":3})", "{}",
                          R"({"idlePolicy":"adaptive","color":"red"})"}) {
    auto b = Call(http::verb::patch, "/api/projects/a/sandbox", bad);
    EXPECT_EQ(b.result(), http::status::bad_request) << bad;
    EXPECT_EQ(Json(b).at("error").at("code"), "invalid_argument") << bad;
  }
  EXPECT_EQ(Json(Call(http::verb::get, "/api/projects/a/sandbox")).at("version"), version);
  // Each choice of policy is in history with what was chosen; a timeout
  // alone is not.
  Call(http::verb::patch, "/api/projects/a/sandbox", R"({"idleTimeoutSeconds":120})");
  auto history = Json(Call(http::verb::get, "/api/projects/a/sandbox/history"));
  std::vector<std::string> details;
  for (const auto& row : history.at("events").as_array()) {
    if (row.at("type") == "settings_changed") {
      details.push_back(std::string(row.at("detail").as_string()));
    }
  }
  EXPECT_EQ(details, (std::vector<std::string>{"idle policy: the deployment's (fixed)",
                                               "idle policy: warmup", "idle policy: adaptive"}));
}

TEST_F(ApiTest, EnforcerRunsPageAndNameTheProjectsTheyPaused) {
  using namespace std::chrono_literals;
  for (int i = 0; i < 3; ++i) {
    const std::string p = fmt::format("p{}", i);
    ASSERT_EQ(Call(http::verb::post, "/api/projects/" + p + "/sandbox",
                   R"({"idleTimeoutSeconds":60})")
                  .result(),
              http::status::created);
    h_.clock.Advance(2min);
    ASSERT_EQ(RunSync(h_.io, enforcer_.Sweep("schedule")).paused, 1);
    h_.Drain();
  }
  auto first = Json(Call(http::verb::get, "/api/jobs/idle-enforcer/runs?limit=2"));
  const auto& runs = first.at("runs").as_array();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].at("pausedProjects"), boost::json::array{"p2"});
  EXPECT_EQ(runs[1].at("pausedProjects"), boost::json::array{"p1"});
  EXPECT_EQ(first.at("nextBefore"), runs[1].at("id"));
  auto older = Json(Call(http::verb::get, "/api/jobs/idle-enforcer/runs?limit=2&before=" +
                                              std::to_string(runs[1].at("id").as_int64())));
  ASSERT_EQ(older.at("runs").as_array().size(), 1u);
  EXPECT_EQ(older.at("runs").at(0).at("pausedProjects"), boost::json::array{"p0"});
  EXPECT_TRUE(older.at("nextBefore").is_null());
  EXPECT_EQ(Call(http::verb::get, "/api/jobs/idle-enforcer/runs?before=0").result(),
            http::status::bad_request);
}

TEST_F(ApiTest, OnlyAKilledProjectCanBeForgottenWithOrWithoutItsHistory) {
  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox", "{}").result(),
            http::status::created);
  auto running = Call(http::verb::delete_, "/api/projects/demo");
  EXPECT_EQ(running.result(), http::status::conflict);
  EXPECT_EQ(Json(running).at("error").at("code"), "failed_precondition");
  EXPECT_EQ(Json(Call(http::verb::get, "/api/projects/demo/sandbox")).at("status"), "RUNNING");
  ASSERT_EQ(Call(http::verb::delete_, "/api/projects/demo/sandbox").result(),
            http::status::no_content);
  EXPECT_EQ(Call(http::verb::delete_, "/api/projects/demo?history=all").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(http::verb::delete_, "/api/projects/demo?history=remove").result(),
            http::status::ok);
  EXPECT_EQ(Call(http::verb::get, "/api/projects/demo/sandbox").result(),
            http::status::not_found);
  EXPECT_TRUE(Json(Call(http::verb::get, "/api/sandboxes")).at("sandboxes").as_array().empty());
  EXPECT_EQ(Call(http::verb::delete_, "/api/projects/demo").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::delete_, "/api/projects/a%20b").result(),
            http::status::bad_request);
  // Made again, it starts afresh: its history is the row that says it was
  // forgotten, then the new sandbox's.
  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox", "{}").result(),
            http::status::created);
  auto events = Json(Call(http::verb::get, "/api/projects/demo/sandbox/history"))
                    .at("events")
                    .as_array();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().at("type"), "forgotten");
  EXPECT_EQ(events.back().at("detail"), "record and history forgotten");
  // Kept: the rows stay.
  ASSERT_EQ(Call(http::verb::delete_, "/api/projects/demo/sandbox").result(),
            http::status::no_content);
  auto kept = Call(http::verb::delete_, "/api/projects/demo?history=keep");
  ASSERT_EQ(kept.result(), http::status::ok) << kept.body();
  EXPECT_EQ(Json(kept).at("historyRemoved"), 0);
  EXPECT_EQ(Json(kept).at("projectId"), "demo");
  EXPECT_GE(h_.store->ListHistory("demo", 100)->size(), events.size() + 2);
}

TEST_F(ApiTest, HoldsArePlacedListedAndReleased) {
  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox", "{}").result(),
            http::status::created);
  const std::string holds = "/api/projects/demo/sandbox/holds";
  auto placed = Call(http::verb::post, holds, R"({"name":"build","ttlSeconds":600})");
  ASSERT_EQ(placed.result(), http::status::ok) << placed.body();
  auto j = Json(placed);
  EXPECT_EQ(j.at("name"), "build");
  const auto expires = j.at("expiresAt");
  EXPECT_EQ(j.at("sandbox").at("pauseAt"), expires);
  EXPECT_EQ(j.at("sandbox").at("holds").as_array().size(), 1u);
  // Visible in the sandbox object and the list.
  auto g = Json(Call(http::verb::get, "/api/projects/demo/sandbox"));
  EXPECT_EQ(g.at("holds").at(0).at("name"), "build");
  EXPECT_EQ(g.at("holds").at(0).at("expiresAt"), expires);
  auto list = Json(Call(http::verb::get, holds));
  ASSERT_EQ(list.at("holds").as_array().size(), 1u);
  EXPECT_EQ(list.at("holds").at(0).at("name"), "build");
  // Bad input: clear 400s that change nothing.
  for (const char* body : {R"({"ttlSeconds":60})", R"({"name":"build"})",
                           R"({"name":"a b","ttlSeconds":60})", R"({"name":"..","ttlSeconds":60})",
                           R"({"name":"x","ttlSeconds":0})", R"({"name":"x","ttlSeconds":"60"})",
                           R"({"name":"x","ttlSeconds":86401})",
                           R"({"name":"x","ttlSeconds":60,"forever":true})", "[]"}) {
    auto bad = Call(http::verb::post, holds, body);
    EXPECT_EQ(bad.result(), http::status::bad_request) << body << " " << bad.body();
    EXPECT_EQ(Json(bad).at("error").at("code"), "invalid_argument") << body;
  }
  EXPECT_EQ(Call(http::verb::delete_, holds + "/a%20b").result(), http::status::bad_request);
  EXPECT_EQ(Json(Call(http::verb::get, holds)).at("holds").as_array().size(), 1u);
  // Release: 204, then 404 for a hold that is not there.
  EXPECT_EQ(Call(http::verb::delete_, holds + "/build").result(), http::status::no_content);
  auto again = Call(http::verb::delete_, holds + "/build");
  EXPECT_EQ(again.result(), http::status::not_found) << again.body();
  EXPECT_TRUE(Json(Call(http::verb::get, holds)).at("holds").as_array().empty());
  // Only a running sandbox takes a hold; an unknown project is 404.
  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox/pause").result(),
            http::status::accepted);
  auto paused = Call(http::verb::post, holds, R"({"name":"build","ttlSeconds":60})");
  EXPECT_EQ(paused.result(), http::status::conflict) << paused.body();
  EXPECT_NE(paused.body().find("wake it first"), std::string::npos) << paused.body();
  EXPECT_EQ(Call(http::verb::post, "/api/projects/nope/sandbox/holds",
                 R"({"name":"build","ttlSeconds":60})")
                .result(),
            http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/api/projects/nope/sandbox/holds").result(),
            http::status::not_found);
}

// An expiry writes nothing: the status read, whose body is cached per
// record version, must still stop showing a hold once it has expired.
TEST_F(ApiTest, AnExpiredHoldLeavesTheStatusReadThoughNothingWasWritten) {
  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox", "{}").result(),
            http::status::created);
  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox/holds",
                 R"({"name":"quick","ttlSeconds":30})")
                .result(),
            http::status::ok);
  auto before = Json(Call(http::verb::get, "/api/projects/demo/sandbox"));
  ASSERT_EQ(before.at("holds").as_array().size(), 1u);
  const auto version = before.at("version");
  h_.clock.Advance(std::chrono::seconds(31));
  auto after = Json(Call(http::verb::get, "/api/projects/demo/sandbox"));
  EXPECT_EQ(after.at("version"), version);  // nothing was written
  EXPECT_TRUE(after.at("holds").as_array().empty()) << after;
}

TEST_F(ApiTest, ExplainSaysWhyAwakeAndWhoPausedWithTheDecisionsInputs) {
  EXPECT_EQ(Call(http::verb::get, "/api/projects/demo/sandbox/explain").result(),
            http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/api/projects/a%20b/sandbox/explain").result(),
            http::status::bad_request);
  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox", "{}").result(),
            http::status::created);
  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox/holds",
                 R"({"name":"build","ttlSeconds":600})")
                .result(),
            http::status::ok);
  auto awake = Call(http::verb::get, "/api/projects/demo/sandbox/explain");
  ASSERT_EQ(awake.result(), http::status::ok) << awake.body();
  auto a = Json(awake);
  EXPECT_EQ(a.at("status"), "RUNNING");
  EXPECT_EQ(a.at("pauseAtSetBy").at("kind"), "hold");
  EXPECT_EQ(a.at("pauseAtSetBy").at("name"), "build");
  EXPECT_EQ(a.at("pauseAt"), a.at("pauseAtSetBy").at("until"));
  EXPECT_EQ(a.at("awake").as_array().size(), 2u) << awake.body();  // start, hold
  EXPECT_EQ(a.at("cause").at("type"), "create_requested");
  EXPECT_TRUE(a.at("failure").is_null());
  EXPECT_TRUE(a.at("activity").at("start").is_string());

  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox/pause").result(),
            http::status::accepted);
  auto paused = Json(Call(http::verb::get, "/api/projects/demo/sandbox/explain"));
  EXPECT_EQ(paused.at("status"), "PAUSED");
  EXPECT_TRUE(paused.at("awake").as_array().empty());
  EXPECT_TRUE(paused.at("pauseAt").is_null());
  EXPECT_EQ(paused.at("cause").at("source"), "api");
  EXPECT_EQ(paused.at("cause").at("inputs").at("trigger"), "request");
  EXPECT_EQ(paused.at("cause").at("inputs").at("record").at("holds").at("build"),
            a.at("pauseAt"));
  EXPECT_NE(std::string(paused.at("summary").as_string()).find("paused by a client of the API"),
            std::string::npos);
  // The history carries the same inputs.
  auto hist = Json(Call(http::verb::get, "/api/projects/demo/sandbox/history"));
  bool found = false;
  for (const auto& e : hist.at("events").as_array()) {
    if (e.at("type") == "pause_requested") {
      found = true;
      EXPECT_EQ(e.at("inputs"), paused.at("cause").at("inputs"));
    } else if (e.at("type") == "paused") {
      EXPECT_TRUE(e.at("inputs").as_object().empty());
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ApiTest, LogsNeedAProviderThatKeepsOutput) {
  ASSERT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox", "{}").result(),
            http::status::created);
  // The fake provider, like E2B, keeps no output.
  auto r = Call(http::verb::get, "/api/projects/demo/sandbox/logs");
  EXPECT_EQ(r.result(), http::status::conflict) << r.body();
  EXPECT_NE(r.body().find("only by the local runtime"), std::string::npos) << r.body();
  EXPECT_EQ(Call(http::verb::get, "/api/projects/demo/sandbox/logs?tail=0").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(http::verb::get, "/api/projects/nope/sandbox/logs").result(),
            http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/api/projects/demo/sandbox/logs", "", false).result(),
            http::status::unauthorized);
}

TEST_F(ApiTest, ReadyzDetailSaysWhenWebhooksGoSilent) {
  // Without the E2B provider: the store check only.
  EXPECT_EQ(Call(http::verb::get, "/readyz", "", false).body(),
            R"({"status":"ready","checks":{"store":{"status":"ok"}}})");
  Api e2b(h_.lifecycle, enforcer_, sessions_, h_.metrics, h_.ids,
          {.api_token = "secret", .webhooks = true});
  http_server::Router router;
  e2b.Register(router);
  auto readyz = [&] {
    http_server::Request req{http::verb::get, "/readyz", 11};
    auto res = RunSync(h_.io, http_server::testing::CallRoute(router, req));
    EXPECT_EQ(res.result(), http::status::ok);
    return Json(res).at("checks").at("webhooks");
  };
  auto fresh = readyz();
  EXPECT_EQ(fresh.at("status"), "ok");
  EXPECT_TRUE(fresh.at("lastVerifiedAt").is_null());
  h_.lifecycle.delivery().DriftRepaired(h_.clock.Now());
  h_.lifecycle.delivery().DriftRepaired(h_.clock.Now());
  auto silent = readyz();
  EXPECT_EQ(silent.at("status"), "silent");
  EXPECT_EQ(silent.at("driftSinceLastWebhook"), 2);
  EXPECT_EQ(silent.at("lastDriftAt"), boost::json::value(FormatRfc3339(h_.clock.Now())));
  h_.clock.Advance(std::chrono::seconds(5));
  h_.lifecycle.delivery().WebhookVerified(h_.clock.Now());
  auto back = readyz();
  EXPECT_EQ(back.at("status"), "ok");
  EXPECT_EQ(back.at("driftSinceLastWebhook"), 0);
  EXPECT_EQ(back.at("lastVerifiedAt"), boost::json::value(FormatRfc3339(h_.clock.Now())));
}

TEST_F(ApiTest, BadInputGetsClear4xxAndChangesNothing) {
  auto bad = Call(http::verb::post, "/api/projects/p1/sandbox", "{not json");
  EXPECT_EQ(bad.result(), http::status::bad_request);
  EXPECT_EQ(Json(bad).at("error").at("code"), "invalid_argument");
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p1/sandbox", "[1]").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p1/sandbox", R"({"idleTimeoutSeconds":-1})").result(),
            http::status::bad_request);
  // A template name is bounded like everything else that reaches the record.
  auto long_template = Call(http::verb::post, "/api/projects/p1/sandbox",
                            R"({"template":")" + std::string(129, 't') + "\"}");
  EXPECT_EQ(long_template.result(), http::status::bad_request) << long_template.body();
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p1/sandbox", R"({"template":"a b"})").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p1/sandbox", R"({"template":5})").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(http::verb::post, "/api/projects/bad%20id/sandbox").result(),
            http::status::bad_request);
  // "." and ".." are not project ids, and metadata has limits.
  EXPECT_EQ(Call(http::verb::post, "/api/projects/../sandbox").result(), http::status::bad_request);
  EXPECT_EQ(Call(http::verb::post, "/api/projects/./sandbox").result(), http::status::bad_request);
  std::string huge = R"({"metadata":{)";
  for (int i = 0; i < 40; ++i) huge += (i ? "," : "") + fmt::format(R"("k{}":"v")", i);
  huge += "}}";
  auto too_many = Call(http::verb::post, "/api/projects/p1/sandbox", huge);
  EXPECT_EQ(too_many.result(), http::status::bad_request);
  EXPECT_NE(too_many.body().find("at most 32"), std::string::npos) << too_many.body();
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p1/sandbox",
                 R"({"metadata":{"k":")" + std::string(2000, 'v') + R"("}})")
                .result(),
            http::status::bad_request);
  auto marker = Call(http::verb::post, "/api/projects/p1/sandbox",
                     R"({"metadata":{"sandboxd.requestId":"forged"}})");
  EXPECT_EQ(marker.result(), http::status::bad_request) << marker.body();
  EXPECT_NE(marker.body().find("sandboxd's own"), std::string::npos) << marker.body();
  EXPECT_EQ(h_.provider.calls("create"), 0);
  EXPECT_FALSE(h_.lifecycle.Get("p1").ok());
  auto nf = Call(http::verb::get, "/api/projects/nope/sandbox");
  EXPECT_EQ(nf.result(), http::status::not_found);
  EXPECT_EQ(Json(nf).at("error").at("code"), "not_found");
  EXPECT_EQ(Call(http::verb::post, "/api/projects/nope/sandbox/wake").result(),
            http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/api/sandboxes?limit=0").result(), http::status::bad_request);
  EXPECT_EQ(Call(http::verb::get, "/api/sandboxes?status=SLEEPING").result(),
            http::status::bad_request);
  // The routes that take no fields refuse a body they cannot read, before
  // any change: a KILLED project is not re-created by a wake with garbage.
  ASSERT_EQ(Call(http::verb::post, "/api/projects/p2/sandbox", "{}").result(),
            http::status::created);
  ASSERT_EQ(Call(http::verb::delete_, "/api/projects/p2/sandbox").result(),
            http::status::no_content);
  const int64_t version = h_.lifecycle.Get("p2")->version;
  for (const char* route : {"wake", "pause", "activity"}) {
    for (const char* body : {"{garbage", "[]", R"({"now":true})"}) {
      auto r = Call(http::verb::post, fmt::format("/api/projects/p2/sandbox/{}", route), body);
      EXPECT_EQ(r.result(), http::status::bad_request) << route << " " << body << r.body();
    }
  }
  EXPECT_EQ(Call(http::verb::delete_, "/api/projects/p2/sandbox", "{garbage").result(),
            http::status::bad_request);
  EXPECT_EQ(h_.lifecycle.Get("p2")->version, version);
  EXPECT_EQ(h_.provider.calls("create"), 1);
  // An empty object is no field at all.
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p2/sandbox/wake", "{}").result(),
            http::status::accepted);
}

// A page of another origin (a sandbox's preview on another port of the same
// host is same-site) cannot use the operator's session cookie to change state.
TEST_F(ApiTest, CookieRequestsMustBeSameOriginAndChangesJson) {
  const std::string create = "/api/projects/p1/sandbox";
  const std::string json = "application/json";
  auto evil = CallWithCookie(http::verb::post, create, "{}",
                             {{"Origin", "http://evil.example"}, {"Content-Type", json}});
  EXPECT_EQ(evil.result(), http::status::forbidden) << evil.body();
  EXPECT_EQ(Json(evil).at("error").at("code"), "permission_denied");
  for (const char* site : {"cross-site", "same-site"}) {
    EXPECT_EQ(CallWithCookie(http::verb::post, create, "{}",
                             {{"Sec-Fetch-Site", site}, {"Content-Type", json}})
                  .result(),
              http::status::forbidden)
        << site;
  }
  // The media type decides, not a prefix of the header.
  for (const char* type : {"text/plain", "application/jsonp", "application/json-seq"}) {
    auto plain = CallWithCookie(http::verb::post, create, "{}",
                                {{"Sec-Fetch-Site", "same-origin"}, {"Content-Type", type}});
    EXPECT_EQ(plain.result(), http::status::bad_request) << type << plain.body();
  }
  EXPECT_EQ(CallWithCookie(http::verb::post, create + "/wake", "",
                           {{"Origin", "http://8080-sbx.localhost:8081"}})
                .result(),
            http::status::forbidden);
  EXPECT_EQ(h_.provider.calls("create"), 0);
  EXPECT_FALSE(h_.lifecycle.Get("p1").ok());
  // The dashboard's own requests pass, by either header; the media type is
  // case-insensitive and may carry parameters.
  EXPECT_EQ(CallWithCookie(http::verb::post, create, "{}",
                           {{"Sec-Fetch-Site", "same-origin"},
                            {"Content-Type", "Application/JSON ; charset=utf-8"}})
                .result(),
            http::status::created);
  EXPECT_EQ(CallWithCookie(http::verb::post, create + "/activity", "",
                           {{"Origin", "http://127.0.0.1:8080"}})
                .result(),
            http::status::no_content);
  // Reads too come from the dashboard's own pages only (an event stream is
  // presence: it would keep the sandbox awake); a navigation (none) is one.
  EXPECT_EQ(CallWithCookie(http::verb::get, create, "", {{"Sec-Fetch-Site", "cross-site"}})
                .result(),
            http::status::forbidden);
  for (const char* site : {"same-origin", "none"}) {
    EXPECT_EQ(CallWithCookie(http::verb::get, create, "", {{"Sec-Fetch-Site", site}}).result(),
              http::status::ok)
        << site;
  }
  // The bearer token is not ambient: API clients are not asked for an origin.
  http_server::Request req{http::verb::post, "/api/projects/p2/sandbox", 11};
  req.set(http::field::authorization, "Bearer secret");
  req.set(http::field::origin, "http://evil.example");
  req.prepare_payload();
  EXPECT_EQ(RunSync(h_.io, http_server::testing::CallRoute(router_, req)).result(),
            http::status::created);
}

TEST_F(ApiTest, ListPagesWithCursor) {
  for (const char* p : {"a", "b", "c"}) {
    ASSERT_EQ(Call(http::verb::post, std::string("/api/projects/") + p + "/sandbox").result(),
              http::status::created);
  }
  auto page1 = Json(Call(http::verb::get, "/api/sandboxes?limit=2"));
  ASSERT_EQ(page1.at("sandboxes").as_array().size(), 2u);
  EXPECT_EQ(page1.at("nextCursor"), "b");
  auto page2 = Json(Call(http::verb::get, "/api/sandboxes?limit=2&cursor=b"));
  ASSERT_EQ(page2.at("sandboxes").as_array().size(), 1u);
  EXPECT_TRUE(page2.at("nextCursor").is_null());
  auto running = Json(Call(http::verb::get, "/api/sandboxes?status=PAUSED"));
  EXPECT_TRUE(running.at("sandboxes").as_array().empty());
}

TEST_F(ApiTest, SessionCookieSignsInAndWrongTokenDoesNot) {
  auto in = Call(http::verb::post, "/api/session");
  ASSERT_EQ(in.result(), http::status::no_content);
  std::string cookie(in[http::field::set_cookie]);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Path=/"), std::string::npos);
  EXPECT_NE(cookie.find("Max-Age=604800"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "Secure only with --secure-cookies";
  const std::string id = SignIn();
  ASSERT_TRUE(IsWellFormedSessionId(id)) << id;
  EXPECT_EQ(Authenticate("sandboxd_session=" + id), true);
  EXPECT_NE(SignIn(), id) << "every sign-in is a new session";
  http_server::Request req{http::verb::post, "/api/session", 11};
  req.set(http::field::authorization, "Bearer wrong");
  EXPECT_FALSE(RunSync(h_.io, api_.Authenticate(req)).ok());
  // The scheme's case does not matter (RFC 9110 §11.1); the token's does.
  http_server::Request lower{http::verb::get, "/api/sandboxes", 11};
  lower.set(http::field::authorization, "bearer secret");
  EXPECT_TRUE(RunSync(h_.io, api_.Authenticate(lower)).ok());
  lower.set(http::field::authorization, "BEARER Secret");
  EXPECT_FALSE(RunSync(h_.io, api_.Authenticate(lower)).ok());
  auto refused = RunSync(h_.io, http_server::testing::CallRoute(router_, req));
  EXPECT_EQ(refused.result(), http::status::unauthorized);
  EXPECT_TRUE(refused[http::field::set_cookie].empty());
}

// The store holds a keyed hash of the id, never the id itself.
TEST_F(ApiTest, StoreKeepsOnlyTheHashOfTheSessionId) {
  const std::string id = SignIn();
  EXPECT_FALSE(h_.store->GetSession(id).ok());
  auto stored = h_.store->GetSession(sessions_.HashOf(id));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->expires_at - stored->created_at, std::chrono::hours(24 * 7));
}

TEST_F(ApiTest, ForgedOrUnknownCookiesAreRefused) {
  const std::string id = SignIn();
  const std::string unknown(64, 'a');  // well formed, never handed out
  for (const std::string& bad : {std::string("forged"), unknown, id + "0", std::string(" ")}) {
    EXPECT_FALSE(Authenticate("sandboxd_session=" + bad)) << bad;
    auto r = CallRouter(router_, http::verb::get, "/api/sandboxes", bad);
    EXPECT_EQ(r.result(), http::status::unauthorized) << bad;
    EXPECT_EQ(Json(r).at("error").at("code"), "unauthenticated");
  }
  // A session made under another API token (the token was rotated) is not one.
  Sessions other{h_.clock, h_.pool, *h_.store, h_.ids, {.key = "old-token"}};
  auto old = RunSync(h_.io, other.Create());
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(Authenticate("sandboxd_session=" + *old));
  EXPECT_TRUE(Authenticate("sandboxd_session=" + id));
}

TEST_F(ApiTest, SessionExpiresAtItsTtl) {
  const std::string id = SignIn();
  const std::string list = "/api/sandboxes";
  EXPECT_EQ(CallRouter(router_, http::verb::get, list, id).result(), http::status::ok);
  h_.clock.Advance(std::chrono::hours(24 * 7) - std::chrono::seconds(1));
  EXPECT_EQ(CallRouter(router_, http::verb::get, list, id).result(), http::status::ok);
  h_.clock.Advance(std::chrono::seconds(1));
  auto r = CallRouter(router_, http::verb::get, list, id);
  EXPECT_EQ(r.result(), http::status::unauthorized);
  EXPECT_NE(Json(r).at("error").at("message").as_string().find("expired"), std::string::npos)
      << r.body();
  EXPECT_EQ(CallRouter(router_, http::verb::post, "/api/projects/p1/sandbox", id, "{}",
                       {{"Sec-Fetch-Site", "same-origin"}, {"Content-Type", "application/json"}})
                .result(),
            http::status::unauthorized);
  // The retention job's prune removes it from the store.
  EXPECT_EQ(*h_.store->PruneExpiredSessions(h_.clock.Now(), 10), 1);
}

TEST_F(ApiTest, SessionTtlComesFromTheOptions) {
  Sessions short_lived{h_.clock, h_.pool, *h_.store, h_.ids,
                       {.key = "secret", .ttl = std::chrono::seconds(60)}};
  Api api(h_.lifecycle, enforcer_, short_lived, h_.metrics, h_.ids, {.api_token = "secret"});
  http_server::Router router;
  api.Register(router);
  http_server::Request req{http::verb::post, "/api/session", 11};
  req.set(http::field::authorization, "Bearer secret");
  auto res = RunSync(h_.io, http_server::testing::CallRoute(router, req));
  EXPECT_NE(std::string(res[http::field::set_cookie]).find("; Max-Age=60"), std::string::npos);
  const std::string id = SignIn(router);
  h_.clock.Advance(std::chrono::seconds(59));
  EXPECT_EQ(CallRouter(router, http::verb::get, "/api/sandboxes", id).result(), http::status::ok);
  h_.clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(CallRouter(router, http::verb::get, "/api/sandboxes", id).result(),
            http::status::unauthorized);
}

TEST_F(ApiTest, SecureAttributeOnlyWithTheOption) {
  Api secure(h_.lifecycle, enforcer_, sessions_, h_.metrics, h_.ids,
             {.api_token = "secret", .secure_cookie = true});
  http_server::Router router;
  secure.Register(router);
  for (http::verb verb : {http::verb::post, http::verb::delete_}) {
    http_server::Request req{verb, "/api/session", 11};
    req.set(http::field::authorization, "Bearer secret");
    const std::string with(
        RunSync(h_.io, http_server::testing::CallRoute(router, req))[http::field::set_cookie]);
    EXPECT_TRUE(with.ends_with("; Secure")) << with;
    const std::string without(
        RunSync(h_.io, http_server::testing::CallRoute(router_, req))[http::field::set_cookie]);
    EXPECT_EQ(without.find("Secure"), std::string::npos) << without;
  }
}

TEST_F(ApiTest, SignOutRevokesTheSessionAtOnce) {
  const std::string id = SignIn();
  const std::string other = SignIn();
  EXPECT_EQ(CallRouter(router_, http::verb::get, "/api/sandboxes", id).result(), http::status::ok);
  auto out = CallRouter(router_, http::verb::delete_, "/api/session", id, "",
                        {{"Sec-Fetch-Site", "same-origin"}});
  ASSERT_EQ(out.result(), http::status::no_content) << out.body();
  EXPECT_NE(std::string(out[http::field::set_cookie]).find("Max-Age=0"), std::string::npos);
  EXPECT_FALSE(h_.store->GetSession(sessions_.HashOf(id)).ok()) << "deleted from the store";
  // The same cookie is refused at once, for reads (cached a moment ago) and writes.
  auto read = CallRouter(router_, http::verb::get, "/api/sandboxes", id);
  EXPECT_EQ(read.result(), http::status::unauthorized) << read.body();
  EXPECT_EQ(CallRouter(router_, http::verb::post, "/api/projects/p1/sandbox", id, "{}",
                       {{"Sec-Fetch-Site", "same-origin"}, {"Content-Type", "application/json"}})
                .result(),
            http::status::unauthorized);
  EXPECT_EQ(CallRouter(router_, http::verb::get, "/api/sandboxes", other).result(),
            http::status::ok)
      << "other sessions stay";
  // Another page cannot sign the operator out with the ambient cookie.
  EXPECT_EQ(CallRouter(router_, http::verb::delete_, "/api/session", other, "",
                       {{"Sec-Fetch-Site", "same-site"}})
                .result(),
            http::status::forbidden);
  EXPECT_EQ(CallRouter(router_, http::verb::get, "/api/sandboxes", other).result(),
            http::status::ok);
  // Signing out without a cookie just clears it.
  EXPECT_EQ(Call(http::verb::delete_, "/api/session", "", false).result(),
            http::status::no_content);
}

// Another replica (its own Api and cache, the same store): a sign-out there
// stops writes here at once and reads once the cached check is stale.
TEST_F(ApiTest, SignOutOnAnotherReplicaRevokesHereToo) {
  Sessions replica_sessions{h_.clock, h_.pool, *h_.store, h_.ids, {.key = "secret"}};
  Api replica(h_.lifecycle, enforcer_, replica_sessions, h_.metrics, h_.ids,
              {.api_token = "secret"});
  http_server::Router replica_router;
  replica.Register(replica_router);
  const std::string id = SignIn();
  ASSERT_EQ(CallRouter(router_, http::verb::get, "/api/sandboxes", id).result(), http::status::ok);
  ASSERT_EQ(CallRouter(replica_router, http::verb::get, "/api/sandboxes", id).result(),
            http::status::ok)
      << "a session works on every replica";
  ASSERT_EQ(CallRouter(replica_router, http::verb::delete_, "/api/session", id).result(),
            http::status::no_content);
  EXPECT_EQ(CallRouter(router_, http::verb::post, "/api/projects/p1/sandbox", id, "{}",
                       {{"Sec-Fetch-Site", "same-origin"}, {"Content-Type", "application/json"}})
                .result(),
            http::status::unauthorized)
      << "writes always check the store";
  // Reads trust this replica's cache for a moment (status reads stay off the
  // database), then ask the store again.
  EXPECT_EQ(CallRouter(router_, http::verb::get, "/api/sandboxes", id).result(),
            http::status::unauthorized)
      << "the failed write check dropped the cached entry";
  const std::string second = SignIn();
  ASSERT_EQ(CallRouter(router_, http::verb::get, "/api/sandboxes", second).result(),
            http::status::ok);
  ASSERT_TRUE(h_.store->DeleteSession(sessions_.HashOf(second)).ok());
  EXPECT_EQ(CallRouter(router_, http::verb::get, "/api/sandboxes", second).result(),
            http::status::ok)
      << "a cached check is trusted within revalidate_after";
  h_.clock.Advance(sessions_.options().revalidate_after);
  EXPECT_EQ(CallRouter(router_, http::verb::get, "/api/sandboxes", second).result(),
            http::status::unauthorized);
}

// A store that stops answering (an outage) for session lookups.
class SessionOutageStore final : public store::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<store::SessionRecord> GetSession(const std::string& id_hash) override {
    if (down) return Unavailable("the store is down");
    return ForwardingStore::GetSession(id_hash);
  }
  bool down = false;
};

// Status reads answer from memory through a store outage, with the cookie as
// with the token: the last check of an unexpired session stands for reads;
// writes still need the store; a session the store says is gone is gone.
TEST(SessionsTest, ReadsKeepACheckedSessionThroughAStoreOutage) {
  Harness h;
  SessionOutageStore store(*h.store);
  Sessions sessions{h.clock, h.pool, store, h.ids, {.key = "secret"}};
  auto id = RunSync(h.io, sessions.Create());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(RunSync(h.io, sessions.Check(*id)).ok());
  store.down = true;
  // Past the cache's trust: the read asks the store, which cannot answer.
  h.clock.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(RunSync(h.io, sessions.Check(*id)).ok());
  EXPECT_TRUE(RunSync(h.io, sessions.Check(*id)).ok());
  EXPECT_EQ(RunSync(h.io, sessions.Check(*id, /*fresh=*/true)).code(), StatusCode::kUnavailable);
  auto unknown = RunSync(h.io, sessions.Check(std::string(64, 'a')));
  EXPECT_FALSE(unknown.ok()) << "a session never checked here is not taken on trust";
  // Back up: revoked meanwhile (on another replica), the next read finds out.
  store.down = false;
  ASSERT_TRUE(h.store->DeleteSession(sessions.HashOf(*id)).ok());
  EXPECT_EQ(RunSync(h.io, sessions.Check(*id)).code(), StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace sbx::api
