#include "lifecycle/lifecycle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>

#include "lifecycle/testing.h"

namespace sbx::lifecycle {
namespace {

using namespace std::chrono_literals;
using core::EventSource;
using core::EventType;
using core::LifecycleEvent;
using core::SandboxStatus;
using testing::Harness;
using testing::RunSync;

core::Sandbox CreateRunning(Harness& h, const std::string& project) {
  auto r = RunSync(h.io, h.lifecycle.Create(project, {}));
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  return r->sandbox;
}

TEST(LifecycleTest, CreateGivesRunningSandboxWithPauseAt) {
  Harness h;
  core::Sandbox s = CreateRunning(h, "p1");
  EXPECT_EQ(s.status, SandboxStatus::kRunning);
  EXPECT_EQ(s.sandbox_id, "fake1");
  EXPECT_EQ(s.template_name, "hello");
  EXPECT_EQ(*core::PauseAt(s), s.last_activity_at + 180s);
  EXPECT_EQ(s.metadata.at("projectId"), "p1");
  // A second create returns the live one.
  auto again = RunSync(h.io, h.lifecycle.Create("p1", {}));
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->sandbox.sandbox_id, "fake1");
  EXPECT_EQ(h.provider.calls("create"), 1);
  // Stored, with history.
  EXPECT_EQ(*h.store->GetSandbox("p1"), s);
  auto hist = h.store->ListHistory("p1", 10);
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[0].type, "created");
  EXPECT_EQ((*hist)[1].type, "create_requested");
}

TEST(LifecycleTest, CreateFailureLeavesKilledWithLastError) {
  Harness h;
  h.provider.FailNext("create", Unavailable("no capacity"));
  auto r = RunSync(h.io, h.lifecycle.Create("p1", {}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  auto s = h.lifecycle.Get("p1");
  EXPECT_EQ(s->status, SandboxStatus::kKilled);
  ASSERT_TRUE(s->last_error.has_value());
  EXPECT_EQ(s->last_error->code, "create_failed");
}

TEST(LifecycleTest, UnknownTemplateChangesNothing) {
  Harness h;
  auto r = RunSync(h.io, h.lifecycle.Create("p1", {.template_name = "missing"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(h.lifecycle.Get("p1").ok());
  EXPECT_FALSE(h.store->GetSandbox("p1").ok());
  EXPECT_EQ(h.provider.calls("create"), 0);
}

TEST(LifecycleTest, ProviderEventOlderThanLatestActivityStillApplies) {
  Harness h;
  core::Sandbox s = CreateRunning(h, "p1");
  // E2B paused it on its own (auto-pause) just before our latest activity.
  h.clock.Advance(10s);
  const SystemTime paused_at = h.clock.Now();
  h.clock.Advance(1s);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("p1")).ok());
  LifecycleEvent e;
  e.id = "auto-pause";
  e.type = EventType::kPaused;
  e.source = EventSource::kWebhook;
  e.timestamp = paused_at;
  e.sandbox_id = s.sandbox_id;
  auto r = RunSync(h.io, h.lifecycle.Apply(e));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, Outcome::kApplied);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
}

TEST(LifecycleTest, WakeOfKilledKeepsMetadata) {
  Harness h;
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("p1", {.metadata = {{"team", "a"}}})).ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Kill("p1")).ok());
  (void)RunSync(h.io, h.lifecycle.Wake("p1"));
  h.Drain();
  auto s = h.lifecycle.Get("p1");
  EXPECT_EQ(s->status, SandboxStatus::kRunning);
  EXPECT_EQ(s->metadata.at("team"), "a");
}

