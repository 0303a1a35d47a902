#include "runtime_api/sandboxes.h"

#include <gtest/gtest.h>

#include "base/testing/fake_clock.h"
#include "provider/testing/fake_provider.h"
#include "runtime_api/keyed_mutex.h"
#include "runtime_api/testing/harness.h"

namespace sbx::runtime_api {

using namespace std::chrono_literals;
namespace {

using testing::RunSync;

SandboxRecord Rec(std::string id, int64_t started_ms, SandboxState state = SandboxState::kRunning,
                  core::Metadata metadata = {}) {
  SandboxRecord r;
  r.sandbox_id = std::move(id);
  r.template_id = "hello";
  r.started_at = FromUnixMillis(started_ms);
  r.state = state;
  r.metadata = std::move(metadata);
  return r;
}

std::vector<std::string> Ids(const ListPage& p) {
  std::vector<std::string> out;
  for (const auto& s : p.sandboxes) out.push_back(s.sandbox_id);
  return out;
}

TEST(ListSandboxesTest, NewestFirstWithStableTiesAndPages) {
  std::vector<SandboxRecord> all = {Rec("a", 1), Rec("b", 3), Rec("c", 2), Rec("d", 3),
                                    Rec("e", 5, SandboxState::kPaused)};
  ListQuery q;
  q.limit = 2;
  auto p1 = ListSandboxes(all, q);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(Ids(*p1), (std::vector<std::string>{"e", "d"}));
  EXPECT_EQ(p1->total_running, 4u);
  ASSERT_TRUE(p1->next.has_value());
  q.cursor = p1->next;
  auto p2 = ListSandboxes(all, q);
  EXPECT_EQ(Ids(*p2), (std::vector<std::string>{"b", "c"}));
  q.cursor = p2->next;
  auto p3 = ListSandboxes(all, q);
  EXPECT_EQ(Ids(*p3), (std::vector<std::string>{"a"}));
  EXPECT_FALSE(p3->next.has_value());
}

TEST(ListSandboxesTest, AscendingOrderAndCursorOrderMismatch) {
  std::vector<SandboxRecord> all = {Rec("a", 1), Rec("b", 2), Rec("c", 3)};
  ListQuery q;
  q.ascending = true;
  q.limit = 2;
  auto p1 = ListSandboxes(all, q);
  EXPECT_EQ(Ids(*p1), (std::vector<std::string>{"a", "b"}));
  q.cursor = p1->next;
  EXPECT_EQ(Ids(*ListSandboxes(all, q)), (std::vector<std::string>{"c"}));
  q.ascending = false;
  EXPECT_EQ(ListSandboxes(all, q).status().code(), StatusCode::kInvalidArgument);
}

TEST(ListSandboxesTest, FiltersByStateMetadataTemplateAndStart) {
  std::vector<SandboxRecord> all = {
      Rec("a", 1, SandboxState::kRunning, {{"projectId", "p1"}, {"x", "1"}}),
      Rec("b", 2, SandboxState::kPaused, {{"projectId", "p1"}}),
      Rec("c", 3, SandboxState::kRunning, {{"projectId", "p2"}})};
  all[2].template_id = "other";
  ListQuery q;
  q.states = {SandboxState::kPaused};
  EXPECT_EQ(Ids(*ListSandboxes(all, q)), (std::vector<std::string>{"b"}));
  q.states = {SandboxState::kRunning, SandboxState::kPaused};
  q.metadata = {{"projectId", "p1"}};
  EXPECT_EQ(Ids(*ListSandboxes(all, q)), (std::vector<std::string>{"b", "a"}));
  q.metadata = {{"projectId", "p1"}, {"x", "1"}};
  EXPECT_EQ(Ids(*ListSandboxes(all, q)), (std::vector<std::string>{"a"}));
  q.metadata = {};
  q.template_id = "other";
  EXPECT_EQ(Ids(*ListSandboxes(all, q)), (std::vector<std::string>{"c"}));
  q.template_id.reset();
  q.started_after = FromUnixMillis(2);
  EXPECT_EQ(Ids(*ListSandboxes(all, q)), (std::vector<std::string>{"c", "b"}));
}

TEST(KeyedMutexTest, SerializesOneKeyAndLeavesOthersFree) {
  net::io_context io;
  KeyedMutex mu(io.get_executor());
  std::vector<std::string> log;
  // Plain pointers: GCC 12 mishandles class-type temporaries passed to coroutines.
  auto worker = [&](const char* key, const char* name) -> net::awaitable<void> {
    const std::string k = key;
    auto guard = co_await mu.Lock(k);
    log.push_back(std::string(name) + "+");
    // Yield so that the others run while the lock is held.
    co_await net::post(io, net::use_awaitable);
    co_await net::post(io, net::use_awaitable);
    log.push_back(std::string(name) + "-");
  };
  net::co_spawn(io, worker("k", "a"), net::detached);
  net::co_spawn(io, worker("k", "b"), net::detached);
  net::co_spawn(io, worker("other", "c"), net::detached);
  io.run();
  // a and b never overlap; c runs alongside a.
  auto pos = [&](const std::string& s) {
    return std::find(log.begin(), log.end(), s) - log.begin();
  };
  EXPECT_LT(pos("a-"), pos("b+"));
  EXPECT_LT(pos("c+"), pos("a-"));
  EXPECT_FALSE(mu.locked("k"));
  EXPECT_FALSE(mu.locked("other"));
}

class SandboxesTest : public ::testing::Test {
 protected:
  SandboxesTest()
      : sandboxes_(io_.get_executor(), clock_, pool_, provider_, ids_,
                   [this](const e2b::WebhookEvent& e) { events_.push_back(e); },
                   {.expire_retry = 5s}) {
    EXPECT_TRUE(sandboxes_.Load().ok());
    sandboxes_.Start();
  }
  ~SandboxesTest() override {
    sandboxes_.Stop();
    Drain();
  }
  void Drain() {
    io_.restart();
    io_.poll();
  }
  std::string Create(int64_t timeout_s, bool auto_pause = false) {
    e2b::NewSandbox p;
    p.template_id = "hello";
    p.timeout_s = timeout_s;
    p.auto_pause = auto_pause;
    p.metadata = {{"projectId", "p1"}};
    auto r = RunSync(io_, sandboxes_.Create(p));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->sandbox_id : "";
  }
  std::vector<std::string> Types() const {
    std::vector<std::string> out;
    for (const auto& e : events_) out.push_back(e.type);
    return out;
  }

