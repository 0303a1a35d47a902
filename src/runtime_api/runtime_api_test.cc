#include "runtime_api/runtime_api.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "e2b/signature.h"
#include "e2b/webhook_event.h"
#include "runtime_api/testing/harness.h"
#include "runtime_api/wire.h"

namespace sbx::runtime_api {

using namespace std::chrono_literals;
namespace {

using testing::Harness;
using V = http::verb;
namespace json = boost::json;

std::string Str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : ""; }

class RuntimeApiTest : public ::testing::Test {
 protected:
  http_server::Response Call(V method, const std::string& target, std::string body = "",
                             bool auth = true,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    return h_.Call(method, target, std::move(body), auth, std::move(headers));
  }
  static json::value Json(const http_server::Response& r) { return Harness::Json(r); }
  std::string Create(const std::string& body = R"({"templateID":"hello"})") {
    return h_.Create(body);
  }
  // Registers a webhook for every event type; returns its id.
  std::string Subscribe(const std::string& events = "[]") {
    auto r = Call(V::post, "/events/webhooks",
                  R"({"name":"sink","url":"http://127.0.0.1:9999/hook","events":)" + events +
                      R"(,"signatureSecret":"shh"})");
    EXPECT_EQ(r.result(), http::status::created) << r.body();
    return std::string(Json(r).at("id").as_string());
  }
  // Bodies of the webhook deliveries so far, parsed.
  std::vector<json::object> Deliveries() {
    std::vector<json::object> out;
    for (const auto& s : h_.client.sent()) {
      if (s.port == 9999) out.push_back(json::parse(s.request.body()).as_object());
    }
    return out;
  }
  std::string MessageOf(const http_server::Response& r) {
    return std::string(Json(r).at("message").as_string());
  }

  Harness h_;
};

TEST_F(RuntimeApiTest, RequiresTheApiKey) {
  for (auto [verb, target] :
       std::vector<std::pair<V, std::string>>{{V::post, "/sandboxes"},
                                              {V::get, "/sandboxes"},
                                              {V::get, "/v2/sandboxes"},
                                              {V::get, "/sandboxes/abc"},
                                              {V::delete_, "/sandboxes/abc"},
                                              {V::post, "/sandboxes/abc/pause"},
                                              {V::post, "/sandboxes/abc/connect"},
                                              {V::post, "/events/webhooks"},
                                              {V::get, "/events/webhooks"},
                                              {V::post, "/admin/webhook-delivery"}}) {
    auto r = Call(verb, target, "", /*auth=*/false);
    EXPECT_EQ(r.result(), http::status::unauthorized) << target;
    EXPECT_EQ(Json(r).at("code"), 401) << target;
  }
  auto wrong = Call(V::get, "/v2/sandboxes", "", false, {{"X-API-Key", "e2b_wrong"}});
  EXPECT_EQ(wrong.result(), http::status::unauthorized);
  EXPECT_EQ(MessageOf(wrong), "Invalid API key");
  // Header names are case-insensitive; the SDKs send X-API-KEY.
  EXPECT_EQ(Call(V::get, "/v2/sandboxes", "", false, {{"x-api-key", testing::kApiKey}}).result(),
            http::status::ok);
  EXPECT_EQ(Call(V::get, "/health", "", false).result(), http::status::ok);
  EXPECT_EQ(Call(V::get, "/metrics", "", false).result(), http::status::ok);
  EXPECT_EQ(h_.provider.calls("create"), 0);
}

TEST_F(RuntimeApiTest, CreateAnswersTheSandboxObject) {
  auto r =
      Call(V::post, "/sandboxes",
           R"({"templateID":"hello","timeout":60,"metadata":{"projectId":"p1"},"secure":true})");
  ASSERT_EQ(r.result(), http::status::created) << r.body();
  auto j = Json(r).as_object();
  EXPECT_EQ(j.at("templateID"), "hello");
  EXPECT_EQ(j.at("clientID"), e2b::kLegacyClientId);
  EXPECT_EQ(j.at("envdVersion"), "0.2.0");
  EXPECT_EQ(j.at("domain"), "localhost");
  const std::string id(j.at("sandboxID").as_string());
  EXPECT_TRUE(NormalizeSandboxId(id).ok());

  auto g = Json(Call(V::get, "/sandboxes/" + id)).as_object();
  EXPECT_EQ(g.at("metadata").at("projectId"), "p1");
  EXPECT_EQ(g.at("metadata").as_object().size(), 1u);  // no reserved keys
  EXPECT_EQ(g.at("state"), "running");
  const auto started = *ParseRfc3339(g.at("startedAt").as_string());
  const auto end = *ParseRfc3339(g.at("endAt").as_string());
  EXPECT_EQ(end - started, 60s);
  EXPECT_EQ(g.at("lifecycle").at("onTimeout"), "kill");
  EXPECT_EQ(g.at("lifecycle").at("autoResume"), false);
  EXPECT_EQ(h_.provider.log().back(), "create p1");
}

TEST_F(RuntimeApiTest, CreateDefaultsToFifteenSeconds) {
  const std::string id = Create();
  auto g = Json(Call(V::get, "/sandboxes/" + id)).as_object();
  EXPECT_EQ(*ParseRfc3339(g.at("endAt").as_string()) - *ParseRfc3339(g.at("startedAt").as_string()),
            15s);
}

TEST_F(RuntimeApiTest, CreateRejectsBadInput) {
  struct Case {
    std::string body;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"templateID":"hello","timeout":0})", "Timeout must be greater than 0"},
           {R"({"templateID":"hello","timeout":-5})", "Timeout must be greater than 0"},
           {R"({"templateID":"hello","timeout":86401})", "Timeout cannot be greater than 24 hours"},
           {R"({"timeout":10})", "Field 'templateID' is required"},
           {R"({"templateID":"hello","autoPauseMemory":false})",
            "autoPauseMemory can only be false when autoPause is true"},
       }) {
    auto r = Call(V::post, "/sandboxes", c.body);
    EXPECT_EQ(r.result(), http::status::bad_request) << c.body;
    EXPECT_EQ(MessageOf(r), c.message) << c.body;
    EXPECT_EQ(Json(r).at("code"), 400);
  }
  EXPECT_EQ(Call(V::post, "/sandboxes", "{\"templateID\":").result(), http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/sandboxes", "").result(), http::status::bad_request);
  EXPECT_EQ(h_.provider.calls("create"), 0);
}

