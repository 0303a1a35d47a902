// E2bProvider against FakeTransport, FakeSleeper and a FakeClock: no sockets,
// no sleeping. Covers the wire format of every call, error mapping, the envd
// access token and input validation (retries and listing: e2b_provider_retry_test.cc).
#include "provider/e2b/e2b_provider_test_support.h"

namespace sbx::provider::e2b {
namespace {

// --- The wire format of each call ---

TEST(E2bLongestCallTest, IsEveryAttemptWithItsLongestBackoff) {
  EXPECT_EQ(LongestCall(E2bOptions{}), 60s);
  EXPECT_EQ(LongestCall(E2bOptions{.request_timeout = 2s, .max_attempts = 3,
                                   .backoff_max = 1s}),
            9s);
}

TEST_F(E2bProviderTest, CreatePostsNewSandboxV2) {
  transport_.PushResponse(201, kSandboxBody);
  auto created = provider_->Create(CreateRequest{.project_id = "p1",
                                                 .template_name = "my-template",
                                                 .metadata = {{"team", "blue"}},
                                                 .allow_internet_access = false});
  ASSERT_TRUE(created.ok()) << created.error().ToString();

  HttpRequest r = OnlyRequest();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://api.e2b.test/v2/sandboxes");
  ExpectCommonHeaders(r);
  const std::string request_id = RequestIdOf(r);
  EXPECT_EQ(request_id.size(), 36u) << r.body;  // a UUID
  // Secure: E2B mints an envd access token that sandboxd never keeps.
  EXPECT_EQ(BodyOf(r), json::parse(R"({"templateID":"my-template","timeout":3600,
      "autoPause":true,"secure":true,"allow_internet_access":false,
      "metadata":{"projectId":"p1","team":"blue","sandboxd.requestId":")" +
                                   request_id + R"("}})"));

  EXPECT_EQ(created->sandbox_id, kId);
  EXPECT_EQ(created->state, ProviderState::kRunning);
  EXPECT_EQ(created->url, "https://3000-i1a2b3c4d5e6f7g8h9j0k.e2b.test/");
  EXPECT_EQ(created->template_name, "my-template");
  EXPECT_EQ(created->started_at, clock_.Now());
  EXPECT_EQ(created->end_at, clock_.Now() + 3600s);
  EXPECT_EQ(created->metadata, (core::Metadata{{"projectId", "p1"},
                                               {"team", "blue"},
                                               {kCreateRequestIdKey, request_id}}));
  // Each create is a new request.
  transport_.PushResponse(201, kSandboxBody);
  ASSERT_TRUE(provider_->Create(CreateRequest{.project_id = "p1"}).ok());
  EXPECT_NE(RequestIdOf(transport_.requests().back()), request_id);
  // The marker the reconciler looks for.
  EXPECT_STREQ(kCreateRequestIdKey, "sandboxd.requestId");
}

TEST_F(E2bProviderTest, CreateUsesDefaultTemplateAndOptions) {
  Reset([](E2bOptions& o) {
    o.template_id = "hello";
    o.sandbox_timeout = 600s;
    o.preview_port = 8080;
  });
  transport_.PushResponse(201, kSandboxBody);
  auto created = provider_->Create(CreateRequest{.project_id = "p2"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  json::value body = BodyOf(OnlyRequest());
  EXPECT_EQ(body.at("templateID"), "hello");
  EXPECT_EQ(body.at("timeout"), 600);
  EXPECT_EQ(body.at("metadata").at("projectId"), "p2");
  EXPECT_FALSE(body.as_object().contains("allow_internet_access"));
  EXPECT_EQ(created->url, "https://8080-i1a2b3c4d5e6f7g8h9j0k.e2b.test/");
  EXPECT_EQ(created->end_at, clock_.Now() + 600s);
}

TEST_F(E2bProviderTest, CreateUsesDomainFromAnswer) {
  transport_.PushResponse(
      201, R"({"sandboxID":"iabc","templateID":"t","clientID":"c","envdVersion":"0.2.0",)"
           R"("domain":"eu.e2b.dev"})");
  auto created = provider_->Create(CreateRequest{.project_id = "p1"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_EQ(created->url, "https://3000-iabc.eu.e2b.dev/");
}

TEST_F(E2bProviderTest, PreviewUrlIsHttpForHttpEmulator) {
  Reset([](E2bOptions& o) {
    o.api_url = "http://127.0.0.1:3000";
    o.domain = "localhost";
  });
  transport_.PushResponse(201, kSandboxBody);
  auto created = provider_->Create(CreateRequest{.project_id = "p1"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_EQ(OnlyRequest().url, "http://127.0.0.1:3000/v2/sandboxes");
  EXPECT_EQ(created->url, "http://3000-i1a2b3c4d5e6f7g8h9j0k.localhost/");
}

TEST_F(E2bProviderTest, PausePostsPause) {
  transport_.PushResponse(204);
  ASSERT_TRUE(provider_->Pause(kId).ok());
  HttpRequest r = OnlyRequest();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, std::string("https://api.e2b.test/sandboxes/") + kId + "/pause");
  ExpectCommonHeaders(r);
  EXPECT_EQ(BodyOf(r), json::object{});
}

TEST_F(E2bProviderTest, PauseOfPausedSandboxIsOk) {
  transport_.PushResponse(409, ErrorBody(409, std::string("Error pausing sandbox - sandbox '") +
                                                  kId + "' is already paused"));
  EXPECT_TRUE(provider_->Pause(kId).ok());
  EXPECT_EQ(transport_.requests().size(), 1u);
  EXPECT_TRUE(clock_.blocking_sleeps().empty());
}

TEST_F(E2bProviderTest, PauseConflictOtherwiseChecksState) {
  // Unknown 409 wording: the provider asks whether the sandbox is paused.
  transport_.PushResponse(409, ErrorBody(409, "sandbox is busy"));
  transport_.PushResponse(200, Detail(kId, "paused"));
  EXPECT_TRUE(provider_->Pause(kId).ok());
  ASSERT_EQ(transport_.requests().size(), 2u);
  EXPECT_EQ(transport_.requests()[1].method, "GET");

  transport_.PushResponse(409, ErrorBody(409, "cannot be paused while in 'snapshotting' state"));
  transport_.PushResponse(200, Detail(kId, "running"));
  Status st = provider_->Pause(kId);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("snapshotting"), std::string::npos) << st.message();
}

TEST_F(E2bProviderTest, PauseOfMissingSandboxIsNotFound) {
  transport_.PushResponse(404, ErrorBody(404, "Sandbox \"i1\" doesn't exist"));
  Status st = provider_->Pause(kId);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(E2bProviderTest, ResumeConnectsAndAcceptsBothAnswers) {
  for (int status : {200, 201}) {
    transport_.PushResponse(status, kSandboxBody);
    auto resumed = provider_->Resume(kId);
    ASSERT_TRUE(resumed.ok()) << status << ": " << resumed.error().ToString();
    EXPECT_EQ(resumed->sandbox_id, kId);
    EXPECT_EQ(resumed->state, ProviderState::kRunning);
    EXPECT_EQ(resumed->url, "https://3000-i1a2b3c4d5e6f7g8h9j0k.e2b.test/");
    EXPECT_EQ(resumed->template_name, "base");  // the alias wins over templateID
    EXPECT_EQ(resumed->started_at, clock_.Now());
    EXPECT_EQ(resumed->end_at, clock_.Now() + 3600s);
  }
  auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.url, std::string("https://api.e2b.test/v2/sandboxes/") + kId + "/connect");
    ExpectCommonHeaders(r);
    EXPECT_EQ(BodyOf(r), json::parse(R"({"timeout":3600})"));
  }
}

TEST_F(E2bProviderTest, ResumeOfMissingSandboxIsNotFound) {
  transport_.PushResponse(404, ErrorBody(404, "Paused sandbox not found"));
  auto resumed = provider_->Resume(kId);
  ASSERT_FALSE(resumed.ok());
  EXPECT_EQ(resumed.error().code(), StatusCode::kNotFound);
}

TEST_F(E2bProviderTest, KillDeletes) {
  transport_.PushResponse(204);
  ASSERT_TRUE(provider_->Kill(kId).ok());
  HttpRequest r = OnlyRequest();
  EXPECT_EQ(r.method, "DELETE");
  EXPECT_EQ(r.url, std::string("https://api.e2b.test/sandboxes/") + kId);
  EXPECT_TRUE(r.body.empty());
  ExpectCommonHeaders(r);
}

TEST_F(E2bProviderTest, KillOfMissingSandboxIsOk) {
  transport_.PushResponse(404, ErrorBody(404, "not found"));
  EXPECT_TRUE(provider_->Kill(kId).ok());
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(E2bProviderTest, SetTimeoutPostsSeconds) {
  transport_.PushResponse(204);
  ASSERT_TRUE(provider_->SetTimeout(kId, 90s).ok());
  HttpRequest r = OnlyRequest();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, std::string("https://api.e2b.test/sandboxes/") + kId + "/timeout");
  ExpectCommonHeaders(r);
  EXPECT_EQ(BodyOf(r), json::parse(R"({"timeout":90})"));

  transport_.PushResponse(404, ErrorBody(404, "not found"));
  EXPECT_EQ(provider_->SetTimeout(kId, 90s).code(), StatusCode::kNotFound);
  EXPECT_EQ(provider_->SetTimeout(kId, -1s).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(transport_.requests().size(), 2u);
}

TEST_F(E2bProviderTest, GetReadsDetail) {
  transport_.PushResponse(200, Detail(kId, "paused", "p7"));
  auto got = provider_->Get(kId);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  HttpRequest r = OnlyRequest();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, std::string("https://api.e2b.test/sandboxes/") + kId);
  EXPECT_TRUE(r.body.empty());
  ExpectCommonHeaders(r);
  EXPECT_EQ(got->sandbox_id, kId);
  EXPECT_EQ(got->state, ProviderState::kPaused);
  EXPECT_EQ(got->template_name, "base");
  EXPECT_EQ(got->started_at, *ParseRfc3339("2026-01-01T00:00:00Z"));
  EXPECT_EQ(got->end_at, *ParseRfc3339("2026-01-01T01:00:00Z"));
  EXPECT_EQ(got->metadata, (core::Metadata{{"projectId", "p7"}}));
  EXPECT_EQ(got->url, "https://3000-i1a2b3c4d5e6f7g8h9j0k.e2b.test/");
}

TEST_F(E2bProviderTest, GetOfMissingSandboxIsNotFound) {
  transport_.PushResponse(404, ErrorBody(404, "Sandbox \"x\" doesn't exist"));
  auto got = provider_->Get(kId);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), StatusCode::kNotFound);
}

// --- Error mapping ---

struct MappingCase {
  int status;
  StatusCode code;
  int attempts;  // requests sent with the default max_attempts of 4
};

class E2bErrorMappingTest : public E2bProviderTest,
                            public ::testing::WithParamInterface<MappingCase> {};

TEST_P(E2bErrorMappingTest, MapsStatus) {
  const MappingCase c = GetParam();
  for (int i = 0; i < c.attempts; ++i) {
    transport_.PushResponse(c.status, ErrorBody(c.status, "the e2b explanation"));
  }
  auto got = provider_->Get(kId);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), c.code) << got.error().ToString();
  const std::string& m = got.error().message();
  EXPECT_NE(m.find(kId), std::string::npos) << m;
  EXPECT_NE(m.find("the e2b explanation"), std::string::npos) << m;
  EXPECT_NE(m.find("http " + std::to_string(c.status)), std::string::npos) << m;
  EXPECT_EQ(transport_.requests().size(), static_cast<size_t>(c.attempts));
  EXPECT_EQ(clock_.blocking_sleeps().size(), static_cast<size_t>(c.attempts - 1));
  EXPECT_EQ(transport_.pending(), 0u);
  if (c.status == 401 || c.status == 403) {
    EXPECT_NE(m.find("E2B rejected the API key"), std::string::npos) << m;
  }
}

INSTANTIATE_TEST_SUITE_P(Statuses, E2bErrorMappingTest,
                         ::testing::Values(MappingCase{400, StatusCode::kInvalidArgument, 1},
                                           MappingCase{401, StatusCode::kPermissionDenied, 1},
                                           MappingCase{403, StatusCode::kPermissionDenied, 1},
                                           MappingCase{404, StatusCode::kNotFound, 1},
                                           MappingCase{409, StatusCode::kFailedPrecondition, 1},
                                           MappingCase{422, StatusCode::kInvalidArgument, 1},
                                           MappingCase{429, StatusCode::kResourceExhausted, 4},
                                           MappingCase{500, StatusCode::kUnavailable, 4},
                                           MappingCase{502, StatusCode::kUnavailable, 4},
                                           MappingCase{503, StatusCode::kUnavailable, 4},
                                           MappingCase{504, StatusCode::kUnavailable, 4}),
                         [](const ::testing::TestParamInfo<MappingCase>& param) {
                           return "Http" + std::to_string(param.param.status);
                         });

TEST_F(E2bProviderTest, ErrorWithoutJsonQuotesBody) {
  transport_.PushResponse(400, "bad\nthing");
  Status st = provider_->Kill(kId);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("bad?thing"), std::string::npos) << st.message();
}