  net::io_context io_;
  FakeClock clock_;
  BlockingPool pool_{{.threads = 0}};
  provider::FakeProvider provider_;
  IdGenerator ids_{3};
  std::vector<e2b::WebhookEvent> events_;
  Sandboxes sandboxes_;
};

TEST_F(SandboxesTest, KillsExactlyAtTimeout) {
  const std::string id = Create(10);
  AdvanceAndRun(io_, clock_, 9900ms);
  EXPECT_TRUE(sandboxes_.Get(id).has_value());
  EXPECT_EQ(provider_.calls("kill"), 0);
  AdvanceAndRun(io_, clock_, 100ms);
  EXPECT_FALSE(sandboxes_.Get(id).has_value());
  EXPECT_EQ(provider_.calls("kill"), 1);
  ASSERT_EQ(Types().back(), "sandbox.lifecycle.killed");
  EXPECT_EQ(events_.back().kill_reason, "timeout");
  EXPECT_EQ(events_.back().sandbox_metadata.at("projectId"), "p1");
}

TEST_F(SandboxesTest, AutoPausePausesInsteadOfKilling) {
  const std::string id = Create(5, /*auto_pause=*/true);
  AdvanceAndRun(io_, clock_, 5s);
  ASSERT_TRUE(sandboxes_.Get(id).has_value());
  EXPECT_EQ(sandboxes_.Get(id)->state, SandboxState::kPaused);
  EXPECT_EQ(provider_.calls("kill"), 0);
  EXPECT_EQ(provider_.pause_calls(), 1);
  EXPECT_EQ(Types(),
            (std::vector<std::string>{"sandbox.lifecycle.created", "sandbox.lifecycle.paused"}));
  // Paused sandboxes do not time out again.
  AdvanceAndRun(io_, clock_, 1h);
  EXPECT_EQ(provider_.pause_calls(), 1);
}

TEST_F(SandboxesTest, TimeoutChangesReplanTheEnforcer) {
  const std::string a = Create(10);
  const std::string b = Create(60);
  AdvanceAndRun(io_, clock_, 5s);
  // Extend a, shorten b.
  ASSERT_TRUE(RunSync(io_, sandboxes_.SetTimeout(a, 100)).ok());
  ASSERT_TRUE(RunSync(io_, sandboxes_.SetTimeout(b, 1)).ok());
  AdvanceAndRun(io_, clock_, 1s);
  EXPECT_FALSE(sandboxes_.Get(b).has_value());
  AdvanceAndRun(io_, clock_, 98s);
  EXPECT_TRUE(sandboxes_.Get(a).has_value());
  AdvanceAndRun(io_, clock_, 1s);
  EXPECT_FALSE(sandboxes_.Get(a).has_value());
}

TEST_F(SandboxesTest, FailedTimeoutKillIsRetried) {
  const std::string id = Create(1);
  provider_.FailNext("kill", Unavailable("runc busy"));
  AdvanceAndRun(io_, clock_, 1s);
  EXPECT_TRUE(sandboxes_.Get(id).has_value());
  EXPECT_EQ(provider_.calls("kill"), 1);
  AdvanceAndRun(io_, clock_, 4900ms);
  EXPECT_EQ(provider_.calls("kill"), 1);
  AdvanceAndRun(io_, clock_, 100ms);
  EXPECT_EQ(provider_.calls("kill"), 2);
  EXPECT_FALSE(sandboxes_.Get(id).has_value());
}

TEST_F(SandboxesTest, ResumeStartsANewExecutionAndTimeout) {
  const std::string id = Create(10);
  const std::string first_execution = sandboxes_.Get(id)->execution_id;
  ASSERT_TRUE(RunSync(io_, sandboxes_.Pause(id)).ok());
  AdvanceAndRun(io_, clock_, 1h);
  auto r = RunSync(io_, sandboxes_.Resume(id, std::optional<int64_t>(20), std::nullopt));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->execution_id, first_execution);
  EXPECT_EQ(r->end_at - r->started_at, 20s);
  EXPECT_EQ(Types().back(), "sandbox.lifecycle.resumed");
  EXPECT_EQ(events_.back().sandbox_execution_id, r->execution_id);
  AdvanceAndRun(io_, clock_, 20s);
  EXPECT_FALSE(sandboxes_.Get(id).has_value());
}

TEST_F(SandboxesTest, LoadRecoversMetadataAndLifecycleFromTheProvider) {
  Create(300, /*auto_pause=*/true);
  const std::string paused = Create(30);
  ASSERT_TRUE(RunSync(io_, sandboxes_.Pause(paused)).ok());
  Sandboxes restarted(io_.get_executor(), clock_, pool_, provider_, ids_, nullptr, {});
  ASSERT_TRUE(restarted.Load().ok());
  auto all = restarted.All();
  ASSERT_EQ(all.size(), 2u);
  for (const auto& s : all) {
    EXPECT_EQ(s.metadata, (core::Metadata{{"projectId", "p1"}}));  // reserved keys hidden
    if (s.sandbox_id == paused) {
      EXPECT_EQ(s.state, SandboxState::kPaused);
      EXPECT_FALSE(s.auto_pause);
    } else {
      EXPECT_EQ(s.state, SandboxState::kRunning);
      EXPECT_TRUE(s.auto_pause);
      EXPECT_EQ(s.timeout, 300s);
      EXPECT_EQ(s.end_at - TruncateToMillis(clock_.Now()), 300s);
    }
  }
}

TEST_F(SandboxesTest, AutoResumeAndInternetAccessReachTheProviderAndSurviveARestart) {
  e2b::NewSandbox p;
  p.template_id = "hello";
  p.timeout_s = 60;
  p.auto_pause = true;
  p.auto_resume = true;
  p.allow_internet_access = false;
  auto created = RunSync(io_, sandboxes_.Create(p, ApiVersion::kV2));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->auto_resume);
  EXPECT_EQ(created->allow_internet_access, false);
  EXPECT_EQ(provider_.last_create().allow_internet_access, false);
  // Not said: passed on as not said.
  e2b::NewSandbox plain;
  plain.template_id = "hello";
  ASSERT_TRUE(RunSync(io_, sandboxes_.Create(plain, ApiVersion::kV2)).ok());
  EXPECT_EQ(provider_.last_create().allow_internet_access, std::nullopt);

