// E2bProvider's retries with backoff, pagination and create idempotence,
// against FakeTransport, FakeSleeper and a FakeClock: no sockets, no sleeping.
#include "provider/e2b/e2b_provider_test_support.h"

namespace sbx::provider::e2b {
namespace {

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

// --- Idempotent creates ---

std::string ListedWithRequestId(const std::string& id, const std::string& request_id) {
  json::object o = json::parse(Detail(id, "running")).as_object();
  o["metadata"].as_object()[kCreateRequestIdKey] = request_id;
  return json::serialize(json::array{o});
}

// Answers a lookup with sandbox `id` carrying the request id of the first
// create the provider sent.
FakeTransport::Responder ListingWithFirstRequestId(const std::string& id) {
  return [id](const std::vector<HttpRequest>& sent) -> Result<HttpResponse> {
    HttpResponse r;
    r.status = 200;
    r.body = ListedWithRequestId(id, RequestIdOf(sent.front()));
    return r;
  };
}

TEST_F(E2bProviderTest, CreateThatTimedOutAdoptsTheSandboxItMade) {
  transport_.Push(DeadlineExceeded("no answer within 10000 ms"), 10s);
  transport_.PushResponder(ListingWithFirstRequestId("ileaked"));
  auto created = provider_->Create(CreateRequest{.project_id = "p1"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_EQ(created->sandbox_id, "ileaked");
  EXPECT_EQ(created->started_at, FromUnixMillis(1'767'225'600'000));  // from the listing
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 2u);  // no second create
  const std::string request_id = RequestIdOf(requests[0]);
  EXPECT_EQ(created->metadata.at(kCreateRequestIdKey), request_id);
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].url,
            "https://api.e2b.test/v2/sandboxes?limit=100&metadata=sandboxd.requestId%3D" +
                request_id);
}

TEST_F(E2bProviderTest, CreateRetriesWithTheSameRequestIdWhenNothingWasMade) {
  transport_.Push(Unavailable("Connection reset by peer"));
  transport_.PushResponse(200, "[]");
  transport_.PushResponse(502, "bad gateway");
  // A listed sandbox with another request's id is not ours to adopt.
  transport_.PushResponse(200, ListedWithRequestId("iother", "another-request"));
  transport_.PushResponse(201, kSandboxBody);
  auto created = provider_->Create(CreateRequest{.project_id = "p1"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_EQ(created->sandbox_id, kId);
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 5u);
  for (size_t i : {0u, 2u, 4u}) {
    EXPECT_EQ(requests[i].method, "POST") << i;
    EXPECT_EQ(RequestIdOf(requests[i]), RequestIdOf(requests[0])) << i;
  }
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[3].method, "GET");
}

TEST_F(E2bProviderTest, CreateIsNotRetriedWhenTheLookupFails) {
  transport_.Push(DeadlineExceeded("no answer within 10000 ms"), 10s);
  for (int i = 0; i < 4; ++i) transport_.Push(Unavailable("Connection refused"));
  auto created = provider_->Create(CreateRequest{.project_id = "p1"});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code(), StatusCode::kDeadlineExceeded) << created.error().ToString();
  EXPECT_NE(created.error().message().find("may have created a sandbox"), std::string::npos)
      << created.error().message();
  const auto requests = transport_.requests();
  EXPECT_EQ(std::count_if(requests.begin(), requests.end(),
                          [](const HttpRequest& r) { return r.method == "POST"; }),
            1);
}

TEST_F(E2bProviderTest, CreateRateLimitIsRetriedWithoutALookup) {
  transport_.PushResponse(429, ErrorBody(429, "slow down"));
  transport_.PushResponse(201, kSandboxBody);
  ASSERT_TRUE(provider_->Create(CreateRequest{.project_id = "p1"}).ok());
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "POST");
}

TEST_F(E2bProviderTest, CreateGivesUpAfterItsAttemptsWithinTheDeadline) {
  const SteadyTime start = clock_.SteadyNow();
  for (int i = 0; i < 4; ++i) {
    transport_.Push(DeadlineExceeded("no answer within 10000 ms"), 10s);
    transport_.PushResponse(200, "[]");
  }
  auto created = provider_->Create(CreateRequest{.project_id = "p1"});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LE(clock_.SteadyNow() - start, 4 * (10s + 5s));
}

}  // namespace
}  // namespace sbx::provider::e2b