TEST(LifecycleTest, ReconcileLeavesYoungTransitionsAlone) {
  Harness h;
  CreateRunning(h, "pausing");
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Apply({.id = "x", .type = EventType::kPauseRequested,
                                               .timestamp = h.clock.Now(),
                                               .project_id = "pausing"})).ok());
  EXPECT_EQ(*RunSync(h.io, h.lifecycle.Reconcile(10s)), 0);
  EXPECT_EQ(h.lifecycle.Get("pausing")->status, SandboxStatus::kPausing);
  h.clock.Advance(11s);
  EXPECT_EQ(*RunSync(h.io, h.lifecycle.Reconcile(10s)), 1);
  EXPECT_EQ(h.lifecycle.Get("pausing")->status, SandboxStatus::kRunning);
}

TEST(LifecycleTest, RejectsNonPositiveIdleTimeout) {
  Harness h;
  auto r = RunSync(h.io, h.lifecycle.Create("p1", {.idle_timeout_s = 0}));
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(h.lifecycle.Get("p1").ok());
}

TEST(LifecycleTest, PauseThenWakeResumesSameSandbox) {
  Harness h;
  CreateRunning(h, "p1");
  auto p = RunSync(h.io, h.lifecycle.Pause("p1"));
  EXPECT_EQ(p->status, SandboxStatus::kPausing);
  h.Drain();
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  h.clock.Advance(10min);
  auto w = RunSync(h.io, h.lifecycle.Wake("p1"));
  EXPECT_EQ(w->status, SandboxStatus::kStarting);
  h.Drain();
  auto s = h.lifecycle.Get("p1");
  EXPECT_EQ(s->status, SandboxStatus::kRunning);
  EXPECT_EQ(s->sandbox_id, "fake1");
  EXPECT_EQ(s->last_activity_at, TruncateToMillis(h.clock.Now()));
  EXPECT_EQ(h.provider.calls("resume"), 1);
}

TEST(LifecycleTest, ConcurrentWakesMakeOneResume) {
  Harness h;
  CreateRunning(h, "p1");
  (void)RunSync(h.io, h.lifecycle.Pause("p1"));
  h.Drain();
  std::vector<Result<core::Sandbox>> results;
  for (int i = 0; i < 5; ++i) {
    net::co_spawn(h.io, h.lifecycle.Wake("p1"),
                  [&](std::exception_ptr, Result<core::Sandbox> r) { results.push_back(r); });
  }
  h.Drain();
  ASSERT_EQ(results.size(), 5u);
  for (auto& r : results) EXPECT_TRUE(r.ok());
  EXPECT_EQ(h.provider.calls("resume"), 1);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
}

TEST(LifecycleTest, WakeOfKilledCreatesAFreshSandbox) {
  Harness h;
  CreateRunning(h, "p1");
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Kill("p1")).ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
  EXPECT_EQ(h.provider.size(), 0u);
  (void)RunSync(h.io, h.lifecycle.Wake("p1"));
  h.Drain();
  auto s = h.lifecycle.Get("p1");
  EXPECT_EQ(s->status, SandboxStatus::kRunning);
  EXPECT_EQ(s->sandbox_id, "fake2");
}

TEST(LifecycleTest, WakeWhilePausingIsAClearConflict) {
  Harness h;
  CreateRunning(h, "p1");
  // A pause claimed but not finished (the provider call is still running).
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Apply({.id = "x", .type = EventType::kPauseRequested,
                                               .timestamp = h.clock.Now(), .project_id = "p1"}))
                  .ok());
  auto w = RunSync(h.io, h.lifecycle.Wake("p1"));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(h.provider.calls("resume"), 0);
}