TEST(RuntimeApiTemplatesTest, UnknownTemplateIs404AndAliasesResolve) {
  auto options = Harness::DefaultOptions();
  options.sandboxes.templates_dir = SBX_TEMPLATES_DIR;
  Harness h(options);
  auto r = h.Call(V::post, "/sandboxes", R"({"templateID":"nope"})");
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(Harness::Json(r).at("message"), "template 'nope' not found");
  EXPECT_EQ(h.Call(V::post, "/sandboxes", R"({"templateID":"../etc"})").result(),
            http::status::not_found);
  EXPECT_EQ(h.provider.calls("create"), 0);
  // The SDKs' default template "base" is the local "hello"; tags are ignored.
  for (const char* tmpl : {"base", "hello:latest"}) {
    auto ok = h.Call(V::post, "/sandboxes", fmt::format(R"({{"templateID":"{}"}})", tmpl));
    ASSERT_EQ(ok.result(), http::status::created) << ok.body();
    auto j = Harness::Json(ok);
    EXPECT_EQ(j.at("templateID"), "hello");
    EXPECT_EQ(Str(j.at("alias")), tmpl);
    auto g =
        Harness::Json(h.Call(V::get, "/sandboxes/" + std::string(j.at("sandboxID").as_string())));
    EXPECT_EQ(g.at("memoryMB"), 64);  // from templates/hello.json
  }
}

TEST_F(RuntimeApiTest, ProviderFailuresMapToServerErrors) {
  h_.provider.FailNext("create", Unavailable("no free port"));
  auto r = Call(V::post, "/sandboxes", R"({"templateID":"hello"})");
  EXPECT_EQ(r.result(), http::status::service_unavailable);
  EXPECT_EQ(Json(r).at("code"), 503);
  h_.provider.FailNext("create", FailedPrecondition("program missing"));
  EXPECT_EQ(Call(V::post, "/sandboxes", R"({"templateID":"hello"})").result(),
            http::status::internal_server_error);
  h_.provider.FailNext("create", InvalidArgument("unknown template \"x\""));
  EXPECT_EQ(Call(V::post, "/sandboxes", R"({"templateID":"x"})").result(), http::status::not_found);
}

