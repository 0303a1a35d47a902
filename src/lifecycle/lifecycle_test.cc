// Lifecycle on the test harness: create, pause, wake, activity, events in any
// order, provider clocks, reconcile (group commit: lifecycle_batch_test.cc).
#include "lifecycle/lifecycle_test_support.h"
#include "store/testing/forwarding_store.h"

namespace sbx::lifecycle {
namespace {

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
  // Wake takes the project by reference and runs after co_spawn returns: the
  // string must outlive the spawned calls (a "p1" temporary would not).
  const std::string project = "p1";
  for (int i = 0; i < 5; ++i) {
    net::co_spawn(h.io, h.lifecycle.Wake(project),
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

TEST(LifecycleTest, WakeRecordsItsSourceAndCanRefuseToRecreateAKilledSandbox) {
  Harness h;
  CreateRunning(h, "p1");
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Pause("p1")).ok());
  h.Drain();
  auto woken = RunSync(h.io, h.lifecycle.Wake("p1", core::EventSource::kPreview, false));
  ASSERT_TRUE(woken.ok()) << woken.status().ToString();
  h.Drain();
  auto history = RunSync(h.io, h.lifecycle.History("p1", 2));
  ASSERT_TRUE(history.ok());
  EXPECT_EQ((*history)[0].type, "resumed");
  EXPECT_EQ((*history)[0].source, "preview");
  EXPECT_EQ((*history)[1].type, "wake_requested");
  EXPECT_EQ((*history)[1].source, "preview");

  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Kill("p1")).ok());
  auto refused = RunSync(h.io, h.lifecycle.Wake("p1", core::EventSource::kPreview, false));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  h.Drain();
  EXPECT_EQ(h.provider.calls("create"), 1) << "no new sandbox";
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
}

TEST(LifecycleTest, ActivityIsCountedBySource) {
  Harness h;
  CreateRunning(h, "p1");
  h.clock.Advance(1s);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("p1", core::EventSource::kPreview)).ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("p1", core::EventSource::kPreview)).ok());
  h.clock.Advance(1s);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("p1")).ok());
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_activity_total", {{"source", "preview"}}), 1)
      << "the second one in the same millisecond needs no write";
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_activity_total", {{"source", "api"}}), 1);
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

TEST(LifecycleTest, HoldsAreStoredWithHistoryAndBounded) {
  Harness h({.max_hold_ttl = 1h, .max_holds = 2});
  CreateRunning(h, "p1");
  auto held = RunSync(h.io, h.lifecycle.PlaceHold("p1", "build", 10min));
  ASSERT_TRUE(held.ok()) << held.error().ToString();
  const SystemTime until = TruncateToMillis(h.clock.Now() + 10min);
  EXPECT_EQ(held->holds, (core::Holds{{"build", until}}));
  // Durable (a restart or another replica reads it back) and in history.
  EXPECT_EQ(h.store->GetSandbox("p1")->holds, held->holds);
  EXPECT_EQ(*core::PauseAt(*h.store->GetSandbox("p1")), until);
  EXPECT_EQ(h.store->ListHistory("p1", 1)->front().type, "hold_placed");
  // Bounds: ttl within (0, max_hold_ttl], at most max_holds live holds.
  EXPECT_EQ(RunSync(h.io, h.lifecycle.PlaceHold("p1", "x", 0s)).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RunSync(h.io, h.lifecycle.PlaceHold("p1", "x", 1h + 1s)).error().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.PlaceHold("p1", "test", 1h)).ok());
  auto third = RunSync(h.io, h.lifecycle.PlaceHold("p1", "deploy", 1h));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code(), StatusCode::kFailedPrecondition);
  // Renewing one of them is not a third.
  EXPECT_TRUE(RunSync(h.io, h.lifecycle.PlaceHold("p1", "build", 1h)).ok());
  // An expired hold no longer counts.
  h.clock.Advance(1h);
  EXPECT_TRUE(RunSync(h.io, h.lifecycle.PlaceHold("p1", "deploy", 1min)).ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->holds.size(), 1u);
  EXPECT_EQ(RunSync(h.io, h.lifecycle.PlaceHold("nope", "build", 1min)).error().code(),
            StatusCode::kNotFound);
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

// A captured webhook replayed again and again: each replay is a duplicate,
// but only the first gets a history row, so replays cannot grow the history.
TEST(LifecycleTest, ReplaysOfOneEventAddOneDuplicateRow) {
  Harness h;
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Apply(Webhook("e1", EventType::kCreated, 10))).ok());
  for (int i = 0; i < 5; ++i) {
    auto dup = RunSync(h.io, h.lifecycle.Apply(Webhook("e1", EventType::kCreated, 10)));
    ASSERT_TRUE(dup.ok());
    EXPECT_EQ(dup->outcome, Outcome::kDuplicate);
  }
  auto hist = h.store->ListHistory("p1", 20);
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[0].outcome, "duplicate");
  EXPECT_EQ((*hist)[1].outcome, "applied");
}

