// RuntimeApi's lifecycle events, webhook registrations and deliveries, and
// the preview-host proxy (with auto-resume), against the test harness.
#include "runtime_api/runtime_api_test_support.h"

namespace sbx::runtime_api {
namespace {

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

TEST(RuntimeApiWebhookPolicyTest, RegistrationChecksTargetsAndResolvesNames) {
  RuntimeOptions options = Harness::DefaultOptions();
  options.webhook_targets.allow_private = false;
  Harness h(options);
  auto reg = [&](const std::string& url) {
    return h.Call(V::post, "/events/webhooks",
                  R"({"name":"n","url":")" + url + R"(","events":[],"signatureSecret":"s"})");
  };
  auto message = [](const http_server::Response& r) {
    return std::string(Harness::Json(r).at("message").as_string());
  };
  // IP literals and localhost: refused without a lookup.
  for (const char* url : {"http://169.254.169.254/latest", "http://127.0.0.1:9/h",
                          "http://localhost:9/h", "http://[::ffff:10.0.0.1]/h", "http://[fe80::1]/h"}) {
    EXPECT_EQ(reg(url).result(), http::status::bad_request) << url;
  }
  EXPECT_NE(message(reg("http://169.254.169.254/")).find("link-local"), std::string::npos);
  EXPECT_TRUE(h.resolver.asked().empty());
  // Names go through the resolver: every address refused, or no address, is a 400.
  h.resolver.Set("metadata.example.test", {"169.254.169.254"});
  h.resolver.Set("lan.example.test", {"192.168.1.5", "10.0.0.1"});
  h.resolver.Set("hooks.example.test", {"10.0.0.2", "93.184.216.34"});
  auto md = reg("http://metadata.example.test/h");
  EXPECT_EQ(md.result(), http::status::bad_request);
  EXPECT_NE(message(md).find("link-local"), std::string::npos) << message(md);
  EXPECT_EQ(reg("http://lan.example.test/h").result(), http::status::bad_request);
  auto nowhere = reg("http://nowhere.example.test/h");
  EXPECT_EQ(nowhere.result(), http::status::bad_request);
  EXPECT_NE(message(nowhere).find("does not resolve"), std::string::npos) << message(nowhere);
  // DNS that does not answer in time is not the caller's mistake: 503, try again.
  h.resolver.Fail("slow.example.test", DeadlineExceeded("resolve slow.example.test: no answer"));
  auto slow = reg("http://slow.example.test/h");
  EXPECT_EQ(slow.result(), http::status::service_unavailable) << slow.body();
  EXPECT_NE(message(slow).find("did not resolve in time"), std::string::npos) << message(slow);
  EXPECT_EQ(Harness::Json(h.Call(V::get, "/events/webhooks")).as_array().size(), 0u);
  // One allowed address is enough (a delivery connects only to an allowed one).
  auto ok = reg("http://hooks.example.test:8080/h");
  ASSERT_EQ(ok.result(), http::status::created) << ok.body();
  const std::string id(Harness::Json(ok).at("id").as_string());
  // An update is held to the same rules; nothing changes on refusal.
  EXPECT_EQ(h.Call(V::patch, "/events/webhooks/" + id, R"({"url":"http://metadata.example.test/"})")
                .result(),
            http::status::bad_request);
  EXPECT_EQ(Harness::Json(h.Call(V::get, "/events/webhooks/" + id)).at("url"),
            "http://hooks.example.test:8080/h");
  EXPECT_TRUE(h.client.sent().empty());
}

TEST_F(RuntimeApiTest, DeletingAWebhookCancelsItsQueuedDeliveries) {
  const std::string id = Subscribe();
  h_.client.PushStatus(http::status::internal_server_error);  // the first event will retry
  Create();
  Create();
  ASSERT_EQ(Deliveries().size(), 1u);  // created #1 waits for its retry, created #2 behind it
  ASSERT_EQ(Call(V::delete_, "/events/webhooks/" + id).result(), http::status::ok);
  AdvanceAndRun(h_.io, h_.clock, 1min);
  EXPECT_EQ(Deliveries().size(), 1u);  // nothing more reaches the deleted webhook's URL
  EXPECT_EQ(h_.metrics.CounterValue(kDeliveriesMetric, {{"outcome", "cancelled"}}), 2);
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
  // Hop-by-hop headers, those the Connection header names, and an Expect
  // (the body is already read) are not passed on.
  EXPECT_EQ(Call(V::put, "/health", "x", false,
                 {{"Host", host},
                  {"Expect", "100-continue"},
                  {"Connection", "keep-alive, X-Hop"},
                  {"X-Hop", "1"},
                  {"X-Kept", "2"}})
                .result(),
            http::status::ok);
  ASSERT_EQ(h_.client.sent().size(), 2u);
  EXPECT_EQ(h_.client.sent()[1].request.count(http::field::expect), 0u);
  EXPECT_EQ(h_.client.sent()[1].request.count("X-Hop"), 0u);
  EXPECT_EQ(h_.client.sent()[1].request["X-Kept"], "2");
  EXPECT_EQ(h_.client.sent()[1].request.body(), "x");
  EXPECT_EQ(Call(V::get, "/any/where", "", false, {{"Host", host}}).result(), http::status::ok);
  EXPECT_EQ(h_.client.sent().size(), 3u);

  h_.client.PushError(Unavailable("connection refused"));
  EXPECT_EQ(Call(V::get, "/", "", false, {{"Host", host}}).result(), http::status::bad_gateway);
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::no_content);
  // E2B's proxy answers: paused without autoResume is 409, unknown 404.
  auto paused = Call(V::get, "/", "", false, {{"Host", host}});
  EXPECT_EQ(paused.result(), http::status::conflict);
  EXPECT_EQ(Str(Json(paused).at("sandboxId")), id);
  EXPECT_EQ(Json(paused).at("message"), "The sandbox is paused");
  EXPECT_EQ(Json(paused).at("canAutoResume"), false);
  auto unknown = Call(V::get, "/", "", false, {{"Host", "3000-nosuch.localhost"}});
  EXPECT_EQ(unknown.result(), http::status::not_found);
  EXPECT_EQ(Json(unknown).at("message"), "The sandbox was not found");
  EXPECT_EQ(h_.client.sent().size(), 4u);
  EXPECT_EQ(h_.provider.calls("resume"), 0);
  // The API host itself is not a preview host.
  EXPECT_EQ(Call(V::get, "/nothing").result(), http::status::not_found);
  EXPECT_EQ(Call(V::put, "/sandboxes").result(), http::status::method_not_allowed);
}

TEST_F(RuntimeApiTest, PreviewTrafficResumesAPausedAutoResumeSandboxOnce) {
  auto c = Call(V::post, "/v2/sandboxes",
                R"({"templateID":"hello","timeout":60,"autoPause":true,)"
                R"("autoResume":{"enabled":true}})");
  ASSERT_EQ(c.result(), http::status::created) << c.body();
  const std::string id(Json(c).at("sandboxID").as_string());
  auto info = Json(Call(V::get, "/sandboxes/" + id));
  EXPECT_EQ(info.at("lifecycle").at("autoResume"), true);
  EXPECT_EQ(info.at("lifecycle").at("onTimeout"), "pause");
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::no_content);