TEST(LifecycleTest, UnknownProjectIsNotFoundEverywhere) {
  Harness h;
  EXPECT_EQ(h.lifecycle.Get("x").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(RunSync(h.io, h.lifecycle.Wake("x")).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(RunSync(h.io, h.lifecycle.Pause("x")).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(RunSync(h.io, h.lifecycle.Kill("x")).code(), StatusCode::kNotFound);
  EXPECT_EQ(RunSync(h.io, h.lifecycle.RecordActivity("x")).code(), StatusCode::kNotFound);
}

TEST(LifecycleTest, ActivityIsDurableAndMovesPauseAt) {
  Harness h;
  CreateRunning(h, "p1");
  h.clock.Advance(100s);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("p1")).ok());
  auto stored = h.store->GetSandbox("p1");
  EXPECT_EQ(stored->last_activity_at, TruncateToMillis(h.clock.Now()));
  EXPECT_EQ(*core::PauseAt(*stored), TruncateToMillis(h.clock.Now()) + 180s);
}

TEST(LifecycleTest, PauseIfIdleHonoursDeadlineAndActivity) {
  Harness h;
  CreateRunning(h, "p1");
  h.clock.Advance(179s);
  EXPECT_EQ(RunSync(h.io, h.lifecycle.PauseIfIdle("p1")).decision, PauseDecision::kNotDue);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("p1")).ok());
  h.clock.Advance(179s);
  EXPECT_EQ(RunSync(h.io, h.lifecycle.PauseIfIdle("p1")).decision, PauseDecision::kNotDue);
  h.clock.Advance(1s);
  EXPECT_EQ(RunSync(h.io, h.lifecycle.PauseIfIdle("p1")).decision, PauseDecision::kPaused);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  EXPECT_EQ(h.provider.pause_calls(), 1);
  // Already paused: nothing more happens.
  EXPECT_EQ(RunSync(h.io, h.lifecycle.PauseIfIdle("p1")).decision, PauseDecision::kNotDue);
  EXPECT_EQ(h.provider.pause_calls(), 1);
}

TEST(LifecycleTest, ActivityCommittedBeforeTheClaimWins) {
  Harness h;
  CreateRunning(h, "p1");
  h.clock.Advance(181s);
  // Another replica records activity straight into the store after our read
  // model last saw the record: the claim's compare-and-set must notice.
  core::Sandbox s = *h.store->GetSandbox("p1");
  core::Sandbox touched = s;
  touched.version += 1;
  touched.last_activity_at = TruncateToMillis(h.clock.Now());
  ASSERT_TRUE(h.store->CommitTransition(touched, s.version, "", std::nullopt).ok());
  EXPECT_EQ(RunSync(h.io, h.lifecycle.PauseIfIdle("p1")).decision, PauseDecision::kNotDue);
  EXPECT_EQ(h.provider.pause_calls(), 0);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
  EXPECT_EQ(h.lifecycle.Get("p1")->version, touched.version);
}

TEST(LifecycleTest, FailedPauseKeepsRunningWithLastError) {
  Harness h;
  CreateRunning(h, "p1");
  h.clock.Advance(3min);
  h.provider.FailNext("pause", Unavailable("runc pause sbx: exit 1"));
  PauseResult failed = RunSync(h.io, h.lifecycle.PauseIfIdle("p1"));
  EXPECT_EQ(failed.decision, PauseDecision::kFailed);
  EXPECT_NE(failed.error.find("runc pause"), std::string::npos);
  auto s = h.lifecycle.Get("p1");
  EXPECT_EQ(s->status, SandboxStatus::kRunning);
  ASSERT_TRUE(s->last_error.has_value());
  EXPECT_EQ(s->last_error->code, "pause_failed");
  // The retry succeeds and clears the error.
  EXPECT_EQ(RunSync(h.io, h.lifecycle.PauseIfIdle("p1")).decision, PauseDecision::kPaused);
  EXPECT_FALSE(h.lifecycle.Get("p1")->last_error.has_value());
}

LifecycleEvent Webhook(const std::string& id, EventType type, int64_t t_s,
                       const std::string& sandbox = "fake1") {
  LifecycleEvent e;
  e.id = id;
  e.type = type;
  e.raw_type = "sandbox.lifecycle." + std::string(core::EventTypeName(type));
  e.source = EventSource::kWebhook;
  e.timestamp = FromUnixMillis(1'767'225'600'000 + t_s * 1000);
  e.sandbox_id = sandbox;
  e.metadata = {{"projectId", "p1"}};
  return e;
}

