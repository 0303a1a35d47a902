// The REST codecs: every object survives ToJson → text → Parse unchanged
// (what the server emits the client reads back, and the other way round for
// requests), the wire spelling of each, and the errors of bad bodies.
#include "e2b/rest.h"

#include <gtest/gtest.h>

namespace sbx::e2b {
namespace {

namespace json = boost::json;

json::value ParseText(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v;
}

// `value` written as text by its ToJson, then read back by `parse`.
template <typename T, typename ParseFn>
T RoundTrip(const T& value, ParseFn parse) {
  const std::string text = json::serialize(ToJson(value));
  auto parsed = parse(ParseText(text));
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.error().ToString();
  return parsed.ok() ? *parsed : T{};
}

template <typename T>
std::string ErrorOf(const Result<T>& r) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << r.error().ToString();
  return r.error().message();
}

ListedSandbox SampleListed() {
  ListedSandbox s;
  s.template_id = "hello";
  s.alias = "base";
  s.sandbox_id = "i1a2b3c4";
  s.client_id = kLegacyClientId;
  s.started_at = FromUnixMillis(1'767'225'600'123);
  s.end_at = FromUnixMillis(1'767'225'615'123);
  s.cpu_count = 2;
  s.memory_mb = 512;
  s.disk_size_mb = 1024;
  s.metadata = {{"projectId", "p1"}, {"empty", ""}};
  s.state = SandboxState::kPaused;
  s.envd_version = "0.2.0";
  return s;
}

SandboxDetail SampleDetail() {
  SandboxDetail d{SampleListed()};
  d.domain = "localhost";
  d.allow_internet_access = false;
  d.lifecycle = SandboxLifecycle{.auto_resume = false, .on_timeout = "pause"};
  return d;
}

TEST(RestTest, SandboxRoundTrips) {
  Sandbox s{.template_id = "hello",
            .alias = "base",
            .sandbox_id = "i1a2b3c4",
            .client_id = kLegacyClientId,
            .envd_version = "0.2.0",
            .traffic_access_token = std::nullopt,
            .domain = "localhost"};
  EXPECT_EQ(RoundTrip(s, ParseSandbox), s);
  s.alias.clear();
  s.domain.reset();
  s.traffic_access_token = "tok";
  EXPECT_EQ(RoundTrip(s, ParseSandbox), s);
}

TEST(RestTest, ListedSandboxesRoundTrip) {
  ListedSandbox paused = SampleListed();
  EXPECT_EQ(RoundTrip(paused, ParseListedSandbox), paused);
  ListedSandbox running = SampleListed();
  running.sandbox_id = "i9";
  running.alias.clear();
  running.state = SandboxState::kRunning;
  running.metadata.clear();
  EXPECT_EQ(RoundTrip(running, ParseListedSandbox), running);
  const std::vector<ListedSandbox> list = {paused, running};
  EXPECT_EQ(RoundTrip(list, ParseListedSandboxes), list);
  EXPECT_EQ(RoundTrip(std::vector<ListedSandbox>{}, ParseListedSandboxes).size(), 0u);
}

TEST(RestTest, SandboxDetailRoundTrips) {
  SandboxDetail d = SampleDetail();
  EXPECT_EQ(RoundTrip(d, ParseSandboxDetail), d);
  d.domain.reset();
  d.allow_internet_access.reset();
  d.lifecycle = SandboxLifecycle{.auto_resume = true, .on_timeout = "kill"};
  EXPECT_EQ(RoundTrip(d, ParseSandboxDetail), d);
  d.lifecycle.reset();
  EXPECT_EQ(RoundTrip(d, ParseSandboxDetail), d);
}

TEST(RestTest, ErrorBodyRoundTrips) {
  const ErrorBody e{.code = 409, .message = "already paused"};
  EXPECT_EQ(RoundTrip(e, ParseErrorBody), e);
  EXPECT_EQ(RoundTrip(ErrorBody{.code = 500, .message = ""}, ParseErrorBody).message, "");
}

TEST(RestTest, RequestsRoundTrip) {
  NewSandbox full{.template_id = "team/hello:latest",
                  .timeout_s = 60,
                  .auto_pause = true,
                  .auto_pause_memory = false,
                  .auto_resume = true,
                  .secure = true,
                  .allow_internet_access = false,
                  .network = SandboxNetwork{.allow_public_traffic = false,
                                            .allow_out = {"8.8.8.8/32", "example.com"},
                                            .deny_out = {"0.0.0.0/0"},
                                            .mask_request_host = "${PORT}-x.example.com",
                                            .egress_proxy = json::value{{"address", "p:1080"}},
                                            .rules = json::value{{"a.example.com", json::array{}}},
                                            .https_ports = json::value{json::array{8443}}},
                  .volume_mounts = {{.name = "data", .path = "/mnt/data"}},
                  .mcp = json::value{{"server", "x"}},
                  .iam = json::value{{"tokens", json::object{}}},
                  .metadata = {{"projectId", "p1"}},
                  .env_vars = {{"A", "1"}}};
  EXPECT_EQ(RoundTrip(full, ParseNewSandbox), full);
  const NewSandbox minimal{.template_id = "base"};
  EXPECT_EQ(RoundTrip(minimal, ParseNewSandbox), minimal);

  const ConnectSandbox connect{.timeout_s = 300, .memory = true};
  EXPECT_EQ(RoundTrip(connect, ParseConnectSandbox), connect);
  EXPECT_EQ(RoundTrip(ConnectSandbox{}, ParseConnectSandboxV2), ConnectSandbox{});
  const ResumedSandbox resumed{.timeout_s = 30, .auto_pause = true, .memory = false};
  EXPECT_EQ(RoundTrip(resumed, ParseResumedSandbox), resumed);
  EXPECT_EQ(RoundTrip(ResumedSandbox{}, ParseResumedSandbox), ResumedSandbox{});
  const SandboxTimeoutRequest timeout{.timeout_s = 0};
  EXPECT_EQ(RoundTrip(timeout, ParseSandboxTimeoutRequest), timeout);
  const SandboxRefreshRequest refresh{.duration_s = 120};
  EXPECT_EQ(RoundTrip(refresh, ParseSandboxRefreshRequest), refresh);
  EXPECT_EQ(RoundTrip(SandboxRefreshRequest{}, ParseSandboxRefreshRequest),
            SandboxRefreshRequest{});
  const SandboxPauseRequest pause{.memory = false};
  EXPECT_EQ(RoundTrip(pause, ParseSandboxPauseRequest), pause);
}

// The spelling and order of the keys, as E2B's API and the SDKs have them.
TEST(RestTest, AnswersUseE2bFieldNames) {
  const Sandbox s{.template_id = "hello",
                  .sandbox_id = "i1",
                  .client_id = kLegacyClientId,
                  .envd_version = "0.2.0",
                  .domain = "localhost"};
  EXPECT_EQ(json::serialize(ToJson(s)),
            R"({"templateID":"hello","sandboxID":"i1","clientID":"6532622b",)"
            R"("envdVersion":"0.2.0","trafficAccessToken":null,"domain":"localhost"})");
  EXPECT_EQ(json::serialize(ToJson(SampleListed())),
            R"({"templateID":"hello","alias":"base","sandboxID":"i1a2b3c4",)"
            R"("clientID":"6532622b","startedAt":"2026-01-01T00:00:00.123Z",)"
            R"("endAt":"2026-01-01T00:00:15.123Z","cpuCount":2,"memoryMB":512,)"
            R"("diskSizeMB":1024,"metadata":{"empty":"","projectId":"p1"},"state":"paused",)"
            R"("envdVersion":"0.2.0"})");
  const json::object d = ToJson(SampleDetail());
  EXPECT_EQ(d.at("domain"), "localhost");
  EXPECT_EQ(d.at("allowInternetAccess"), false);
  EXPECT_EQ(d.at("lifecycle"), (json::object{{"autoResume", false}, {"onTimeout", "pause"}}));
  EXPECT_EQ(json::serialize(ToJson(ErrorBody{.code = 404, .message = "no"})),
            R"({"code":404,"message":"no"})");
}

TEST(RestTest, RequestsUseE2bFieldNamesAndOmitWhatIsUnset) {
  const NewSandbox create{.template_id = "base",
                          .timeout_s = 3600,
                          .auto_pause = true,
                          .secure = false,
                          .metadata = {{"projectId", "p1"}}};
  EXPECT_EQ(json::serialize(ToJson(create)),
            R"({"templateID":"base","timeout":3600,"autoPause":true,"secure":false,)"
            R"("metadata":{"projectId":"p1"}})");
  const json::object full = ToJson(NewSandbox{.template_id = "t",
                                              .auto_pause_memory = true,
                                              .allow_internet_access = true,
                                              .env_vars = {{"A", "1"}}});
  EXPECT_TRUE(full.contains("autoPauseMemory"));
  EXPECT_TRUE(full.contains("allow_internet_access"));
  EXPECT_TRUE(full.contains("envVars"));
  EXPECT_EQ(json::serialize(ToJson(NewSandbox{.template_id = "t", .auto_resume = true})),
            R"({"templateID":"t","autoResume":{"enabled":true}})");
  EXPECT_EQ(json::serialize(ToJson(ConnectSandbox{})), "{}");
  EXPECT_EQ(json::serialize(ToJson(ConnectSandbox{.timeout_s = 60})), R"({"timeout":60})");
  EXPECT_EQ(json::serialize(ToJson(SandboxTimeoutRequest{.timeout_s = 5})), R"({"timeout":5})");
  EXPECT_EQ(json::serialize(ToJson(ResumedSandbox{.timeout_s = 5, .auto_pause = false})),
            R"({"timeout":5,"autoPause":false})");
  EXPECT_EQ(json::serialize(ToJson(SandboxRefreshRequest{.duration_s = 5})), R"({"duration":5})");
  EXPECT_EQ(json::serialize(ToJson(SandboxPauseRequest{})), "{}");
  EXPECT_EQ(json::serialize(ToJson(SandboxPauseRequest{.memory = true})), R"({"memory":true})");
}

// What a leaner E2B-compatible server sends still parses; fields it leaves
// out take their zero value.
TEST(RestTest, AnswersNeedOnlyTheirRequiredFields) {
  auto s = ParseSandbox(ParseText(R"({"sandboxID":"i1","templateID":"base"})"));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(*s, (Sandbox{.template_id = "base", .sandbox_id = "i1"}));

  auto d = ParseSandboxDetail(ParseText(
      R"({"sandboxID":"i1","templateID":"t","startedAt":"2026-01-01T00:00:00Z","state":"running",)"
      R"("metadata":{"projectId":"p","n":1,"o":{}},"extra":[1]})"));
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  EXPECT_EQ(d->state, SandboxState::kRunning);
  EXPECT_EQ(d->end_at, std::nullopt);
  EXPECT_EQ(d->cpu_count, 0);
  EXPECT_EQ(d->metadata, (core::Metadata{{"projectId", "p"}}));  // non-strings skipped
  EXPECT_EQ(d->domain, std::nullopt);
  EXPECT_EQ(d->lifecycle, std::nullopt);

  auto e = ParseErrorBody(ParseText(R"({"message":"boom"})"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, (ErrorBody{.code = 0, .message = "boom"}));
}

TEST(RestTest, BadAnswersNameTheProblem) {
  EXPECT_EQ(ErrorOf(ParseSandbox(ParseText("[]"))), "Sandbox must be a JSON object, got array");
  EXPECT_EQ(ErrorOf(ParseSandbox(ParseText(R"({"templateID":"t"})"))),
            "Field 'sandboxID' is required");
  EXPECT_EQ(ErrorOf(ParseSandbox(ParseText(R"({"templateID":"t","sandboxID":7})"))),
            "Field 'sandboxID' must be a string, got number");
  const std::string listed =
      R"({"sandboxID":"i1","templateID":"t","startedAt":"2026-01-01T00:00:00Z")";
  EXPECT_EQ(ErrorOf(ParseListedSandbox(ParseText(listed + "}"))), "Field 'state' is required");
  EXPECT_EQ(ErrorOf(ParseListedSandbox(ParseText(listed + R"(,"state":"exploding"})"))),
            "Field 'state' must be running or paused");
  EXPECT_EQ(
      ErrorOf(ParseListedSandbox(ParseText(
          R"({"sandboxID":"i1","templateID":"t","state":"paused","startedAt":"yesterday"})"))),
      "Field 'startedAt' must be an RFC 3339 date-time");
  EXPECT_EQ(ErrorOf(ParseListedSandbox(
                ParseText(R"({"sandboxID":"i1","templateID":"t","state":"paused"})"))),
            "Field 'startedAt' is required");
  EXPECT_EQ(
      ErrorOf(ParseListedSandbox(ParseText(listed + R"(,"state":"running","cpuCount":"2"})"))),
      "Field 'cpuCount' must be an integer, got string");
  EXPECT_EQ(ErrorOf(ParseListedSandboxes(ParseText(R"({"sandboxes":[]})"))),
            "the sandbox list must be a JSON array, got object");
  EXPECT_EQ(ErrorOf(ParseListedSandboxes(ParseText(R"([{"sandboxID":"ia"}])"))),
            "Field 'templateID' is required");
  EXPECT_EQ(ErrorOf(ParseSandboxDetail(ParseText(listed + R"(,"state":"running","lifecycle":1})"))),
            "Field 'lifecycle' must be an object, got number");
  EXPECT_EQ(ErrorOf(ParseErrorBody(ParseText(R"({"code":500})"))), "Field 'message' is required");
}

TEST(RestTest, BadRequestsNameTheField) {
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText("{}"))), "Field 'templateID' is required");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":""})"))),
            "Field 'templateID' is required");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":3})"))),
            "Field 'templateID' must be a string, got number");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":"h","timeout":1.5})"))),
            "Field 'timeout' must be an integer, got number");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":"h","autoPause":"yes"})"))),
            "Field 'autoPause' must be a boolean, got string");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":"h","metadata":{"a":1}})"))),
            "Field 'metadata.a' must be a string, got number");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":"h","envVars":[]})"))),
            "Field 'envVars' must be an object, got array");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":"h","secure":1})"))),
            "Field 'secure' must be a boolean, got number");
  EXPECT_EQ(ErrorOf(ParseConnectSandbox(ParseText("{}"))), "Field 'timeout' is required");
  EXPECT_TRUE(ParseConnectSandboxV2(ParseText("{}")).ok());
  EXPECT_EQ(ErrorOf(ParseConnectSandboxV2(ParseText(R"({"memory":0})"))),
            "Field 'memory' must be a boolean, got number");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":"h","autoResume":{}})"))),
            "Field 'autoResume.enabled' is required");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":"h","autoResume":true})"))),
            "Field 'autoResume' must be an object, got boolean");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":"h","network":{"allowOut":"x"}})"))),
            "Field 'allowOut' must be an array of strings, got string");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText(R"({"templateID":"h","volumeMounts":[{"name":"v"}]})"))),
            "Field 'volumeMounts[]' needs a name and a path");
  EXPECT_EQ(ErrorOf(ParseConnectSandbox(ParseText(R"({"timeout":"30"})"))),
            "Field 'timeout' must be an integer, got string");
  EXPECT_EQ(ErrorOf(ParseSandboxTimeoutRequest(ParseText(R"({"timeout":null})"))),
            "Field 'timeout' is required");
  EXPECT_EQ(ErrorOf(ParseSandboxPauseRequest(ParseText(R"({"memory":"no"})"))),
            "Field 'memory' must be a boolean, got string");
  EXPECT_EQ(ErrorOf(ParseNewSandbox(ParseText("[]"))),
            "NewSandbox must be a JSON object, got array");
  // Unknown fields are accepted as they come; null is absent.
  auto ok = ParseNewSandbox(ParseText(R"({"templateID":"h","network":{},"mcp":null,"x":1})"));
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->network, SandboxNetwork{});
  EXPECT_EQ(ok->mcp, std::nullopt);
}

TEST(RestTest, StateNamesRoundTrip) {
  for (SandboxState s : {SandboxState::kRunning, SandboxState::kPaused}) {
    EXPECT_EQ(ParseSandboxState(SandboxStateName(s)), s);
  }
  EXPECT_EQ(SandboxStateName(SandboxState::kPaused), "paused");
  EXPECT_EQ(ParseSandboxState("killed"), std::nullopt);
  EXPECT_EQ(ParseSandboxState("Running"), std::nullopt);
}

}  // namespace
}  // namespace sbx::e2b
