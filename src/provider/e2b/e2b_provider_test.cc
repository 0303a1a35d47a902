// E2bProvider against FakeTransport, FakeSleeper and a FakeClock: no sockets,
// no sleeping. Covers the wire format of every call, error mapping, retries
// with backoff, pagination and input validation.
#include "provider/e2b/e2b_provider.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "base/testing/fake_clock.h"
#include "provider/e2b/testing/fake_transport.h"

namespace sbx::provider::e2b {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kId[] = "i1a2b3c4d5e6f7g8h9j0k";
constexpr char kSandboxBody[] =
    R"({"sandboxID":"i1a2b3c4d5e6f7g8h9j0k","templateID":"rki5dems9wqfm4r03t7g",)"
    R"("clientID":"6532622b","envdVersion":"0.2.0","alias":"base","domain":null})";

std::string Detail(const std::string& id, const std::string& state,
                   const std::string& project = "p1") {
  return json::serialize(json::object{{"sandboxID", id},
                                      {"templateID", "rki5dems9wqfm4r03t7g"},
                                      {"alias", "base"},
                                      {"clientID", "6532622b"},
                                      {"startedAt", "2026-01-01T00:00:00.000Z"},
                                      {"endAt", "2026-01-01T01:00:00.000Z"},
                                      {"cpuCount", 2},
                                      {"memoryMB", 512},
                                      {"diskSizeMB", 1024},
                                      {"metadata", json::object{{"projectId", project}}},
                                      {"state", state},
                                      {"envdVersion", "0.2.0"},
                                      {"domain", nullptr}});
}

std::string ErrorBody(int code, const std::string& message) {
  return json::serialize(json::object{{"code", code}, {"message", message}});
}

json::value BodyOf(const HttpRequest& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  EXPECT_FALSE(ec) << r.body;
  return v;
}

std::optional<std::string> HeaderOf(const HttpRequest& r, const std::string& name) {
  for (const auto& [key, value] : r.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

class E2bProviderTest : public ::testing::Test {
 protected:
  E2bProviderTest() : transport_(&clock_) { Reset({}); }

  static E2bOptions DefaultOptions() {
    E2bOptions o;
    o.api_key = "e2b_0123abcd";
    o.api_url = "https://api.e2b.test/";
    o.domain = "e2b.test";
    return o;
  }
  // Rebuilds the provider with DefaultOptions() changed by `edit`.
  void Reset(const std::function<void(E2bOptions&)>& edit) {
    E2bOptions o = DefaultOptions();
    if (edit) edit(o);
    ASSERT_TRUE(ValidateE2bOptions(o).ok()) << ValidateE2bOptions(o).ToString();
    provider_ = std::make_unique<E2bProvider>(clock_, ids_, transport_, o);
  }
  HttpRequest OnlyRequest() {
    auto requests = transport_.requests();
    EXPECT_EQ(requests.size(), 1u);
    return requests.empty() ? HttpRequest{} : requests.front();
  }
  void ExpectCommonHeaders(const HttpRequest& r) {
    EXPECT_EQ(HeaderOf(r, "X-API-Key"), "e2b_0123abcd");
    EXPECT_EQ(HeaderOf(r, "Accept"), "application/json");
    EXPECT_EQ(r.timeout, 10s);
    if (!r.body.empty()) {
      EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
    }
  }

  FakeClock clock_;
  IdGenerator ids_{7};
  FakeTransport transport_;
  std::unique_ptr<E2bProvider> provider_;
};

// --- The wire format of each call ---

TEST_F(E2bProviderTest, CreatePostsNewSandbox) {
  transport_.PushResponse(201, kSandboxBody);
  auto created = provider_->Create(CreateRequest{
      .project_id = "p1", .template_name = "my-template", .metadata = {{"team", "blue"}}});
  ASSERT_TRUE(created.ok()) << created.error().ToString();

  HttpRequest r = OnlyRequest();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://api.e2b.test/sandboxes");
  ExpectCommonHeaders(r);
  EXPECT_EQ(BodyOf(r), json::parse(R"({"templateID":"my-template","timeout":3600,
      "autoPause":true,"secure":false,"metadata":{"projectId":"p1","team":"blue"}})"));

  EXPECT_EQ(created->sandbox_id, kId);
  EXPECT_EQ(created->state, ProviderState::kRunning);
  EXPECT_EQ(created->url, "https://3000-i1a2b3c4d5e6f7g8h9j0k.e2b.test/");
  EXPECT_EQ(created->template_name, "my-template");
  EXPECT_EQ(created->started_at, clock_.Now());
  EXPECT_EQ(created->end_at, clock_.Now() + 3600s);
  EXPECT_EQ(created->metadata, (core::Metadata{{"projectId", "p1"}, {"team", "blue"}}));
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
  EXPECT_EQ(body.at("metadata"), (json::object{{"projectId", "p2"}}));
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
  EXPECT_EQ(OnlyRequest().url, "http://127.0.0.1:3000/sandboxes");
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
    EXPECT_EQ(r.url, std::string("https://api.e2b.test/sandboxes/") + kId + "/connect");
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

TEST_F(E2bProviderTest, RetriesServerErrorsAndRateLimitsThenSucceeds) {
  transport_.PushResponse(500, ErrorBody(500, "boom"));
  transport_.PushResponse(503, ErrorBody(503, "busy"));
  transport_.PushResponse(429, ErrorBody(429, "slow down"));
  transport_.PushResponse(200, Detail(kId, "running"));
  auto got = provider_->Get(kId);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(got->state, ProviderState::kRunning);
  EXPECT_EQ(transport_.requests().size(), 4u);
  auto sleeps = clock_.blocking_sleeps();
  ASSERT_EQ(sleeps.size(), 3u);
  // Full jitter: retry n waits within [0, 200 ms × 2^(n-1)].
  EXPECT_LE(sleeps[0], 200ms);
  EXPECT_LE(sleeps[1], 400ms);
  EXPECT_LE(sleeps[2], 800ms);
}

TEST_F(E2bProviderTest, RetriesTransportErrors) {
  transport_.Push(DeadlineExceeded("GET x: no answer within 10000 ms"));
  transport_.Push(Unavailable("GET x: Connection refused"));
  transport_.PushResponse(200, Detail(kId, "running"));
  auto got = provider_->Get(kId);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(transport_.requests().size(), 3u);
  EXPECT_EQ(clock_.blocking_sleeps().size(), 2u);
}

TEST_F(E2bProviderTest, TimeoutsExhaustAttempts) {
  for (int i = 0; i < 4; ++i) transport_.Push(DeadlineExceeded("no answer within 10000 ms"), 10s);
  Status st = provider_->Pause(kId);
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded) << st.ToString();
  EXPECT_NE(st.message().find(std::string("e2b pause sandbox ") + kId), std::string::npos);
  EXPECT_NE(st.message().find("4 attempts"), std::string::npos) << st.message();
  EXPECT_EQ(transport_.requests().size(), 4u);
  EXPECT_EQ(clock_.blocking_sleeps().size(), 3u);
}

TEST_F(E2bProviderTest, ConnectionFailuresExhaustAttempts) {
  for (int i = 0; i < 4; ++i) transport_.Push(Unavailable("Connection refused"));
  Status st = provider_->Kill(kId);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("Connection refused"), std::string::npos);
}

TEST_F(E2bProviderTest, NeverRetriesClientErrors) {
  for (int status : {400, 401, 403, 404, 409}) {
    transport_.PushResponse(status, ErrorBody(status, "no"));
    (void)provider_->SetTimeout(kId, 30s);
  }
  EXPECT_EQ(transport_.requests().size(), 5u);
  EXPECT_TRUE(clock_.blocking_sleeps().empty());
}

TEST_F(E2bProviderTest, NeverRetriesInvalidRequests) {
  transport_.Push(InvalidArgument("URL using bad/illegal format"));
  EXPECT_EQ(provider_->Kill(kId).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(E2bProviderTest, BackoffGrowsExponentiallyWithJitterAndCap) {
  Reset([](E2bOptions& o) {
    o.max_attempts = 7;
    o.backoff_base = 100ms;
    o.backoff_max = 1000ms;
  });
  // Caps per retry: 100, 200, 400, 800, 1000, 1000 ms.
  const std::vector<std::chrono::milliseconds> caps = {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms};
  std::vector<std::chrono::milliseconds> largest(caps.size(), 0ms);
  std::vector<std::set<int64_t>> distinct(caps.size());
  constexpr int kRuns = 50;
  for (int run = 0; run < kRuns; ++run) {
    clock_.ClearBlockingSleeps();
    for (int i = 0; i < 7; ++i) transport_.PushResponse(503, "");
    EXPECT_EQ(provider_->Kill(kId).code(), StatusCode::kUnavailable);
    auto sleeps = clock_.blocking_sleeps();
    ASSERT_EQ(sleeps.size(), caps.size());
    for (size_t i = 0; i < sleeps.size(); ++i) {
      EXPECT_GE(sleeps[i], 0ms);
      EXPECT_LE(sleeps[i], caps[i]) << "retry " << i + 1;
      largest[i] = std::max(largest[i], sleeps[i]);
      distinct[i].insert(sleeps[i].count());
    }
  }
  // Growth: over 50 runs, each retry's longest wait passes the previous cap.
  for (size_t i = 1; i + 1 < caps.size(); ++i) {
    EXPECT_GT(largest[i], caps[i - 1]) << "retry " << i + 1;
  }
  // Jitter: waits vary.
  for (const auto& d : distinct) EXPECT_GT(d.size(), 10u);
}

TEST_F(E2bProviderTest, RetryAfterRaisesBackoffUpToCap) {
  HttpResponse limited;
  limited.status = 429;
  limited.headers = {{"retry-after", "2"}};
  transport_.Push(limited);
  limited.headers = {{"Retry-After", "60"}};
  transport_.Push(limited);
  transport_.PushResponse(204);
  ASSERT_TRUE(provider_->Kill(kId).ok());
  auto sleeps = clock_.blocking_sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(sleeps[0], 2s);
  EXPECT_EQ(sleeps[1], 5s);  // backoff_max
}

TEST_F(E2bProviderTest, CallStaysWithinDocumentedDeadline) {
  const SteadyTime start = clock_.SteadyNow();
  for (int i = 0; i < 4; ++i) transport_.Push(DeadlineExceeded("timeout"), 10s);
  EXPECT_FALSE(provider_->Get(kId).ok());
  // max_attempts × (request_timeout + backoff_max).
  EXPECT_LE(clock_.SteadyNow() - start, 4 * (10s + 5s));
  for (const auto& r : transport_.requests()) EXPECT_EQ(r.timeout, 10s);
}

// --- List ---

std::string Page(const std::vector<std::pair<std::string, std::string>>& sandboxes) {
  json::array a;
  for (const auto& [id, state] : sandboxes) {
    boost::system::error_code ec;
    a.push_back(json::parse(Detail(id, state, "p-" + id), ec));
  }
  return json::serialize(a);
}

TEST_F(E2bProviderTest, ListFollowsNextTokenAcrossPages) {
  transport_.PushResponse(200, Page({{"ia", "running"}, {"ib", "paused"}}),
                          {{"X-Next-Token", "tok+1/=="}});
  transport_.PushResponse(200, Page({{"ic", "running"}, {"id", "running"}}),
                          {{"x-next-token", "tok2"}});
  transport_.PushResponse(200, Page({{"ie", "paused"}}));
  auto listed = provider_->List();
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  EXPECT_TRUE(listed->complete);
  ASSERT_EQ(listed->sandboxes.size(), 5u);
  EXPECT_EQ(listed->sandboxes[0].sandbox_id, "ia");
  EXPECT_EQ(listed->sandboxes[1].state, ProviderState::kPaused);
  EXPECT_EQ(listed->sandboxes[4].sandbox_id, "ie");
  EXPECT_EQ(listed->sandboxes[4].metadata.at("projectId"), "p-ie");
  EXPECT_EQ(listed->sandboxes[4].url, "https://3000-ie.e2b.test/");

  auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].url, "https://api.e2b.test/v2/sandboxes?limit=100");
  EXPECT_EQ(requests[1].url,
            "https://api.e2b.test/v2/sandboxes?limit=100&nextToken=tok%2B1%2F%3D%3D");
  EXPECT_EQ(requests[2].url, "https://api.e2b.test/v2/sandboxes?limit=100&nextToken=tok2");
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "GET");
    ExpectCommonHeaders(r);
  }
}