TEST(LifecycleTest, WebhookCreatedAdoptsAndDuplicatesChangeNothing) {
  Harness h;
  auto r = RunSync(h.io, h.lifecycle.Apply(Webhook("e1", EventType::kCreated, 10)));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kApplied);
  auto s1 = *h.lifecycle.Get("p1");
  EXPECT_EQ(s1.status, SandboxStatus::kRunning);
  auto dup = RunSync(h.io, h.lifecycle.Apply(Webhook("e1", EventType::kCreated, 10)));
  EXPECT_EQ(dup->outcome, Outcome::kDuplicate);
  EXPECT_EQ(*h.lifecycle.Get("p1"), s1);
  auto hist = h.store->ListHistory("p1", 10);
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[0].outcome, "duplicate");
}

TEST(LifecycleTest, EventsForUnknownSandboxesAreOrphansAndUnknownTypesIgnored) {
  Harness h;
  auto r = RunSync(h.io, h.lifecycle.Apply(Webhook("e1", EventType::kPaused, 10, "nobody")));
  EXPECT_EQ(r->outcome, Outcome::kOrphan);
  (void)RunSync(h.io, h.lifecycle.Apply(Webhook("e2", EventType::kCreated, 10)));
  LifecycleEvent unknown = Webhook("e3", EventType::kUnknown, 11);
  unknown.raw_type = "sandbox.lifecycle.teleported";
  auto u = RunSync(h.io, h.lifecycle.Apply(unknown));
  EXPECT_EQ(u->outcome, Outcome::kIgnored);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
  EXPECT_EQ((*h.store->ListHistory("p1", 1))[0].outcome, "ignored");
}

// Every permutation of a realistic sequence, each event delivered twice, after
// sandboxd asked for the sandbox (record STARTING, provider id not yet known):
// the final state is the state of the newest event, and history counts every
// delivery.
TEST(LifecycleTest, AnyOrderAndDuplicatesConvergeOnNewestEvent) {
  const std::vector<LifecycleEvent> seq = {
      Webhook("a", EventType::kCreated, 10), Webhook("b", EventType::kPaused, 20),
      Webhook("c", EventType::kResumed, 30), Webhook("d", EventType::kUpdated, 40),
      Webhook("e", EventType::kPaused, 50),  Webhook("f", EventType::kKilled, 60)};
  const SandboxStatus after[] = {SandboxStatus::kRunning, SandboxStatus::kPaused,
                                 SandboxStatus::kRunning, SandboxStatus::kRunning,
                                 SandboxStatus::kPaused,  SandboxStatus::kKilled};
  std::vector<size_t> order = {0, 1, 2, 3, 4, 5};
  int permutations = 0;
  do {
    // Also drop the newest events, so non-terminal final states are checked.
    for (size_t n : {size_t{6}, size_t{5}, size_t{3}}) {
      Harness h;
      LifecycleEvent req{.id = "req", .type = EventType::kCreateRequested,
                         .timestamp = FromUnixMillis(1'767'225'600'000), .project_id = "p1"};
      ASSERT_TRUE(RunSync(h.io, h.lifecycle.Apply(req)).ok());
      for (size_t i : order) {
        if (i >= n) continue;
        for (int copy = 0; copy < 2; ++copy) {
          auto r = RunSync(h.io, h.lifecycle.Apply(seq[i]));
          ASSERT_TRUE(r.ok()) << r.error().ToString();
        }
      }
      auto s = h.lifecycle.Get("p1");
      ASSERT_TRUE(s.ok());
      EXPECT_EQ(s->status, after[n - 1]) << "n=" << n;
      EXPECT_EQ(s->sandbox_id, "fake1");
      EXPECT_EQ(s->last_event_at, seq[n - 1].timestamp);
      EXPECT_EQ(h.store->ListHistory("p1", 1000)->size(), 1 + 2 * n);
      EXPECT_EQ(*h.store->GetSandbox("p1"), *s);
    }
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 720);
}