// A sandbox is created once: the provider's `created` for a sandbox that
// was killed since, delivered late, is stale and does not bring it back.
TEST(LifecycleTest, ALateCreatedForAKilledSandboxIsStale) {
  Harness h;
  const std::string id = CreateRunning(h, "p1").sandbox_id;
  h.clock.Advance(5s);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Kill("p1")).ok());
  LifecycleEvent late = Webhook("e-late", EventType::kCreated, 0, id);
  late.timestamp = h.clock.Now() - 4s;  // sent before the kill, delivered after it
  auto r = RunSync(h.io, h.lifecycle.Apply(late));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kStale);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
  // A new sandbox's `created` is still adopted.
  auto other = RunSync(h.io, h.lifecycle.Apply(Webhook("e-new", EventType::kCreated, 9, "sbx9")));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->outcome, Outcome::kApplied);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
  EXPECT_EQ(h.lifecycle.Get("p1")->sandbox_id, "sbx9");
}

// A late `created` for a sandbox the project no longer has is stale, even
// when the record would adopt a new sandbox (STARTING without one yet, or no
// record at all after a forget).
TEST(LifecycleTest, ALateCreatedForAReplacedSandboxIsNotAdopted) {
  Harness h;
  const std::string old_id = CreateRunning(h, "p1").sandbox_id;
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Kill("p1")).ok());
  h.clock.Advance(1s);
  LifecycleEvent again = Webhook("cr-1", EventType::kCreateRequested, 0, "");
  again.source = core::EventSource::kApi;
  again.project_id = "p1";
  again.timestamp = h.clock.Now();
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Apply(again)).ok());
  ASSERT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kStarting);
  ASSERT_EQ(h.lifecycle.Get("p1")->sandbox_id, "");
  LifecycleEvent late = Webhook("e-late", EventType::kCreated, 0, old_id);
  late.metadata = {{"projectId", "p1"}};
  late.timestamp = h.clock.Now();
  auto r = RunSync(h.io, h.lifecycle.Apply(late));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kStale);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kStarting);
  EXPECT_EQ(h.lifecycle.Get("p1")->sandbox_id, "");
  // Killed and forgotten: the late `created` does not bring the record back.
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Kill("p1")).ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Forget("p1", false)).ok());
  late.id = "e-later";
  auto gone = RunSync(h.io, h.lifecycle.Apply(late));
  ASSERT_TRUE(gone.ok()) << gone.error().ToString();
  EXPECT_EQ(gone->outcome, Outcome::kStale);
  EXPECT_EQ(h.lifecycle.Get("p1").status().code(), StatusCode::kNotFound);
}

// A kill that lands while the provider is still making the sandbox: the
// create removes what it made, the record names the removed sandbox, and
// that sandbox's own `created` webhook, arriving afterwards, is stale
// instead of showing the project RUNNING.
TEST(LifecycleTest, ASandboxKilledWhileBeingMadeStaysKilledWhenItsCreatedWebhookArrives) {
  ThreadedHarness h;
  const std::string project = "p1";  // the coroutines keep a reference to it
  std::optional<Result<CreateResult>> created;
  std::promise<void> release =
      h.Hold("create", [&] { h.Start(h.lifecycle.Create(project, {}), created); });
  ASSERT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kStarting);
  ASSERT_TRUE(h.Drive(h.lifecycle.Kill(project)).ok());  // nothing to kill at the provider yet
  release.set_value();
  h.RunUntil([&] { return created.has_value(); });
  ASSERT_TRUE(created.has_value());
  ASSERT_FALSE(created->ok());
  EXPECT_EQ(created->error().code(), StatusCode::kFailedPrecondition)
      << created->error().ToString();
  EXPECT_EQ(h.provider.size(), 0u);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
  EXPECT_EQ(h.lifecycle.Get("p1")->sandbox_id, "fake1");

  LifecycleEvent late = Webhook("e-late", EventType::kCreated, 0, "fake1");
  late.timestamp = h.clock.Now();
  auto r = h.Drive(h.lifecycle.Apply(late));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kStale);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
}