// --- Retries ---

// --- The envd access token ---

TEST_F(E2bProviderTest, AccessTokensNeverReachErrorsOrResults) {
  constexpr char kSecret[] = "tok-3f9a8c7e1d2b";
  const std::string with_token =
      std::string(R"({"sandboxID":"i1","templateID":"t","envdAccessToken":")") + kSecret +
      R"(","trafficAccessToken" : ")" + kSecret + R"("})";
  // A successful answer: the token is not kept.
  transport_.PushResponse(201, std::string(R"({"sandboxID":"iok","templateID":"t",)") +
                                   R"("envdVersion":"0.2.0","envdAccessToken":")" + kSecret +
                                   R"("})");
  auto created = provider_->Create(CreateRequest{.project_id = "p1"});
  ASSERT_TRUE(created.ok());
  for (const auto& [k, v] : created->metadata) EXPECT_EQ(v.find(kSecret), std::string::npos) << k;
  EXPECT_EQ(created->url->find(kSecret), std::string::npos);
  // Error answers that quote a body carrying a token.
  transport_.PushResponse(400, with_token);
  Status refused = provider_->Create(CreateRequest{.project_id = "p1"}).status();
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message().find(kSecret), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("[redacted]"), std::string::npos) << refused.message();
  transport_.PushResponse(409, ErrorBody(409, std::string(R"(conflict {"envdAccessToken":")") +
                                                  kSecret + "\"}"));
  Status conflict = provider_->Resume(kId).status();
  EXPECT_EQ(conflict.message().find(kSecret), std::string::npos) << conflict.message();
  // A malformed success names fields, not values.
  transport_.PushResponse(
      200, std::string(R"({"templateID":"t","envdAccessToken":")") + kSecret + R"("})");
  Status malformed = provider_->Resume(kId).status();
  EXPECT_EQ(malformed.code(), StatusCode::kUnavailable);
  EXPECT_EQ(malformed.message().find(kSecret), std::string::npos) << malformed.message();
}