TEST(LifecycleTest, StaleEventNeverMovesBackwards) {
  Harness h;
  (void)RunSync(h.io, h.lifecycle.Apply(Webhook("a", EventType::kCreated, 10)));
  (void)RunSync(h.io, h.lifecycle.Apply(Webhook("b", EventType::kPaused, 30)));
  auto r = RunSync(h.io, h.lifecycle.Apply(Webhook("c", EventType::kResumed, 20)));
  EXPECT_EQ(r->outcome, Outcome::kStale);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
}

// Invariant 14: a provider's timestamp never moves a record into the future
// or makes sandboxd's own results stale.
TEST(LifecycleTimeTest, AWebhookDatedBeyondTheAllowedSkewIsRefusedAndChangesNothing) {
  Harness h;
  CreateRunning(h, "p1");
  const core::Sandbox before = *h.lifecycle.Get("p1");
  LifecycleEvent far = Webhook("far", EventType::kResumed, 0);
  far.timestamp = *ParseRfc3339("2100-01-01T00:00:00Z");
  auto r = RunSync(h.io, h.lifecycle.Apply(far));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*h.lifecycle.Get("p1"), before);
  EXPECT_EQ(*h.store->GetSandbox("p1"), before);
  EXPECT_FALSE(*h.store->IsEventProcessed("far"));
  // Just past the skew is refused too; just inside it is applied.
  auto late = RunSync(h.io, h.lifecycle.Apply(Webhook("late", EventType::kUpdated, 301)));
  EXPECT_EQ(late.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(RunSync(h.io, h.lifecycle.Apply(Webhook("near", EventType::kUpdated, 299))).ok());
}

TEST(LifecycleTimeTest, AFutureDatedResumeNeverPutsActivityInTheFuture) {
  Harness h;
  CreateRunning(h, "p1");
  (void)RunSync(h.io, h.lifecycle.Pause("p1"));
  h.Drain();
  ASSERT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  // The provider's clock is four minutes ahead of ours.
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Apply(Webhook("r", EventType::kResumed, 240))).ok());
  auto s = *h.lifecycle.Get("p1");
  EXPECT_EQ(s.status, SandboxStatus::kRunning);
  EXPECT_EQ(s.last_activity_at, TruncateToMillis(h.clock.Now()));
  EXPECT_EQ(*core::PauseAt(s), TruncateToMillis(h.clock.Now()) + 180s);
}

TEST(LifecycleTimeTest, OwnResultsAreNeverStaleAgainstAProviderClockAhead) {
  Harness h;
  CreateRunning(h, "p1");
  // A webhook from a provider clock four minutes ahead sets the ordering mark.
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Apply(Webhook("u", EventType::kUpdated, 240))).ok());
  // Our own pause, dated by our clock, still lands.
  (void)RunSync(h.io, h.lifecycle.Pause("p1"));
  h.Drain();
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  // So does a wake, and a kill.
  (void)RunSync(h.io, h.lifecycle.Wake("p1"));
  h.Drain();
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Kill("p1")).ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
}

TEST(LifecycleTimeTest, TheReconcilerRepairsWhateverTheProviderClockSays) {
  Harness h;
  CreateRunning(h, "p1");
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Apply(Webhook("u", EventType::kUpdated, 290))).ok());
  h.provider.SetState("fake1", provider::ProviderState::kPaused);
  auto repaired = RunSync(h.io, h.lifecycle.Reconcile());
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(*repaired, 1);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
}

TEST(LifecycleTimeTest, AWebhookClearlyOlderThanAnOwnResultIsStale) {
  Harness h;
  h.clock.Advance(1h);
  CreateRunning(h, "p1");
  (void)RunSync(h.io, h.lifecycle.Pause("p1"));
  h.Drain();
  ASSERT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  // A delayed delivery of a resume that happened long before our pause.
  LifecycleEvent old = Webhook("old", EventType::kResumed, 0);
  old.timestamp = h.clock.Now() - 6min;
  auto r = RunSync(h.io, h.lifecycle.Apply(old));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, Outcome::kStale);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
}

