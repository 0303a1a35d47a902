#include "runtime_api/wire.h"

#include <gtest/gtest.h>

namespace sbx::runtime_api {
namespace {

TEST(WireTest, NormalizesPathSandboxIds) {
  EXPECT_EQ(*NormalizeSandboxId("sbxabc123"), "sbxabc123");
  EXPECT_EQ(*NormalizeSandboxId("iabc-6532622b"), "iabc");
  for (const char* bad : {"", "ABC", "a_b", "-abc", "a.b", "%2e%2e", "ab c"}) {
    auto r = NormalizeSandboxId(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message(), "Invalid sandbox ID");
  }
}

TEST(WireTest, CursorRoundTripsAndRejectsForeignTokens) {
  ListCursor c{1767225600123, "sbxabc", false};
  EXPECT_EQ(*DecodeCursor(EncodeCursor(c)), c);
  ListCursor asc{5, "x1", true};
  EXPECT_EQ(*DecodeCursor(EncodeCursor(asc)), asc);
  for (const char* bad : {"", "!!!", "abc", "bm90IGEgdG9rZW4"}) {
    EXPECT_FALSE(DecodeCursor(bad).ok()) << bad;
  }
  EXPECT_FALSE(DecodeCursor(Base64UrlEncode("12__ABC")).ok());
  EXPECT_FALSE(DecodeCursor(Base64UrlEncode("12__abc__desc")).ok());
}

TEST(WireTest, Base64UrlRoundTrips) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\xfe\x00z"}) {
    EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("a").has_value());
  EXPECT_FALSE(Base64UrlDecode("ab=").has_value());
  EXPECT_FALSE(Base64UrlDecode("-_9").has_value());  // non-zero leftover bits
}

TEST(WireTest, ParsesMetadataQueries) {
  auto m = ParseMetadataQuery("projectId=p1&user=a%20b&plus=x+y");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (core::Metadata{{"projectId", "p1"}, {"user", "a b"}, {"plus", "x y"}}));
  EXPECT_TRUE(ParseMetadataQuery("")->empty());
  EXPECT_EQ(*ParseMetadataQuery("k="), (core::Metadata{{"k", ""}}));
  for (const char* bad : {"novalue", "=v", "k=%zz", "k=%4"}) {
    EXPECT_FALSE(ParseMetadataQuery(bad).ok()) << bad;
  }
}

TEST(WireTest, ParsesStateQueries) {
  using S = std::set<SandboxState>;
  EXPECT_EQ(*ParseStateQuery(std::nullopt), (S{SandboxState::kRunning, SandboxState::kPaused}));
  EXPECT_EQ(*ParseStateQuery(std::string("")), (S{SandboxState::kRunning, SandboxState::kPaused}));
  EXPECT_EQ(*ParseStateQuery(std::string("paused")), S{SandboxState::kPaused});
  EXPECT_EQ(*ParseStateQuery(std::string("running,paused")),
            (S{SandboxState::kRunning, SandboxState::kPaused}));
  EXPECT_FALSE(ParseStateQuery(std::string("killed")).ok());
  EXPECT_FALSE(ParseStateQuery(std::string("running,")).ok());
}

TEST(WireTest, RecognizesPreviewHosts) {
  EXPECT_EQ(ParsePreviewHost("3000-sbxabc.localhost", "localhost"), (PreviewHost{3000, "sbxabc"}));
  EXPECT_EQ(ParsePreviewHost("3000-sbxabc.localhost:8080", "localhost"),
            (PreviewHost{3000, "sbxabc"}));
  EXPECT_EQ(ParsePreviewHost("49983-SBXABC.LocalHost.", "localhost"),
            (PreviewHost{49983, "sbxabc"}));
  EXPECT_EQ(ParsePreviewHost("8080-iabc-6532622b.e2b.local", "e2b.local"),
            (PreviewHost{8080, "iabc"}));
  for (const char* host : {"localhost", "localhost:3000", "127.0.0.1:3000", "sbxabc.localhost",
                           "0-sbxabc.localhost", "70000-sbxabc.localhost", "x-sbxabc.localhost",
                           "a.3000-sbxabc.localhost", "3000-sbxabc.example.com", "3000-.localhost",
                           "3000-sbx_abc.localhost", "3000-sbxabc.localhost:x", ""}) {
    EXPECT_FALSE(ParsePreviewHost(host, "localhost").has_value()) << host;
  }
  // The runtime's default domain names its listen port: "localhost:<port>".
  // The SDKs' getHost() makes "<port>-<id>.localhost:<listen port>" of it.
  EXPECT_EQ(ParsePreviewHost("3000-sbxabc.localhost:41234", "localhost:41234"),
            (PreviewHost{3000, "sbxabc"}));
  EXPECT_EQ(ParsePreviewHost("3000-sbxabc.localhost", "localhost:41234"),
            (PreviewHost{3000, "sbxabc"}));
  EXPECT_FALSE(ParsePreviewHost("localhost:41234", "localhost:41234").has_value());
  EXPECT_FALSE(ParsePreviewHost("3000-sbxabc.localhost", "").has_value());
  EXPECT_FALSE(ParsePreviewHost("3000-sbxabc.localhost", ":41234").has_value());
}