TEST_F(E2bProviderTest, ListUsesPageSize) {
  Reset([](E2bOptions& o) { o.list_page_size = 2; });
  transport_.PushResponse(200, "[]");
  auto listed = provider_->List();
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  EXPECT_TRUE(listed->complete);
  EXPECT_TRUE(listed->sandboxes.empty());
  EXPECT_EQ(OnlyRequest().url, "https://api.e2b.test/v2/sandboxes?limit=2");
}

TEST_F(E2bProviderTest, ListFailsWhenALaterPageFails) {
  transport_.PushResponse(200, Page({{"ia", "running"}}), {{"X-Next-Token", "t1"}});
  for (int i = 0; i < 4; ++i) transport_.PushResponse(500, ErrorBody(500, "db down"));
  auto listed = provider_->List();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(listed.error().message().find("page 2"), std::string::npos) << listed.error().message();
  EXPECT_EQ(transport_.requests().size(), 5u);
}

TEST_F(E2bProviderTest, ListRetriesAPageThenCompletes) {
  transport_.PushResponse(200, Page({{"ia", "running"}}), {{"X-Next-Token", "t1"}});
  transport_.PushResponse(503, "");
  transport_.PushResponse(200, Page({{"ib", "running"}}));
  auto listed = provider_->List();
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  EXPECT_TRUE(listed->complete);
  EXPECT_EQ(listed->sandboxes.size(), 2u);
  EXPECT_EQ(transport_.requests()[2].url,
            "https://api.e2b.test/v2/sandboxes?limit=100&nextToken=t1");
}