TEST_F(RuntimeApiTest, GetValidatesIdsAndAnswers404) {
  const std::string id = Create();
  EXPECT_EQ(Call(V::get, "/sandboxes/" + id + "-6532622b").result(), http::status::ok);
  auto bad = Call(V::get, "/sandboxes/NOT_AN_ID");
  EXPECT_EQ(bad.result(), http::status::bad_request);
  EXPECT_EQ(MessageOf(bad), "Invalid sandbox ID");
  auto missing = Call(V::get, "/sandboxes/nosuch");
  EXPECT_EQ(missing.result(), http::status::not_found);
  EXPECT_EQ(MessageOf(missing), "Sandbox \"nosuch\" doesn't exist or you don't have access to it");
  for (const char* path : {"/pause", "/resume", "/timeout", "/refreshes", "/connect"}) {
    EXPECT_EQ(Call(V::post, "/sandboxes/A-B" + std::string(path), R"({"timeout":1})").result(),
              http::status::bad_request)
        << path;
    EXPECT_EQ(Call(V::post, "/sandboxes/nosuch" + std::string(path), R"({"timeout":1})").result(),
              http::status::not_found)
        << path;
  }
  EXPECT_EQ(Call(V::delete_, "/sandboxes/nosuch").result(), http::status::not_found);
}

TEST_F(RuntimeApiTest, ListV2FiltersPagesAndCountsRunning) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Create(fmt::format(
        R"({{"templateID":"hello","timeout":3600,"metadata":{{"n":"{}","team":"{}"}}}})", i,
        i % 2 ? "odd" : "even")));
    AdvanceAndRun(h_.io, h_.clock, 1s);
  }
  ASSERT_EQ(Call(V::post, "/sandboxes/" + ids[0] + "/pause").result(), http::status::no_content);

  auto all = Call(V::get, "/v2/sandboxes");
  ASSERT_EQ(all.result(), http::status::ok);
  auto arr = Json(all).as_array();
  ASSERT_EQ(arr.size(), 5u);
  EXPECT_EQ(Str(arr[0].at("sandboxID")), ids[4]);  // newest first
  EXPECT_EQ(Str(arr[4].at("sandboxID")), ids[0]);
  EXPECT_EQ(arr[4].at("state"), "paused");
  EXPECT_EQ(all["X-Total-Running"], "4");
  EXPECT_TRUE(all["X-Next-Token"].empty());
  for (const auto& s : arr) {
    for (const char* key : {"templateID", "sandboxID", "clientID", "startedAt", "endAt", "cpuCount",
                            "memoryMB", "diskSizeMB", "metadata", "state", "envdVersion"}) {
      EXPECT_TRUE(s.as_object().contains(key)) << key;
    }
  }

  // Pages of 2 follow X-Next-Token to the end.
  std::vector<std::string> seen;
  std::string token;
  for (int page = 0; page < 5; ++page) {
    auto r = Call(V::get, "/v2/sandboxes?limit=2" + (token.empty() ? "" : "&nextToken=" + token));
    ASSERT_EQ(r.result(), http::status::ok) << r.body();
    const auto body = Json(r);
    for (const auto& s : body.as_array()) seen.emplace_back(s.at("sandboxID").as_string());
    token = std::string(r["X-Next-Token"]);
    if (token.empty()) break;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));

  auto paused = Json(Call(V::get, "/v2/sandboxes?state=paused")).as_array();
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(Str(paused[0].at("sandboxID")), ids[0]);
  EXPECT_TRUE(Call(V::get, "/v2/sandboxes?state=paused")["X-Total-Running"].empty());
  auto odd = Json(Call(V::get, "/v2/sandboxes?metadata=team%3Dodd")).as_array();
  ASSERT_EQ(odd.size(), 2u);
  EXPECT_EQ(Str(odd[0].at("sandboxID")), ids[3]);
  auto one = Json(Call(V::get, "/v2/sandboxes?metadata=team%3Deven%26n%3D2")).as_array();
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(Str(one[0].at("sandboxID")), ids[2]);
  auto asc = Json(Call(V::get, "/v2/sandboxes?order=asc&state=running,paused")).as_array();
  EXPECT_EQ(Str(asc[0].at("sandboxID")), ids[0]);

  for (const char* bad : {"limit=0", "limit=101", "limit=x", "state=dead", "order=up",
                          "nextToken=garbage!", "metadata=novalue", "startedAfter=yesterday"}) {
    auto r = Call(V::get, std::string("/v2/sandboxes?") + bad);
    EXPECT_EQ(r.result(), http::status::bad_request) << bad;
    EXPECT_EQ(Json(r).at("code"), 400) << bad;
  }
  // A token made for descending order is refused in ascending order.
  auto first = Call(V::get, "/v2/sandboxes?limit=1");
  EXPECT_EQ(Call(V::get, "/v2/sandboxes?order=asc&nextToken=" + std::string(first["X-Next-Token"]))
                .result(),
            http::status::bad_request);
}