// Kill, then create again, while the first create is still at the provider:
// the first sandbox is removed, the second is the project's, and nothing is
// left running unrecorded.
TEST(LifecycleTest, CreateKillCreateKeepsTheSecondSandboxAndRemovesTheFirst) {
  ThreadedHarness h;
  const std::string project = "p1";
  std::optional<Result<CreateResult>> first;
  std::promise<void> release =
      h.Hold("create", [&] { h.Start(h.lifecycle.Create(project, {}), first); });
  ASSERT_TRUE(h.Drive(h.lifecycle.Kill(project)).ok());
  std::optional<Result<CreateResult>> second;
  h.Start(h.lifecycle.Create(project, {}), second);
  h.RunUntil([&] { return second.has_value(); });  // made on the other provider thread
  release.set_value();
  h.RunUntil([&] { return first.has_value(); });
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_FALSE(first->ok()) << "the killed create reported success";
  ASSERT_TRUE(second->ok()) << second->error().ToString();
  EXPECT_TRUE((*second)->created);
  const std::string kept = (*second)->sandbox.sandbox_id;
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
  EXPECT_EQ(h.lifecycle.Get("p1")->sandbox_id, kept);
  EXPECT_EQ(h.provider.size(), 1u) << "a sandbox runs that no record names";
  EXPECT_TRUE(h.provider.Get(kept).ok());
}

// A sandbox made outside sandboxd's API (its `created` webhook names a
// project with no record) gets the server's idle timeout, not 180 s.
TEST(LifecycleTest, ARecordMadeByACreatedWebhookTakesTheServersIdleTimeout) {
  Harness h({.default_idle_timeout_s = 40});
  auto r = RunSync(h.io, h.lifecycle.Apply(Webhook("e1", EventType::kCreated, 0, "sbx1")));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->outcome, Outcome::kApplied);
  EXPECT_EQ(h.lifecycle.Get("p1")->idle_timeout_s, 40);
}

// A restart (kill, then create again): while the new create is at the
// provider the record is STARTING with no sandbox, and a late webhook of the
// killed sandbox, carrying the project's id as every event of it does, is
// stale. Before, it wrote the dead sandbox into the record: `killed` made the
// create fail, `updated` or `resumed` made the new sandbox's own `created`
// stale.
TEST(LifecycleTest, ALateEventOfTheKilledSandboxDoesNotTouchTheNextCreate) {
  for (EventType type :
       {EventType::kKilled, EventType::kUpdated, EventType::kResumed, EventType::kPaused}) {
    SCOPED_TRACE(core::EventTypeName(type));
    ThreadedHarness h;
    const std::string project = "p1";
    auto first = h.Drive(h.lifecycle.Create(project, {}));
    ASSERT_TRUE(first.ok()) << first.error().ToString();
    const std::string old_id = first->sandbox.sandbox_id;
    ASSERT_TRUE(h.Drive(h.lifecycle.Kill(project)).ok());
    h.clock.Advance(1s);
    std::optional<Result<CreateResult>> created;
    std::promise<void> release =
        h.Hold("create", [&] { h.Start(h.lifecycle.Create(project, {}), created); });
    ASSERT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kStarting);
    LifecycleEvent late = Webhook("late", type, 0, old_id);
    late.project_id = "p1";  // as e2b::ParseWebhookEvent sets it from the metadata
    late.timestamp = h.clock.Now();
    auto r = h.Drive(h.lifecycle.Apply(late));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->outcome, Outcome::kStale);
    EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kStarting);
    EXPECT_EQ(h.lifecycle.Get("p1")->sandbox_id, "");
    release.set_value();
    h.RunUntil([&] { return created.has_value(); });
    ASSERT_TRUE(created.has_value());
    ASSERT_TRUE(created->ok()) << created->error().ToString();
    const std::string fresh = (*created)->sandbox.sandbox_id;
    EXPECT_NE(fresh, old_id);
    EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
    EXPECT_EQ(h.lifecycle.Get("p1")->sandbox_id, fresh);
    EXPECT_TRUE(h.provider.Get(fresh).ok());
  }
}

// Kill and forget while the create is at the provider: its sandbox goes too.
TEST(LifecycleTest, CreateOfAProjectKilledAndForgottenMeanwhileRemovesItsSandbox) {
  ThreadedHarness h;
  const std::string project = "p1";
  std::optional<Result<CreateResult>> created;
  std::promise<void> release =
      h.Hold("create", [&] { h.Start(h.lifecycle.Create(project, {}), created); });
  ASSERT_TRUE(h.Drive(h.lifecycle.Kill(project)).ok());
  ASSERT_TRUE(h.Drive(h.lifecycle.Forget(project, true)).ok());
  release.set_value();
  h.RunUntil([&] { return created.has_value(); });
  ASSERT_TRUE(created.has_value());
  EXPECT_FALSE(created->ok());
  EXPECT_EQ(h.provider.size(), 0u) << "the forgotten project's sandbox still runs";
  EXPECT_FALSE(h.lifecycle.Get("p1").ok());
}