// --- Malformed answers and bad input ---

TEST_F(E2bProviderTest, MalformedBodiesAreUnavailable) {
  auto expect_malformed = [](const Status& st) {
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
    EXPECT_NE(st.message().find("malformed E2B response"), std::string::npos) << st.message();
  };
  transport_.PushResponse(201, "{not json");
  expect_malformed(provider_->Create(CreateRequest{.project_id = "p1"}).status());
  transport_.PushResponse(201, R"({"templateID":"t"})");
  expect_malformed(provider_->Create(CreateRequest{.project_id = "p1"}).status());
  transport_.PushResponse(201, R"({"sandboxID":"../x","templateID":"t"})");
  expect_malformed(provider_->Create(CreateRequest{.project_id = "p1"}).status());
  transport_.PushResponse(200, "[]");
  expect_malformed(provider_->Resume(kId).status());
  transport_.PushResponse(200, Detail(kId, "exploding"));
  expect_malformed(provider_->Get(kId).status());
  transport_.PushResponse(200, R"({"sandboxID":"ia","templateID":"t","state":"running",)"
                               R"("startedAt":"yesterday"})");
  expect_malformed(provider_->Get(kId).status());
  transport_.PushResponse(200, R"({"sandboxes":[]})");
  expect_malformed(provider_->List().status());
  transport_.PushResponse(200, R"([{"sandboxID":"ia"}])");
  expect_malformed(provider_->List().status());
  EXPECT_EQ(transport_.pending(), 0u);
  EXPECT_TRUE(clock_.blocking_sleeps().empty());  // a malformed 2xx is not retried
}