  Sandboxes restarted(io_.get_executor(), clock_, pool_, provider_, ids_, nullptr, {});
  ASSERT_TRUE(restarted.Load().ok());
  auto again = restarted.Get(created->sandbox_id);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->auto_resume);
  EXPECT_TRUE(again->auto_pause);
  EXPECT_EQ(again->allow_internet_access, false);
  EXPECT_EQ(again->metadata, core::Metadata{});  // reserved keys hidden
}

TEST_F(SandboxesTest, WakeForTrafficResumesOnlyAutoResumeSandboxesAndOnce) {
  e2b::NewSandbox p;
  p.template_id = "hello";
  p.timeout_s = 30;
  p.auto_pause = true;
  p.auto_resume = true;
  const std::string lazy = RunSync(io_, sandboxes_.Create(p))->sandbox_id;
  const std::string plain = Create(30, /*auto_pause=*/true);
  ASSERT_TRUE(RunSync(io_, sandboxes_.Pause(lazy)).ok());
  ASSERT_TRUE(RunSync(io_, sandboxes_.Pause(plain)).ok());

  EXPECT_EQ(RunSync(io_, sandboxes_.WakeForTraffic(plain)).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(RunSync(io_, sandboxes_.WakeForTraffic("nosuch")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(provider_.calls("resume"), 0);

  // Three requests at once: one resume; all get the running sandbox.
  std::vector<std::optional<Result<SandboxRecord>>> woken(3);
  for (int i = 0; i < 3; ++i) {
    net::co_spawn(io_, sandboxes_.WakeForTraffic(lazy),
                  [&woken, i](std::exception_ptr, Result<SandboxRecord> r) { woken[i] = r; });
  }
  Drain();
  EXPECT_EQ(provider_.calls("resume"), 1);
  for (const auto& w : woken) {
    ASSERT_TRUE(w.has_value() && w->ok());
    EXPECT_EQ((*w)->state, SandboxState::kRunning);
  }
  EXPECT_EQ(Types().back(), "sandbox.lifecycle.resumed");
  // Resumed for traffic: at least 300 s to live (E2B's minimum), and the
  // timeout enforcer pauses it again afterwards (it keeps autoPause).
  EXPECT_EQ(sandboxes_.Get(lazy)->end_at - sandboxes_.Get(lazy)->started_at, 300s);
  AdvanceAndRun(io_, clock_, 300s);
  EXPECT_EQ(sandboxes_.Get(lazy)->state, SandboxState::kPaused);
  EXPECT_TRUE(sandboxes_.Get(lazy)->auto_resume);
}

TEST_F(SandboxesTest, VanishedSandboxIsDroppedWithAKilledEvent) {
  const std::string id = Create(60);
  provider_.Vanish(id);
  auto s = RunSync(io_, sandboxes_.Pause(id));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_FALSE(sandboxes_.Get(id).has_value());
  EXPECT_EQ(Types().back(), "sandbox.lifecycle.killed");
  EXPECT_EQ(events_.back().kill_reason, "unknown");
}

}  // namespace
}  // namespace sbx::runtime_api