TEST_F(RuntimeApiTest, DeprecatedListShowsRunningOnly) {
  const std::string a = Create(R"({"templateID":"hello","metadata":{"k":"v"}})");
  const std::string b = Create();
  ASSERT_EQ(Call(V::post, "/sandboxes/" + b + "/pause").result(), http::status::no_content);
  auto arr = Json(Call(V::get, "/sandboxes")).as_array();
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(Str(arr[0].at("sandboxID")), a);
  EXPECT_EQ(Json(Call(V::get, "/sandboxes?metadata=k%3Dother")).as_array().size(), 0u);
}

TEST_F(RuntimeApiTest, PauseResumeAndConflicts) {
  const std::string id = Create();
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/resume").result(), http::status::conflict);
  auto p = Call(V::post, "/sandboxes/" + id + "/pause", R"({"memory":true})");
  EXPECT_EQ(p.result(), http::status::no_content);
  EXPECT_TRUE(p.body().empty());
  auto again = Call(V::post, "/sandboxes/" + id + "/pause");
  EXPECT_EQ(again.result(), http::status::conflict);
  EXPECT_EQ(MessageOf(again), "Error pausing sandbox - sandbox '" + id + "' is already paused");
  EXPECT_EQ(Json(Call(V::get, "/sandboxes/" + id)).at("state"), "paused");
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/timeout", R"({"timeout":30})").result(),
            http::status::conflict);
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/refreshes").result(), http::status::conflict);
  auto r = Call(V::post, "/sandboxes/" + id + "/resume", R"({"timeout":120,"autoPause":true})");
  ASSERT_EQ(r.result(), http::status::created) << r.body();
  EXPECT_EQ(Str(Json(r).at("sandboxID")), id);
  auto g = Json(Call(V::get, "/sandboxes/" + id));
  EXPECT_EQ(g.at("state"), "running");
  EXPECT_EQ(g.at("lifecycle").at("onTimeout"), "pause");
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/pause", "{bad").result(),
            http::status::bad_request);
}

TEST_F(RuntimeApiTest, ConnectExtendsOrResumes) {
  const std::string id = Create(R"({"templateID":"hello","timeout":100})");
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/connect").result(), http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/connect", "{}").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/connect", R"({"timeout":-1})").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/connect", R"({"timeout":90000})").result(),
            http::status::bad_request);
  auto end_of = [&] {
    return *ParseRfc3339(Json(Call(V::get, "/sandboxes/" + id)).at("endAt").as_string());
  };
  const SystemTime end0 = end_of();
  // Shorter than what is left: unchanged, 200.
  auto c1 = Call(V::post, "/sandboxes/" + id + "/connect", R"({"timeout":10})");
  EXPECT_EQ(c1.result(), http::status::ok);
  EXPECT_EQ(Str(Json(c1).at("sandboxID")), id);
  EXPECT_EQ(end_of(), end0);
  // Longer: extended.
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/connect", R"({"timeout":300})").result(),
            http::status::ok);
  EXPECT_EQ(end_of(), end0 + 200s);
  // Paused: resumed, 201, TTL from now.
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::no_content);
  auto c2 = Call(V::post, "/sandboxes/" + id + "/connect", R"({"timeout":30})");
  EXPECT_EQ(c2.result(), http::status::created) << c2.body();
  EXPECT_EQ(Json(Call(V::get, "/sandboxes/" + id)).at("state"), "running");
  EXPECT_EQ(end_of(), TruncateToMillis(h_.clock.Now()) + 30s);
}