  const std::string host = "3000-" + id + ".localhost:3000";
  h_.client.PushStatus(http::status::ok, "woken page");
  auto r = Call(V::get, "/state", "", false, {{"Host", host}});
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r.body(), "woken page");
  EXPECT_EQ(h_.provider.calls("resume"), 1);
  auto after = Json(Call(V::get, "/sandboxes/" + id));
  EXPECT_EQ(after.at("state"), "running");
  // A resume for traffic lives at least auto_resume_min_timeout (300 s).
  EXPECT_EQ(*ParseRfc3339(after.at("endAt").as_string()) -
                *ParseRfc3339(after.at("startedAt").as_string()),
            300s);
  // Webhook receivers hear of it as a resume.
  EXPECT_EQ(h_.metrics.CounterValue("sandboxd_runtime_events_total",
                                    {{"type", "sandbox.lifecycle.resumed"}}),
            1);

  // Concurrent requests to a paused sandbox make one resume, and every one
  // of them is forwarded.
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::no_content);
  h_.client.Clear();
  std::vector<std::optional<http_server::Response>> answers(5);
  std::vector<http_server::Request> requests;
  std::vector<http_server::RequestContext> contexts;
  requests.reserve(5);
  contexts.reserve(5);
  for (int i = 0; i < 5; ++i) {
    http_server::Request req{V::get, "/state", 11};
    req.set(http::field::host, host);
    requests.push_back(std::move(req));
  }
  for (int i = 0; i < 5; ++i) {
    contexts.push_back(http_server::RequestContext{requests[i], {}, {}, {}, {}});
    contexts.back().path = "/state";
    // The router keeps the handler (its captures) alive, as in the server.
    const http_server::Handler& handler = h_.router.fallback();
    net::co_spawn(h_.io, handler(contexts.back()),
                  [&answers, i](std::exception_ptr, http_server::Response res) {
                    answers[i] = std::move(res);
                  });
  }
  h_.Drain();
  EXPECT_EQ(h_.provider.calls("resume"), 2);  // one more, for all five
  for (const auto& a : answers) {
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->result(), http::status::ok);
  }
  EXPECT_EQ(h_.client.sent().size(), 5u);
}

TEST_F(RuntimeApiTest, AFailedAutoResumeIs503WithRetryAfter) {
  const std::string id = Create(R"({"templateID":"hello","autoPause":true,)"
                                R"("autoResume":{"enabled":true}})");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::no_content);
  h_.provider.FailNext("resume", Unavailable("runc resume: exit 1"));
  auto r = Call(V::get, "/", "", false, {{"Host", "3000-" + id + ".localhost"}});
  EXPECT_EQ(r.result(), http::status::service_unavailable);
  EXPECT_EQ(r[http::field::retry_after], "1");
  EXPECT_EQ(Json(Call(V::get, "/sandboxes/" + id)).at("state"), "paused");
  EXPECT_TRUE(h_.client.sent().empty());
}

}  // namespace
}  // namespace sbx::runtime_api