TEST(WireTest, ParseBodyReadsRequestsWithTheE2bCodecs) {
  auto p = ParseBody(
      R"({"templateID":"hello","timeout":60,"autoPause":true,"metadata":{"projectId":"p"},
          "envVars":{"A":"1"},"secure":true,"allow_internet_access":false,"network":{}})",
      /*required=*/true, e2b::ParseNewSandbox);
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->template_id, "hello");
  EXPECT_EQ(p->timeout_s, 60);
  EXPECT_EQ(p->auto_pause, true);
  EXPECT_EQ(p->metadata.at("projectId"), "p");
  EXPECT_EQ(p->allow_internet_access, false);
  for (const char* bad :
       {"", "{", "[]", R"({})", R"({"templateID":""})", R"({"templateID":3})",
        R"({"templateID":"h","timeout":"60"})", R"({"templateID":"h","timeout":1.5})",
        R"({"templateID":"h","autoPause":"yes"})", R"({"templateID":"h","metadata":{"a":1}})",
        R"({"templateID":"h","envVars":[]})"}) {
    EXPECT_EQ(ParseBody(bad, true, e2b::ParseNewSandbox).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ParseBody("", true, e2b::ParseConnectSandbox).status().message(),
            "Request body is required");
  EXPECT_EQ(ParseBody("{}", true, e2b::ParseConnectSandbox).status().message(),
            "Field 'timeout' is required");
  EXPECT_EQ(ParseBody(R"({"timeout":30.0,"other":1})", true, e2b::ParseConnectSandbox)->timeout_s,
            30);
  EXPECT_EQ(ParseBody(" ", false, e2b::ParseResumedSandbox)->timeout_s, std::nullopt);
  EXPECT_EQ(ParseBody("[]", false, e2b::ParseResumedSandbox).status().message(),
            "Error when parsing request: body must be a JSON object");
  EXPECT_EQ(ParseBody(R"({"memory":1})", false, e2b::ParseSandboxPauseRequest).status().message(),
            "Field 'memory' must be a boolean, got number");
}

SandboxRecord PausedRecord() {
  SandboxRecord r;
  r.sandbox_id = "sbx1";
  r.template_id = "hello";
  r.alias = "base";
  r.started_at = FromUnixMillis(1000);
  r.end_at = FromUnixMillis(16000);
  r.paused_at = FromUnixMillis(5000);
  r.state = SandboxState::kPaused;
  r.auto_pause = true;
  r.allow_internet_access = true;
  r.memory_mb = 64;
  r.metadata = {{"projectId", "p1"}};
  return r;
}

TEST(WireTest, ListedSandboxHasEveryFieldTheSdksRequire) {
  SandboxRecord r = PausedRecord();
  r.state = SandboxState::kRunning;
  r.paused_at.reset();
  auto o = e2b::ToJson(ToListedSandbox(r));
  for (const char* key : {"templateID", "sandboxID", "clientID", "startedAt", "endAt", "cpuCount",
                          "memoryMB", "diskSizeMB", "state", "envdVersion", "metadata"}) {
    EXPECT_TRUE(o.contains(key)) << key;
  }
  EXPECT_EQ(o.at("state"), "running");
  EXPECT_EQ(o.at("endAt"), "1970-01-01T00:00:16.000Z");
  r.state = SandboxState::kPaused;
  r.paused_at = FromUnixMillis(5000);
  EXPECT_EQ(e2b::ToJson(ToListedSandbox(r)).at("endAt"), "1970-01-01T00:00:05.000Z");
  r.auto_pause = false;
  auto d = e2b::ToJson(ToSandboxDetail(r, "localhost"));
  EXPECT_EQ(d.at("lifecycle").at("onTimeout"), "kill");
  EXPECT_EQ(d.at("lifecycle").at("autoResume"), false);
  EXPECT_EQ(d.at("domain"), "localhost");
  auto s = e2b::ToJson(ToSandbox(r, "localhost"));
  for (const char* key : {"templateID", "sandboxID", "clientID", "envdVersion"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  EXPECT_EQ(s.at("envdVersion"), kEnvdVersion);
  EXPECT_EQ(s.at("clientID"), e2b::kLegacyClientId);
  EXPECT_TRUE(s.at("trafficAccessToken").is_null());
}

// What the server answers, the client's codecs read back to the same values.
TEST(WireTest, AnswersParseBackWithTheClientCodecs) {
  const SandboxRecord r = PausedRecord();
  const std::string text = boost::json::serialize(e2b::ToJson(ToSandboxDetail(r, "localhost")));
  auto d = e2b::ParseSandboxDetail(boost::json::parse(text));
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  EXPECT_EQ(*d, ToSandboxDetail(r, "localhost"));
  EXPECT_EQ(d->state, SandboxState::kPaused);
  EXPECT_EQ(d->end_at, r.paused_at);
  EXPECT_EQ(d->alias, "base");
  EXPECT_EQ(d->lifecycle->on_timeout, "pause");
  EXPECT_EQ(d->allow_internet_access, true);

  auto listed = e2b::ParseListedSandbox(e2b::ToJson(ToListedSandbox(r)));
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  EXPECT_EQ(*listed, ToListedSandbox(r));
  auto sandbox = e2b::ParseSandbox(e2b::ToJson(ToSandbox(r, "localhost")));
  ASSERT_TRUE(sandbox.ok()) << sandbox.error().ToString();
  EXPECT_EQ(*sandbox, ToSandbox(r, "localhost"));
  EXPECT_EQ(sandbox->domain, "localhost");
}

TEST(WireTest, ErrorBodiesUseTheE2bShape) {
  http_server::Request req{http::verb::get, "/", 11};
  auto res = ErrorFor(req, FailedPrecondition("already paused"));
  EXPECT_EQ(res.result(), http::status::conflict);
  EXPECT_EQ(res.body(), R"({"code":409,"message":"already paused"})");
  auto parsed = e2b::ParseErrorBody(boost::json::parse(res.body()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (e2b::ErrorBody{.code = 409, .message = "already paused"}));
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), http::status::not_found);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthenticated), http::status::unauthorized);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), http::status::internal_server_error);
}

}  // namespace
}  // namespace sbx::runtime_api