TEST_F(RuntimeApiTest, SetTimeoutOverwritesAndRefreshOnlyExtends) {
  const std::string id = Create(R"({"templateID":"hello","timeout":100})");
  auto end_of = [&] {
    return *ParseRfc3339(Json(Call(V::get, "/sandboxes/" + id)).at("endAt").as_string());
  };
  const SystemTime now = TruncateToMillis(h_.clock.Now());
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/timeout").result(), http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/timeout", R"({"timeout":"x"})").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/timeout", R"({"timeout":20})").result(),
            http::status::no_content);
  EXPECT_EQ(end_of(), now + 20s);  // shortened
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/refreshes").result(), http::status::no_content);
  EXPECT_EQ(end_of(), now + 20s);  // 15 s default would shorten: unchanged
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/refreshes", R"({"duration":60})").result(),
            http::status::no_content);
  EXPECT_EQ(end_of(), now + 60s);
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/refreshes", R"({"duration":4000})").result(),
            http::status::bad_request);
  // Capped at startedAt + 24 h.
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/timeout", R"({"timeout":999999})").result(),
            http::status::no_content);
  EXPECT_EQ(end_of(), now + 24h);
}

TEST_F(RuntimeApiTest, DeleteKillsRunningAndPaused) {
  const std::string a = Create();
  const std::string b = Create();
  ASSERT_EQ(Call(V::post, "/sandboxes/" + b + "/pause").result(), http::status::no_content);
  for (const std::string& id : {a, b}) {
    auto r = Call(V::delete_, "/sandboxes/" + id);
    EXPECT_EQ(r.result(), http::status::no_content);
    EXPECT_EQ(Call(V::get, "/sandboxes/" + id).result(), http::status::not_found);
    EXPECT_EQ(Call(V::delete_, "/sandboxes/" + id).result(), http::status::not_found);
  }
  EXPECT_EQ(h_.provider.size(), 0u);
  h_.provider.FailNext("kill", Unavailable("runc down"));
  const std::string c = Create();
  EXPECT_EQ(Call(V::delete_, "/sandboxes/" + c).result(), http::status::service_unavailable);
  EXPECT_EQ(Call(V::get, "/sandboxes/" + c).result(), http::status::ok);
}

TEST_F(RuntimeApiTest, EveryLifecycleChangeIsDeliveredAsAV2Event) {
  Subscribe();
  const std::string id =
      Create(R"({"templateID":"hello","timeout":50,"metadata":{"projectId":"p9"}})");
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/timeout", R"({"timeout":40})").result(),
            http::status::no_content);
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::no_content);
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/connect", R"({"timeout":60})").result(),
            http::status::created);
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/connect", R"({"timeout":600})").result(),
            http::status::ok);
  ASSERT_EQ(Call(V::delete_, "/sandboxes/" + id).result(), http::status::no_content);
  h_.Drain();

  auto events = Deliveries();
  std::vector<std::string> types;
  for (const auto& e : events) types.emplace_back(e.at("type").as_string());
  EXPECT_EQ(types,
            (std::vector<std::string>{"sandbox.lifecycle.created", "sandbox.lifecycle.updated",
                                      "sandbox.lifecycle.paused", "sandbox.lifecycle.resumed",
                                      "sandbox.lifecycle.updated", "sandbox.lifecycle.killed"}));
  std::set<std::string> event_ids;
  for (const auto& e : events) {
    EXPECT_EQ(e.at("version"), "v2");
    EXPECT_EQ(Str(e.at("sandbox_id")), id);
    EXPECT_EQ(e.at("sandbox_template_id"), "hello");
    EXPECT_TRUE(e.contains("sandbox_execution_id"));
    EXPECT_TRUE(e.contains("sandbox_team_id"));
    EXPECT_EQ(e.at("event_data").at("sandbox_metadata").at("projectId"), "p9");
    event_ids.emplace(e.at("id").as_string());
    // sandboxd's receiver parses it.
    auto parsed = e2b::ParseWebhookEvent(json::serialize(e));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->project_id, "p9");
  }
  EXPECT_EQ(event_ids.size(), events.size());
  const SystemTime now = TruncateToMillis(h_.clock.Now());
  EXPECT_EQ(Str(events[1].at("event_data").at("set_timeout")), FormatRfc3339(now + 40s));
  EXPECT_EQ(Str(events[4].at("event_data").at("set_timeout")), FormatRfc3339(now + 600s));
  EXPECT_EQ(events[5].at("event_data").at("kill_reason"), "request");
  EXPECT_NE(events[3].at("sandbox_execution_id"), events[2].at("sandbox_execution_id"));
  // Signed with the registration's secret.
  for (const auto& s : h_.client.sent()) {
    EXPECT_TRUE(e2b::VerifySignature(s.request.body(), s.request["e2b-signature"], {"shh"}));
  }
}

