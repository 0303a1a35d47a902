// RuntimeApi's REST routes against the test harness: the API key, sandbox
// create/get/list/pause/resume/connect/timeout/delete, the v2 SDK bodies,
// input limits and metrics (events, webhooks, previews: runtime_api_events_test.cc).
#include "runtime_api/runtime_api_test_support.h"

#include "http/server.h"

namespace sbx::runtime_api {
namespace {

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
           {R"({"templateID":"hello","autoPause":true,"autoPauseMemory":false})",
            "autoPauseMemory false is not supported by the local runtime: pauses freeze the "
            "processes and always keep their memory"},
           {R"({"templateID":"hello","autoResume":{"enabled":true}})",
            "autoResume can only be enabled together with autoPause"},
           {R"({"templateID":"hello","envVars":{"A":"1"}})",
            "envVars is not supported by the local runtime: a template's program gets the "
            "environment its template names"},
           {R"({"templateID":"hello","volumeMounts":[{"name":"v","path":"/data"}]})",
            "volumeMounts is not supported by the local runtime: there are no volumes"},
           {R"({"templateID":"hello","mcp":{"x":{}}})",
            "mcp is not supported by the local runtime: there is no MCP gateway"},
           {R"({"templateID":"hello","network":{"allowOut":["8.8.8.8"]}})",
            "network.allowOut is not supported by the local runtime: egress is all (internet) or "
            "nothing"},
           {R"({"templateID":"hello x"})",
            "templateID may only contain letters, digits, '-', '_', '.', '/' and ':'"},
           {R"({"templateID":"hello","metadata":{"":"x"}})", "metadata keys must be 1 to 64 bytes"},
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

TEST_F(RuntimeApiTest, V2CreateAndConnectServeTheCurrentSdk) {
  // v2 create: the body of e2b 2.51.0, with the v2 default timeout of 300 s.
  auto c = Call(V::post, "/v2/sandboxes",
                R"({"templateID":"hello","metadata":{"projectId":"p1","user id":"ü"},)"
                R"("allow_internet_access":false,"network":{"allowPublicTraffic":true}})");
  ASSERT_EQ(c.result(), http::status::created) << c.body();
  const std::string id(Json(c).at("sandboxID").as_string());
  auto g = Json(Call(V::get, "/sandboxes/" + id));
  EXPECT_EQ(*ParseRfc3339(g.at("endAt").as_string()) - *ParseRfc3339(g.at("startedAt").as_string()),
            300s);
  EXPECT_EQ(g.at("allowInternetAccess"), false);
  EXPECT_EQ(g.at("metadata").at("user id"), "ü");  // E2B keys are free text
  // denyOut 0.0.0.0/0 is E2B's spelling of "no internet".
  auto d = Call(V::post, "/v2/sandboxes",
                R"({"templateID":"hello","network":{"denyOut":["0.0.0.0/0"]}})");
  ASSERT_EQ(d.result(), http::status::created) << d.body();
  EXPECT_EQ(Json(Call(V::get, "/sandboxes/" + std::string(Json(d).at("sandboxID").as_string())))
                .at("allowInternetAccess"),
            false);
  // Not said: null, as E2B answers.
  EXPECT_TRUE(Json(Call(V::get, "/sandboxes/" + Create())).at("allowInternetAccess").is_null());

  // v2 connect: the body is optional; a running sandbox answers 200.
  auto running = Call(V::post, "/v2/sandboxes/" + id + "/connect");
  EXPECT_EQ(running.result(), http::status::ok) << running.body();
  ASSERT_EQ(Call(V::post, "/sandboxes/" + id + "/pause").result(), http::status::no_content);
  auto resumed = Call(V::post, "/v2/sandboxes/" + id + "/connect", R"({"timeout":60})");
  EXPECT_EQ(resumed.result(), http::status::created) << resumed.body();
  EXPECT_EQ(Json(resumed).at("sandboxID").as_string(), id);
  // A cold boot cannot be done here: 400, and nothing changes.
  auto reboot = Call(V::post, "/v2/sandboxes/" + id + "/connect", R"({"memory":false})");
  EXPECT_EQ(reboot.result(), http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/pause", R"({"memory":false})").result(),
            http::status::bad_request);
  EXPECT_EQ(Json(Call(V::get, "/sandboxes/" + id)).at("state"), "running");
  EXPECT_EQ(Call(V::post, "/v2/sandboxes/nosuch/connect").result(), http::status::not_found);
  // The v1 connect still requires its timeout.
  EXPECT_EQ(Call(V::post, "/sandboxes/" + id + "/connect", "{}").result(),
            http::status::bad_request);
}

// Over a real connection: a request without the API key, to no route, or
// with a body larger than the API takes, is answered from its head; the
// body it announces (up to the server's 8 MiB for previews) is never read.
TEST_F(RuntimeApiTest, RefusalsComeBeforeTheBodyIsRead) {
  http_server::Server server(h_.io, h_.clock, h_.metrics, h_.router,
                             {.listen = "127.0.0.1:0", .max_body_bytes = 8 << 20});
  auto bound = server.Start();
  ASSERT_TRUE(bound.ok());
  const auto port = static_cast<uint16_t>(std::stoi(bound->substr(bound->rfind(':') + 1)));
  auto ask = [&](const std::string& head) {
    net::ip::tcp::socket socket(h_.io);
    socket.connect({net::ip::make_address("127.0.0.1"), port});
    net::write(socket, net::buffer(head + "only the first bytes of the body"));
    std::string got;
    char buf[4096];
    socket.non_blocking(true);
    for (int i = 0; i < 400 && got.find("\r\n\r\n") == std::string::npos; ++i) {
      h_.io.restart();
      h_.io.run_for(5ms);
      boost::system::error_code ec;
      const size_t n = socket.read_some(net::buffer(buf), ec);
      if (!ec) got.append(buf, n);
    }
    return got;
  };
  const std::string big = "Content-Length: 8000000\r\n";
  EXPECT_EQ(ask("POST /sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\n" + big + "\r\n")
                .rfind("HTTP/1.1 401 ", 0),
            0u);
  EXPECT_EQ(ask("POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n" + big + "\r\n")
                .rfind("HTTP/1.1 404 ", 0),
            0u);
  EXPECT_EQ(ask("PUT /sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\n" + big + "\r\n")
                .rfind("HTTP/1.1 405 ", 0),
            0u);
  // A preview host of no sandbox: the proxy's 404, from the head.
  EXPECT_EQ(ask("POST / HTTP/1.1\r\nHost: 3000-nosuchsandbox.localhost\r\n" + big + "\r\n")
                .rfind("HTTP/1.1 404 ", 0),
            0u);
  EXPECT_EQ(ask("POST /sandboxes HTTP/1.1\r\nHost: 3000-nosuchsandbox.localhost\r\n" + big +
                "\r\n")
                .rfind("HTTP/1.1 404 ", 0),
            0u);
  // The open routes take no body, chunked or not.
  EXPECT_EQ(ask("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                .rfind("HTTP/1.1 413 ", 0),
            0u);
  EXPECT_EQ(ask(fmt::format("POST /sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {}\r\n{}"
                            "\r\n",
                            testing::kApiKey, big))
                .rfind("HTTP/1.1 413 ", 0),
            0u);
  server.Stop();
  h_.Drain();
}

TEST_F(RuntimeApiTest, InputLimitsAreClear400s) {
  // Bodies of API routes are bounded.
  auto big = Call(V::post, "/v2/sandboxes",
                  R"({"templateID":"hello","pad":")" + std::string(kMaxApiBodyBytes, 'x') + "\"}");
  EXPECT_EQ(big.result(), http::status::payload_too_large);
  EXPECT_EQ(Json(big).at("code"), 413);
  // Sandbox ids in paths.
  EXPECT_EQ(Call(V::get, "/sandboxes/" + std::string(129, 'a')).result(),
            http::status::bad_request);
  EXPECT_EQ(MessageOf(Call(V::get, "/sandboxes/" + std::string(129, 'a'))), "Invalid sandbox ID");
  // Template ids.
  auto long_template = Call(V::post, "/v2/sandboxes",
                            R"({"templateID":")" + std::string(129, 't') + "\"}");
  EXPECT_EQ(long_template.result(), http::status::bad_request);
  // Metadata: entries, sizes, control characters.
  std::string many = R"({"templateID":"hello","metadata":{)";
  for (int i = 0; i < 33; ++i) many += fmt::format(R"({}"k{}":"v")", i ? "," : "", i);
  many += "}}";
  auto too_many = Call(V::post, "/v2/sandboxes", many);
  EXPECT_EQ(too_many.result(), http::status::bad_request);
  EXPECT_EQ(MessageOf(too_many), "metadata has 33 entries; at most 32 are allowed");
  EXPECT_EQ(Call(V::post, "/v2/sandboxes",
                 R"({"templateID":"hello","metadata":{"k":")" + std::string(1025, 'v') + "\"}}")
                .result(),
            http::status::bad_request);
  EXPECT_EQ(Call(V::post, "/v2/sandboxes", R"({"templateID":"hello","metadata":{"k":"a"}})")
                .result(),
            http::status::bad_request);
  EXPECT_EQ(h_.provider.calls("create"), 0);
  // List filters and limits.
  EXPECT_EQ(Call(V::get, "/v2/sandboxes?limit=101").result(), http::status::bad_request);
  EXPECT_EQ(Call(V::get, "/v2/sandboxes?limit=0").result(), http::status::bad_request);
  EXPECT_EQ(Call(V::get, "/v2/sandboxes?metadata=" + std::string(65, 'k') + "%3Dv").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(V::get, "/v2/sandboxes?template=" + std::string(129, 't')).result(),
            http::status::bad_request);
  EXPECT_EQ(Call(V::get, "/v2/sandboxes?metadata=user%2520id%3Dx").result(), http::status::ok);
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