TEST(LifecycleTest, ReconcileRepairsDrift) {
  Harness h;
  CreateRunning(h, "gone");
  CreateRunning(h, "paused-there");
  CreateRunning(h, "fine");
  h.provider.Vanish("fake1");
  h.provider.SetState("fake2", provider::ProviderState::kPaused);
  auto n = RunSync(h.io, h.lifecycle.Reconcile());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(h.lifecycle.Get("gone")->status, SandboxStatus::kKilled);
  EXPECT_EQ(h.lifecycle.Get("paused-there")->status, SandboxStatus::kPaused);
  EXPECT_EQ(h.lifecycle.Get("fine")->status, SandboxStatus::kRunning);
  EXPECT_EQ((*h.store->ListHistory("gone", 1))[0].source, "reconciler");
}

TEST(LifecycleTest, ReconcileDoesNothingOnFailedListing) {
  Harness h;
  CreateRunning(h, "p1");
  h.provider.Vanish("fake1");
  h.provider.FailNext("list", Unavailable("provider down"));
  EXPECT_FALSE(RunSync(h.io, h.lifecycle.Reconcile()).ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
}

TEST(LifecycleTest, ReconcileResolvesInterruptedTransitions) {
  Harness h;
  CreateRunning(h, "pausing");
  CreateRunning(h, "starting");
  // Leave one PAUSING (container still running) and one STARTING after a
  // wake whose resume never ran (container still paused), as a crash would.
  (void)RunSync(h.io, h.lifecycle.Apply({.id = "x", .type = EventType::kPauseRequested,
                                   .timestamp = h.clock.Now(), .project_id = "pausing"}));
  (void)RunSync(h.io, h.lifecycle.Pause("starting"));
  h.Drain();
  (void)RunSync(h.io, h.lifecycle.Apply({.id = "y", .type = EventType::kWakeRequested,
                                   .timestamp = h.clock.Now(), .project_id = "starting"}));
  ASSERT_EQ(h.lifecycle.Get("pausing")->status, SandboxStatus::kPausing);
  ASSERT_EQ(h.lifecycle.Get("starting")->status, SandboxStatus::kStarting);
  const SystemTime activity = h.lifecycle.Get("pausing")->last_activity_at;
  (void)RunSync(h.io, h.lifecycle.Reconcile());
  EXPECT_EQ(h.lifecycle.Get("pausing")->status, SandboxStatus::kRunning);
  // The interrupted pause leaves the idle clock where it was: still due.
  EXPECT_EQ(h.lifecycle.Get("pausing")->last_activity_at, activity);
  EXPECT_EQ(h.lifecycle.Get("pausing")->last_error->code, "pause_interrupted");
  EXPECT_EQ(h.lifecycle.Get("starting")->status, SandboxStatus::kPaused);
}

// Group commit. The store pool's one thread is held busy while events queue
// up, so the writer finds them all waiting and commits them as one batch.
struct BatchHarness {
  explicit BatchHarness(store::Store& s)
      : lifecycle(clock, store_pool, provider_pool, s, provider, ids, read_model, bus, metrics,
                  {}) {
    bus.Subscribe([this](const core::Sandbox& sb) { published.push_back(sb); });
  }

  // Starts every Apply while the store thread is blocked, then releases it
  // and waits for all results.
  std::vector<Result<ApplyResult>> ApplyTogether(const std::vector<LifecycleEvent>& events) {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    store_pool.Post([released] { released.wait(); });
    std::vector<std::optional<Result<ApplyResult>>> out(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      net::co_spawn(io, lifecycle.Apply(events[i]),
                    [&out, i](std::exception_ptr e, Result<ApplyResult> r) {
                      if (e) std::rethrow_exception(e);
                      out[i].emplace(std::move(r));
                    });
    }
    io.poll();  // every Apply is now queued behind the blocked thread
    release.set_value();
    auto done = [&] {
      return std::all_of(out.begin(), out.end(), [](const auto& r) { return r.has_value(); });
    };
    for (int i = 0; i < 5000 && !done(); ++i) {
      io.restart();
      io.run_for(std::chrono::milliseconds(1));
    }
    std::vector<Result<ApplyResult>> results;
    for (auto& r : out) {
      EXPECT_TRUE(r.has_value()) << "an Apply never completed";
      results.push_back(r ? std::move(*r) : Result<ApplyResult>(Internal("hung")));
    }
    return results;
  }

  net::io_context io;
  FakeClock clock;
  BlockingPool store_pool{{.threads = 1}};
  BlockingPool provider_pool{{.threads = 0}};
  provider::FakeProvider provider;
  IdGenerator ids{7};
  ReadModel read_model;
  EventBus bus;
  Metrics metrics;
  Lifecycle lifecycle;
  std::vector<core::Sandbox> published;
};

LifecycleEvent CreatedFor(const std::string& id, const std::string& project,
                          const std::string& sandbox, int64_t t_s) {
  LifecycleEvent e = Webhook(id, EventType::kCreated, t_s, sandbox);
  e.metadata = {{"projectId", project}};
  return e;
}

TEST(LifecycleBatchTest, QueuedEventsCommitTogetherAndSeeEachOther) {
  auto store = std::move(*store::SqliteStore::Open(":memory:"));
  BatchHarness h(*store);
  std::vector<LifecycleEvent> events;
  for (int i = 0; i < 20; ++i) {
    events.push_back(
        CreatedFor("c" + std::to_string(i), "p" + std::to_string(i), "sb" + std::to_string(i), 10));
  }
  // Later events of the batch build on earlier ones that are not committed
  // yet: a pause of a sandbox adopted in this batch, a replay of an event of
  // this batch, an older event, and an event for nobody.
  events.push_back(Webhook("x1", EventType::kPaused, 20, "sb3"));
  events.push_back(CreatedFor("c5", "p5", "sb5", 10));
  events.push_back(Webhook("x2", EventType::kResumed, 5, "sb3"));
  events.push_back(Webhook("x3", EventType::kPaused, 20, "nobody"));
  auto results = h.ApplyTogether(events);
  ASSERT_EQ(results.size(), 24u);
  for (auto& r : results) ASSERT_TRUE(r.ok()) << r.error().ToString();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(results[i]->outcome, Outcome::kApplied) << i;
  EXPECT_EQ(results[20]->outcome, Outcome::kApplied);
  EXPECT_EQ(results[20]->sandbox->status, SandboxStatus::kPaused);
  EXPECT_EQ(results[21]->outcome, Outcome::kDuplicate);
  EXPECT_EQ(results[22]->outcome, Outcome::kStale);
  EXPECT_EQ(results[23]->outcome, Outcome::kOrphan);
  // One transaction for all 24 events.
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_store_commits_total"), 1);
  // The read model and the store agree, and every change was published in order.
  EXPECT_EQ(h.lifecycle.Get("p3")->status, SandboxStatus::kPaused);
  EXPECT_EQ(*store->GetSandbox("p3"), *h.lifecycle.Get("p3"));
  EXPECT_EQ(h.read_model.All().size(), 20u);
  ASSERT_EQ(h.published.size(), 21u);
  EXPECT_EQ(h.published.back().project_id, "p3");
  EXPECT_EQ(h.published.back().status, SandboxStatus::kPaused);
  EXPECT_EQ(store->ListHistory("p3", 10)->size(), 3u);  // created, paused, stale resumed
  EXPECT_EQ(store->ListHistory("p5", 10)->size(), 2u);  // created, duplicate
}

// A store whose batches never commit: everything else goes to SQLite.
class CommitFailingStore final : public store::Store {
 public:
  explicit CommitFailingStore(store::Store& inner) : inner_(inner) {}
  Result<std::vector<core::Sandbox>> LoadSandboxes() override { return inner_.LoadSandboxes(); }
  Result<core::Sandbox> GetSandbox(const std::string& p) override { return inner_.GetSandbox(p); }
  Result<std::vector<core::Sandbox>> ListSandboxes(const store::ListOptions& o) override {
    return inner_.ListSandboxes(o);
  }
  Result<std::vector<core::Sandbox>> ListIdleDue(SystemTime now, int limit) override {
    return inner_.ListIdleDue(now, limit);
  }
  Status CommitTransition(const core::Sandbox& next, int64_t expected, const std::string& id,
                          const std::optional<store::HistoryRow>& h) override {
    return inner_.CommitTransition(next, expected, id, h);
  }
  Status RecordEvent(const std::string& id, const store::HistoryRow& h) override {
    return inner_.RecordEvent(id, h);
  }
  Status AppendHistory(const store::HistoryRow& h) override { return inner_.AppendHistory(h); }
  Result<bool> IsEventProcessed(const std::string& id) override {
    return inner_.IsEventProcessed(id);
  }
  Status Batch(const std::function<Status()>& body) override {
    // The body's writes really happen, then the commit is refused: the real
    // store rolls every one of them back.
    return inner_.Batch([&]() -> Status {
      Status s = body();
      return s.ok() ? Unavailable("disk went away during commit") : s;
    });
  }
  Result<std::vector<store::HistoryRow>> ListHistory(const std::string& p, int limit) override {
    return inner_.ListHistory(p, limit);
  }
  Result<int64_t> RecordJobRun(const store::JobRun& run) override {
    return inner_.RecordJobRun(run);
  }
  Result<std::vector<store::JobRun>> ListJobRuns(const std::string& job, int limit) override {
    return inner_.ListJobRuns(job, limit);
  }
  Status Ping() override { return inner_.Ping(); }

 private:
  store::Store& inner_;
};

TEST(LifecycleBatchTest, FailedCommitFailsEveryEventOfTheBatchAndChangesNothing) {
  auto sqlite = std::move(*store::SqliteStore::Open(":memory:"));
  CommitFailingStore store(*sqlite);
  BatchHarness h(store);
  auto results = h.ApplyTogether({CreatedFor("c1", "p1", "sb1", 10),
                                  Webhook("x1", EventType::kPaused, 20, "sb1"),
                                  CreatedFor("c2", "p2", "sb2", 10)});
  for (auto& r : results) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  }
  // Nothing reached the read model, the bus or the database; the events can
  // be delivered again.
  EXPECT_TRUE(h.read_model.All().empty());
  EXPECT_TRUE(h.published.empty());
  EXPECT_TRUE(sqlite->LoadSandboxes()->empty());
  EXPECT_FALSE(*sqlite->IsEventProcessed("c1"));
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_store_commits_total"), 0);
}

TEST(LifecycleBatchTest, LoneEventIsWrittenWithoutWaitingForOthers) {
  auto store = std::move(*store::SqliteStore::Open(":memory:"));
  BatchHarness h(*store);
  for (int i = 0; i < 3; ++i) {
    std::optional<Result<ApplyResult>> out;
    net::co_spawn(h.io,
                  h.lifecycle.Apply(CreatedFor("c" + std::to_string(i), "p" + std::to_string(i),
                                               "sb" + std::to_string(i), 10)),
                  [&](std::exception_ptr, Result<ApplyResult> r) { out.emplace(std::move(r)); });
    for (int n = 0; n < 5000 && !out; ++n) {
      h.io.restart();
      h.io.run_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(out.has_value());
    ASSERT_TRUE(out->ok());
  }
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_store_commits_total"), 3);
}

}  // namespace
}  // namespace sbx::lifecycle