TEST_F(RuntimeApiTest, TimeoutKillsOrPausesWithEvents) {
  Subscribe(R"(["sandbox.lifecycle.killed","sandbox.lifecycle.paused"])");
  const std::string killed = Create(R"({"templateID":"hello","timeout":2})");
  const std::string paused = Create(R"({"templateID":"hello","timeout":3,"autoPause":true})");
  AdvanceAndRun(h_.io, h_.clock, 2s);
  EXPECT_EQ(Call(V::get, "/sandboxes/" + killed).result(), http::status::not_found);
  AdvanceAndRun(h_.io, h_.clock, 1s);
  EXPECT_EQ(Json(Call(V::get, "/sandboxes/" + paused)).at("state"), "paused");
  auto events = Deliveries();  // created events are not subscribed
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].at("type"), "sandbox.lifecycle.killed");
  EXPECT_EQ(Str(events[0].at("sandbox_id")), killed);
  EXPECT_EQ(events[0].at("event_data").at("kill_reason"), "timeout");
  EXPECT_EQ(events[1].at("type"), "sandbox.lifecycle.paused");
  EXPECT_EQ(Str(events[1].at("sandbox_id")), paused);
}

TEST_F(RuntimeApiTest, WebhookRegistrationCrud) {
  auto c = Call(V::post, "/events/webhooks",
                R"({"name":"n","url":"http://127.0.0.1:1/h","events":["sandbox.lifecycle.paused"],
                    "signatureSecret":"secret-value"})");
  ASSERT_EQ(c.result(), http::status::created) << c.body();
  auto w = Json(c).as_object();
  for (const char* key : {"id", "name", "createdAt", "teamId", "url", "enabled", "events"}) {
    EXPECT_TRUE(w.contains(key)) << key;
  }
  EXPECT_FALSE(c.body().find("secret-value") != std::string::npos);
  EXPECT_EQ(w.at("enabled"), true);
  const std::string id(w.at("id").as_string());
  EXPECT_TRUE(IsUuid(id));

  auto list = Call(V::get, "/events/webhooks");
  EXPECT_EQ(list.result(), http::status::ok);
  EXPECT_EQ(Json(list).as_array().size(), 1u);
  EXPECT_EQ(list.body().find("secret-value"), std::string::npos);
  EXPECT_EQ(Json(Call(V::get, "/events/webhooks/" + id)).at("name"), "n");
  auto p = Call(V::patch, "/events/webhooks/" + id, R"({"enabled":false,"events":[]})");
  EXPECT_EQ(p.result(), http::status::ok);
  EXPECT_EQ(Json(p).at("enabled"), false);
  EXPECT_EQ(Json(p).at("events").as_array().size(), 0u);
  EXPECT_EQ(Call(V::patch, "/events/webhooks/" + id, R"({"url":"gopher://x"})").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(V::delete_, "/events/webhooks/" + id).result(), http::status::ok);
  EXPECT_EQ(Call(V::get, "/events/webhooks/" + id).result(), http::status::not_found);
  EXPECT_EQ(Call(V::delete_, "/events/webhooks/" + id).result(), http::status::not_found);
  EXPECT_EQ(Call(V::get, "/events/webhooks/not-a-uuid").result(), http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/events/webhooks", R"({"name":"n"})").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/events/webhooks", "[").result(), http::status::bad_request);
}