TEST_F(E2bProviderTest, InvalidSandboxIdIsNeverSent) {
  for (const std::string& id : std::vector<std::string>{"", "../sandboxes", "I1ABC", "a/b", "a?b=c",
                                                        "a b", "a%2F", std::string(129, 'a')}) {
    EXPECT_EQ(provider_->Pause(id).code(), StatusCode::kInvalidArgument) << id;
    EXPECT_EQ(provider_->Resume(id).status().code(), StatusCode::kInvalidArgument) << id;
    EXPECT_EQ(provider_->Kill(id).code(), StatusCode::kInvalidArgument) << id;
    EXPECT_EQ(provider_->SetTimeout(id, 10s).code(), StatusCode::kInvalidArgument) << id;
    EXPECT_EQ(provider_->Get(id).status().code(), StatusCode::kInvalidArgument) << id;
  }
  EXPECT_TRUE(transport_.requests().empty());
  EXPECT_TRUE(IsValidE2bSandboxId(kId));
  EXPECT_TRUE(IsValidE2bSandboxId("i1abc-6532622b"));  // legacy <id>-<clientID>
}

TEST(E2bOptionsTest, Validates) {
  E2bOptions good;
  good.api_key = "k";
  EXPECT_TRUE(ValidateE2bOptions(good).ok());
  auto invalid = [&](const std::function<void(E2bOptions&)>& edit) {
    E2bOptions o = good;
    edit(o);
    return ValidateE2bOptions(o).code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.api_key.clear(); }));
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.api_url = "ftp://x"; }));
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.domain.clear(); }));
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.preview_port = 0; }));
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.sandbox_timeout = 0s; }));
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.request_timeout = 0ms; }));
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.max_attempts = 0; }));
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.backoff_max = 1ms; }));
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.list_page_size = 101; }));
  EXPECT_TRUE(invalid([](E2bOptions& o) { o.list_timeout = 0ms; }));
}

TEST(HttpResponseTest, HeaderLookupIgnoresCase) {
  HttpResponse r;
  r.headers = {{"X-Next-Token", "abc"}, {"x-next-token", "second"}};
  EXPECT_EQ(r.Header("x-NEXT-token"), "abc");
  EXPECT_EQ(r.Header("X-Total-Running"), std::nullopt);
}

}  // namespace
}  // namespace sbx::provider::e2b