TEST_F(E2bProviderTest, ListStopsOnRepeatedToken) {
  transport_.PushResponse(200, Page({{"ia", "running"}}), {{"X-Next-Token", "same"}});
  transport_.PushResponse(200, Page({{"ib", "running"}}), {{"X-Next-Token", "same"}});
  transport_.PushResponse(200, Page({{"ic", "running"}}), {{"X-Next-Token", "same"}});
  auto listed = provider_->List();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(listed.error().message().find("repeated page token"), std::string::npos);
  EXPECT_EQ(transport_.requests().size(), 2u);
}

TEST_F(E2bProviderTest, ListKeepsEachSandboxOnce) {
  transport_.PushResponse(200, Page({{"ia", "running"}, {"ib", "running"}}),
                          {{"X-Next-Token", "t1"}});
  transport_.PushResponse(200, Page({{"ib", "paused"}, {"ic", "running"}}));
  auto listed = provider_->List();
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  ASSERT_EQ(listed->sandboxes.size(), 3u);
  EXPECT_EQ(listed->sandboxes[1].state, ProviderState::kRunning);
}

TEST_F(E2bProviderTest, ListHasOneDeadlineForAllPages) {
  Reset([](E2bOptions& o) { o.list_timeout = 30s; });
  transport_.Push(HttpResponse{200, {{"X-Next-Token", "t1"}}, Page({{"ia", "running"}})}, 25s);
  transport_.Push(DeadlineExceeded("no answer within 5000 ms"), 5s);
  auto listed = provider_->List();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code(), StatusCode::kDeadlineExceeded) << listed.error().ToString();
  auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].timeout, 5s);  // what was left of list_timeout
  EXPECT_TRUE(clock_.blocking_sleeps().empty());
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