TEST_F(RuntimeApiTest, DisabledWebhooksAndDeliveryGetNothing) {
  const std::string id = Subscribe();
  ASSERT_EQ(Call(V::patch, "/events/webhooks/" + id, R"({"enabled":false})").result(),
            http::status::ok);
  Create();
  EXPECT_TRUE(Deliveries().empty());
  ASSERT_EQ(Call(V::patch, "/events/webhooks/" + id, R"({"enabled":true})").result(),
            http::status::ok);
  auto off = Call(V::post, "/admin/webhook-delivery", R"({"enabled":false})");
  EXPECT_EQ(off.result(), http::status::ok);
  EXPECT_EQ(Json(off).at("enabled"), false);
  Create();
  EXPECT_TRUE(Deliveries().empty());
  EXPECT_EQ(Json(Call(V::get, "/admin/webhook-delivery")).at("enabled"), false);
  EXPECT_EQ(Call(V::post, "/admin/webhook-delivery", "{}").result(), http::status::bad_request);
  ASSERT_EQ(Call(V::post, "/admin/webhook-delivery", R"({"enabled":true})").result(),
            http::status::ok);
  Create();
  EXPECT_EQ(Deliveries().size(), 1u);
}

TEST_F(RuntimeApiTest, PreviewHostsAreProxiedToTheSandbox) {
  const std::string id = Create();
  const std::string host = "3000-" + id + ".localhost:3000";
  h_.client.PushStatus(http::status::ok, "hello page");
  // Even on an API path, and without an API key, a preview host reaches the sandbox.
  auto r = Call(V::get, "/sandboxes?x=1", "", false, {{"Host", host}});
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r.body(), "hello page");
  ASSERT_EQ(h_.client.sent().size(), 1u);
  const auto& sent = h_.client.sent()[0];
  EXPECT_EQ(sent.host, "127.0.0.1");
  EXPECT_EQ(sent.port, 9);  // FakeProvider's url http://127.0.0.1:9/…
  EXPECT_EQ(sent.request.target(), "/sandboxes?x=1");
  EXPECT_EQ(sent.request["X-Forwarded-Host"], host);
  EXPECT_FALSE(sent.request.keep_alive());
  // Other methods and unknown paths too.
  EXPECT_EQ(Call(V::put, "/health", "x", false, {{"Host", host}}).result(), http::status::ok);
  EXPECT_EQ(Call(V::get, "/any/where", "", false, {{"Host", host}}).result(), http::status::ok);
  EXPECT_EQ(h_.client.sent().size(), 3u);

  h_.client.PushError(Unavailable("connection refused"));
  EXPECT_EQ(Call(V::get, "/", "", false, {{"Host", host}}).result(), http::status::bad_gateway);
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::no_content);
  auto paused = Call(V::get, "/", "", false, {{"Host", host}});
  EXPECT_EQ(paused.result(), http::status::bad_gateway);
  EXPECT_EQ(Str(Json(paused).at("sandboxId")), id);
  auto unknown = Call(V::get, "/", "", false, {{"Host", "3000-nosuch.localhost"}});
  EXPECT_EQ(unknown.result(), http::status::bad_gateway);
  EXPECT_EQ(h_.client.sent().size(), 4u);
  // The API host itself is not a preview host.
  EXPECT_EQ(Call(V::get, "/nothing").result(), http::status::not_found);
  EXPECT_EQ(Call(V::put, "/sandboxes").result(), http::status::method_not_allowed);
}

TEST_F(RuntimeApiTest, MetricsCountRequestsByRouteTemplate) {
  const std::string id = Create();
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::no_content);
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::conflict);
  EXPECT_EQ(h_.metrics.CounterValue(kRequestsMetric,
                                    {{"route", "/sandboxes/{sandboxID}/pause"}, {"code", "204"}}),
            1);
  EXPECT_EQ(h_.metrics.CounterValue(kRequestsMetric,
                                    {{"route", "/sandboxes/{sandboxID}/pause"}, {"code", "409"}}),
            1);
  auto text = Call(V::get, "/metrics", "", false).body();
  EXPECT_NE(text.find("sandboxd_runtime_requests_total{code=\"204\",route=\"/sandboxes/"
                      "{sandboxID}/pause\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sandboxd_runtime_requests_total{code=\"201\",route=\"/sandboxes\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace sbx::runtime_api