// A kill that reaches the provider while a wake's resume is on its way: the
// resume finds the sandbox gone, and the wake must not make a new one for
// a project that was just killed.
TEST(LifecycleTest, AKillDuringAWakeIsNotUndoneByARecreate) {
  ThreadedHarness h;
  const std::string project = "p1";
  ASSERT_TRUE(h.Drive(h.lifecycle.Create(project, {})).ok());
  ASSERT_TRUE(h.Drive(h.lifecycle.Pause(project)).ok());
  h.RunUntil([&] { return h.lifecycle.Get("p1")->status == SandboxStatus::kPaused; });
  ASSERT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  std::optional<Result<core::Sandbox>> woke;
  std::promise<void> release = h.Hold("resume", [&] {
    h.Start(h.lifecycle.Wake(project, EventSource::kApi, false), woke);
  });
  ASSERT_TRUE(h.Drive(h.lifecycle.Kill(project)).ok());
  release.set_value();
  h.RunUntil([&] { return !h.lifecycle.busy(); });
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
  EXPECT_EQ(h.provider.calls("create"), 1) << "the wake made a new sandbox for a killed project";
  EXPECT_EQ(h.provider.size(), 0u);
}

// Every provider sandbox carries sandboxd's marker, so the orphan reaper
// can remove one that no record names, with any provider; the record's
// metadata stays the project's own.
TEST(LifecycleTest, ProviderSandboxesCarryTheMarkerButRecordsDoNot) {
  Harness h;
  CreateOptions options;
  options.metadata = {{"team", "a"}};
  auto created = RunSync(h.io, h.lifecycle.Create("p1", options));
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const auto sent = h.provider.last_create().metadata;
  ASSERT_TRUE(sent.contains(provider::kCreateRequestIdKey));
  EXPECT_FALSE(sent.at(provider::kCreateRequestIdKey).empty());
  EXPECT_EQ(sent.at("team"), "a");
  const auto stored = h.lifecycle.Get("p1")->metadata;
  EXPECT_FALSE(stored.contains(provider::kCreateRequestIdKey));
  EXPECT_EQ(stored.at("team"), "a");
}

// What caches of a record check (the API's status bytes, the gateway's
// per-connection record): a record made again after a forget can repeat
// the version, not the version and updatedAt together.
TEST(ReadModelTest, UnchangedNeedsTheSameVersionAndUpdatedAt) {
  ReadModel model;
  core::Sandbox s;
  s.project_id = "p1";
  s.version = 3;
  s.updated_at = FromUnixMillis(1000);
  ASSERT_TRUE(model.Put(s));
  EXPECT_TRUE(model.Unchanged("p1", 3, FromUnixMillis(1000)));
  EXPECT_FALSE(model.Unchanged("p1", 2, FromUnixMillis(1000)));
  EXPECT_FALSE(model.Unchanged("p1", 3, FromUnixMillis(999)));
  EXPECT_FALSE(model.Unchanged("p2", 3, FromUnixMillis(1000)));
  ASSERT_TRUE(model.Remove("p1", 4));
  s.updated_at = FromUnixMillis(2000);  // made again, and at version 3 again
  ASSERT_TRUE(model.Put(s));
  EXPECT_FALSE(model.Unchanged("p1", 3, FromUnixMillis(1000)));
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

// A store that counts readiness pings and can be made to fail them.
class PingCountingStore final : public store::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status Ping() override {
    ++pings;
    return down ? Unavailable("the store is down") : ForwardingStore::Ping();
  }
  int pings = 0;
  bool down = false;
};

// Readiness is open to anyone: asks within a second of a ping share its
// answer, so a flood of /readyz costs the store (and the write path that
// shares its pool) a ping a second.
TEST(LifecycleTest, ReadinessAsksWithinASecondShareOnePing) {
  Harness h;
  PingCountingStore store(*h.store);
  ReadModel read_model;
  EventBus bus;
  Metrics metrics;
  Lifecycle lifecycle(h.clock, h.pool, h.pool, store, h.provider, h.ids, read_model, bus, metrics,
                      {});
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(RunSync(h.io, lifecycle.CheckStore()).ok());
  EXPECT_EQ(store.pings, 1);
  h.clock.Advance(Lifecycle::kStorePingReuse);
  store.down = true;
  EXPECT_EQ(RunSync(h.io, lifecycle.CheckStore()).code(), StatusCode::kUnavailable);
  EXPECT_EQ(RunSync(h.io, lifecycle.CheckStore()).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.pings, 2);
  store.down = false;
  h.clock.Advance(Lifecycle::kStorePingReuse);
  EXPECT_TRUE(RunSync(h.io, lifecycle.CheckStore()).ok());
  EXPECT_EQ(store.pings, 3);
}

}  // namespace
}  // namespace sbx::lifecycle
