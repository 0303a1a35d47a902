#include "lifecycle/reconcile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>

#include "lifecycle/lifecycle_test_support.h"

namespace sbx::lifecycle {
namespace {

using namespace std::chrono_literals;
using core::EventType;
using core::Sandbox;
using core::SandboxStatus;
using provider::ProviderSandbox;
using provider::ProviderState;

const SystemTime kNow = FromUnixMillis(1'767'225'600'000);

Sandbox Record(SandboxStatus status, std::string sandbox_id = "sbx1",
               SystemTime updated_at = kNow - 1h) {
  Sandbox s;
  s.project_id = "p1";
  s.sandbox_id = std::move(sandbox_id);
  s.status = status;
  s.updated_at = updated_at;
  return s;
}

ProviderSandbox At(ProviderState state, std::string id = "sbx1") {
  ProviderSandbox p;
  p.sandbox_id = std::move(id);
  p.state = state;
  p.url = "http://preview";
  return p;
}

TEST(PlanRepairTest, RecordsThatAgreeWithTheProviderNeedNothing) {
  const auto running = At(ProviderState::kRunning);
  const auto paused = At(ProviderState::kPaused);
  EXPECT_FALSE(PlanRepair(Record(SandboxStatus::kRunning), &running, kNow, 0s));
  EXPECT_FALSE(PlanRepair(Record(SandboxStatus::kPaused), &paused, kNow, 0s));
  EXPECT_FALSE(PlanRepair(Record(SandboxStatus::kKilled), nullptr, kNow, 0s));
}

TEST(PlanRepairTest, GoneAtTheProviderIsKilled) {
  auto plan = PlanRepair(Record(SandboxStatus::kRunning), nullptr, kNow, 0s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->type, EventType::kKilled);
  EXPECT_EQ(plan->sandbox_id, "sbx1");
}

TEST(PlanRepairTest, ACreateThatNeverGotASandboxFails) {
  auto plan = PlanRepair(Record(SandboxStatus::kStarting, ""), nullptr, kNow, 0s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->type, EventType::kCreateFailed);
  ASSERT_TRUE(plan->error);
  EXPECT_EQ(plan->error->code, "create_interrupted");
  // A record without a sandbox that is not being created has nothing to repair.
  EXPECT_FALSE(PlanRepair(Record(SandboxStatus::kPaused, ""), nullptr, kNow, 0s));
}

TEST(PlanRepairTest, AClaimThatNeverReachedTheProviderGoesBackToRunning) {
  const auto running = At(ProviderState::kRunning);
  auto plan = PlanRepair(Record(SandboxStatus::kPausing), &running, kNow, 0s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->type, EventType::kPauseFailed);
  EXPECT_EQ(plan->error->code, "pause_interrupted");
}

TEST(PlanRepairTest, FollowsTheProvidersState) {
  const auto running = At(ProviderState::kRunning, "sbx2");
  auto resumed = PlanRepair(Record(SandboxStatus::kPaused), &running, kNow, 0s);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->type, EventType::kResumed);
  EXPECT_EQ(resumed->sandbox_id, "sbx2");
  EXPECT_EQ(resumed->url, "http://preview");
  auto created = PlanRepair(Record(SandboxStatus::kStarting, ""), &running, kNow, 0s);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->type, EventType::kCreated);
  const auto paused = At(ProviderState::kPaused);
  auto pause = PlanRepair(Record(SandboxStatus::kRunning), &paused, kNow, 0s);
  ASSERT_TRUE(pause);
  EXPECT_EQ(pause->type, EventType::kPaused);
}

// Records restored from a backup name a sandbox that is gone, while the
// provider runs (or keeps paused) the project's newer one: that one is
// adopted with its id, whatever the two statuses say.
TEST(PlanRepairTest, AnotherSandboxOfTheProjectIsAdopted) {
  const auto newer = At(ProviderState::kRunning, "newer");
  auto adopt = PlanRepair(Record(SandboxStatus::kRunning), &newer, kNow, 0s);
  ASSERT_TRUE(adopt);
  EXPECT_EQ(adopt->type, EventType::kResumed);
  EXPECT_EQ(adopt->sandbox_id, "newer");
  EXPECT_EQ(adopt->url, "http://preview");
  const auto newer_paused = At(ProviderState::kPaused, "newer");
  auto paused = PlanRepair(Record(SandboxStatus::kPaused), &newer_paused, kNow, 0s);
  ASSERT_TRUE(paused);
  EXPECT_EQ(paused->type, EventType::kPaused);
  EXPECT_EQ(paused->sandbox_id, "newer");
  EXPECT_EQ(paused->url, "http://preview");  // not the gone sandbox's
}

TEST(PlanRepairTest, InFlightRecordsWithinTheGraceAreLeftAlone) {
  const auto running = At(ProviderState::kRunning);
  EXPECT_FALSE(
      PlanRepair(Record(SandboxStatus::kPausing, "sbx1", kNow - 9s), &running, kNow, 10s));
  EXPECT_TRUE(
      PlanRepair(Record(SandboxStatus::kPausing, "sbx1", kNow - 10s), &running, kNow, 10s));
  // The grace is for operations in flight only: a RUNNING record is repaired at once.
  EXPECT_TRUE(PlanRepair(Record(SandboxStatus::kRunning, "sbx1", kNow), nullptr, kNow, 10s));
}

// Failing a create whose sandbox is not listed (yet) undoes an operation that
// may still succeed elsewhere (an E2B create retries for up to a minute): it
// waits the create grace. Repairs that follow what the provider shows wait
// only the in-flight grace.
TEST(PlanRepairTest, ACreateWithNothingListedIsFailedOnlyAfterTheCreateGrace) {
  EXPECT_FALSE(
      PlanRepair(Record(SandboxStatus::kStarting, "", kNow - 30s), nullptr, kNow, 10s, 70s));
  auto failed =
      PlanRepair(Record(SandboxStatus::kStarting, "", kNow - 70s), nullptr, kNow, 10s, 70s);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->type, EventType::kCreateFailed);
  const auto running = At(ProviderState::kRunning);
  auto created =
      PlanRepair(Record(SandboxStatus::kStarting, "", kNow - 30s), &running, kNow, 10s, 70s);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->type, EventType::kCreated);
  const auto paused = At(ProviderState::kPaused);
  auto settled =
      PlanRepair(Record(SandboxStatus::kPausing, "sbx1", kNow - 30s), &paused, kNow, 10s, 70s);
  ASSERT_TRUE(settled);
  EXPECT_EQ(settled->type, EventType::kPaused);
}

// --- Orphans ---

ProviderSandbox Marked(std::string id, std::string project, SystemTime started_at) {
  ProviderSandbox p = At(ProviderState::kRunning, std::move(id));
  p.metadata = {{"projectId", std::move(project)}, {provider::kCreateRequestIdKey, "req-1"}};
  p.started_at = started_at;
  return p;
}

std::vector<std::string> Ids(const std::vector<ProviderSandbox>& v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.sandbox_id);
  return out;
}

TEST(PlanOrphansTest, KillsOnlyMarkedUnrecordedSandboxesPastTheGrace) {
  const std::vector<Sandbox> records = {Record(SandboxStatus::kRunning, "sbx1")};
  const std::vector<ProviderSandbox> listed = {
      Marked("sbx1", "p1", kNow - 1h),   // recorded
      Marked("sbx2", "p1", kNow - 1h),   // an older create's sandbox: orphan
      Marked("sbx3", "p2", kNow - 10min),  // exactly the grace: orphan
      Marked("sbx4", "p2", kNow - 9min),   // too young: maybe not recorded yet
  };
  EXPECT_EQ(Ids(PlanOrphans(records, listed, kNow, 10min)),
            (std::vector<std::string>{"sbx2", "sbx3"}));
  // A grace of zero switches the reaper off.
  EXPECT_TRUE(PlanOrphans(records, listed, kNow, 0s).empty());
}

// A record that says its sandbox was killed does not keep that sandbox
// alive: a create's sandbox whose removal failed is killed again.
TEST(PlanOrphansTest, AKilledRecordDoesNotProtectTheSandboxItNames) {
  const std::vector<Sandbox> records = {Record(SandboxStatus::kKilled, "sbx1")};
  EXPECT_EQ(Ids(PlanOrphans(records, {Marked("sbx1", "p1", kNow - 1h)}, kNow, 10min)),
            (std::vector<std::string>{"sbx1"}));
}

TEST(PlanOrphansTest, LeavesUnmarkedUnknownAgeAndInFlightCreatesAlone) {
  ProviderSandbox no_request_id = Marked("a", "p1", kNow - 1h);
  no_request_id.metadata.erase(provider::kCreateRequestIdKey);
  ProviderSandbox no_project = Marked("b", "p1", kNow - 1h);
  no_project.metadata.erase("projectId");
  ProviderSandbox no_start = Marked("c", "p1", SystemTime{});
  const ProviderSandbox creating = Marked("d", "p3", kNow - 1h);
  // p3's create has not recorded a sandbox yet: it may be about to adopt "d".
  // p4's record still names its killed sandbox while a new create runs.
  const ProviderSandbox replacing = Marked("e", "p4", kNow - 1h);
  const std::vector<Sandbox> records = {[] {
                                          Sandbox s = Record(SandboxStatus::kStarting, "");
                                          s.project_id = "p3";
                                          return s;
                                        }(),
                                        [] {
                                          Sandbox s = Record(SandboxStatus::kStarting, "old");
                                          s.project_id = "p4";
                                          return s;
                                        }()};
  EXPECT_TRUE(PlanOrphans(records, {no_request_id, no_project, no_start, creating, replacing},
                          kNow, 10min)
                  .empty());
}

TEST(ReconcileOrphansTest, ReconcileKillsOrphansAfterTheGraceAndCountsThem) {
  testing::Harness h({.orphan_grace = 10min});
  auto created = testing::RunSync(h.io, h.lifecycle.Create("p1", {}));
  ASSERT_TRUE(created.ok());
  // A create that timed out at the provider yet made a sandbox, and one that
  // is not sandboxd's (no request id).
  h.provider.Put(Marked("leaked", "p1", h.clock.Now()));
  ProviderSandbox foreign = Marked("foreign", "p9", h.clock.Now());
  foreign.metadata.erase(provider::kCreateRequestIdKey);
  h.provider.Put(foreign);

  h.clock.Advance(9min);
  ASSERT_TRUE(testing::RunSync(h.io, h.lifecycle.Reconcile()).ok());
  EXPECT_EQ(h.provider.calls("kill"), 0);

  h.clock.Advance(1min);
  ASSERT_TRUE(testing::RunSync(h.io, h.lifecycle.Reconcile()).ok());
  EXPECT_EQ(h.provider.calls("kill"), 1);
  const auto log = h.provider.log();
  EXPECT_NE(std::find(log.begin(), log.end(), "kill leaked"), log.end());
  EXPECT_TRUE(h.provider.Get("foreign").ok());
  EXPECT_TRUE(h.provider.Get(created->sandbox.sandbox_id).ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_orphans_killed_total", {}), 1);

  // Gone now: the next pass kills nothing more.
  ASSERT_TRUE(testing::RunSync(h.io, h.lifecycle.Reconcile()).ok());
  EXPECT_EQ(h.provider.calls("kill"), 1);
}

// After a restore: the record names a sandbox that no longer exists, and the
// provider runs the project's later one, with sandboxd's marker. It is the
// project's sandbox: adopted, not marked KILLED and then reaped as an orphan.
TEST(ReconcileOrphansTest, ARestoredRecordAdoptsTheProjectsMarkedSandboxInsteadOfReapingIt) {
  testing::Harness h({.orphan_grace = 10min});
  auto created = testing::RunSync(h.io, h.lifecycle.Create("p1", {}));
  ASSERT_TRUE(created.ok());
  h.provider.Vanish(created->sandbox.sandbox_id);
  // Two of the project's, marked: the newer is its sandbox; the older (a
  // leftover) stays an orphan for the reaper.
  h.provider.Put(Marked("later", "p1", h.clock.Now() + 20min));
  h.provider.Put(Marked("leftover", "p1", h.clock.Now() + 10min));
  ProviderSandbox foreign = Marked("foreign", "p2", h.clock.Now());
  foreign.metadata.erase(provider::kCreateRequestIdKey);
  h.provider.Put(foreign);
  h.clock.Advance(1h);
  auto repaired = testing::RunSync(h.io, h.lifecycle.Reconcile());
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(*repaired, 1);
  auto s = h.lifecycle.Get("p1");
  EXPECT_EQ(s->status, SandboxStatus::kRunning);
  EXPECT_EQ(s->sandbox_id, "later");
  EXPECT_EQ(h.provider.calls("kill"), 1);
  EXPECT_TRUE(h.provider.Get("later").ok());
  EXPECT_FALSE(h.provider.Get("leftover").ok());
}

// Unmarked, another project's sandbox is never the project's: the record's
// vanished sandbox makes it KILLED.
TEST(ReconcileOrphansTest, AnUnmarkedSandboxOfTheProjectIsNotAdopted) {
  testing::Harness h({.orphan_grace = 10min});
  auto created = testing::RunSync(h.io, h.lifecycle.Create("p1", {}));
  ASSERT_TRUE(created.ok());
  h.provider.Vanish(created->sandbox.sandbox_id);
  ProviderSandbox by_hand = Marked("by-hand", "p1", h.clock.Now());
  by_hand.metadata.erase(provider::kCreateRequestIdKey);
  h.provider.Put(by_hand);
  h.clock.Advance(1h);
  ASSERT_TRUE(testing::RunSync(h.io, h.lifecycle.Reconcile()).ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
  EXPECT_TRUE(h.provider.Get("by-hand").ok());
}

TEST(ReconcileOrphansTest, AFailedKillIsRetriedOnTheNextPass) {
  testing::Harness h({.orphan_grace = 1min});
  h.provider.Put(Marked("leaked", "p1", h.clock.Now()));
  h.clock.Advance(2min);
  h.provider.FailNext("kill", Unavailable("provider down"));
  ASSERT_TRUE(testing::RunSync(h.io, h.lifecycle.Reconcile()).ok());
  EXPECT_TRUE(h.provider.Get("leaked").ok());
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_orphans_killed_total", {}), 0);
  ASSERT_TRUE(testing::RunSync(h.io, h.lifecycle.Reconcile()).ok());
  EXPECT_FALSE(h.provider.Get("leaked").ok());
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_orphans_killed_total", {}), 1);
}

// A listing is a moment: a record that changes while it is taken (here a
// webhook pauses the sandbox) is newer than the listing, and the pass leaves
// it alone instead of undoing the change from stale data.
TEST(ReconcileTest, ARecordThatChangesDuringTheListingIsLeftToTheNextPass) {
  ThreadedHarness h;  // provider calls on threads of their own
  auto created = h.Drive(h.lifecycle.Create("p1", {}));
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const std::string id = created->sandbox.sandbox_id;
  h.clock.Advance(1min);
  h.provider.OnNextCall("list", [&] {
    // On the provider's thread, once the listing is taken: a webhook says
    // the sandbox paused, applied on the I/O thread (free while the pass
    // waits for the listing) before the pass goes on.
    h.provider.SetState(id, ProviderState::kPaused);
    auto applied = std::make_shared<std::promise<void>>();
    std::future<void> done = applied->get_future();
    net::co_spawn(
        h.io,
        [&h, id, applied]() -> net::awaitable<void> {
          core::LifecycleEvent e;
          e.id = "w-paused";
          e.type = EventType::kPaused;
          e.source = core::EventSource::kWebhook;
          e.timestamp = h.clock.Now();
          e.sandbox_id = id;
          e.metadata = {{"projectId", "p1"}};
          auto r = co_await h.lifecycle.Apply(e);
          EXPECT_TRUE(r.ok());
          applied->set_value();
        },
        net::detached);
    done.wait();
  });
  auto repaired = h.Drive(h.lifecycle.Reconcile());
  ASSERT_TRUE(repaired.ok()) << repaired.error().ToString();
  EXPECT_EQ(*repaired, 0);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  EXPECT_EQ(h.provider.calls("list"), 1);

  // The next pass lists again, and both agree.
  auto again = h.Drive(h.lifecycle.Reconcile());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
}

// The repair is planned on the record as it was before the listing: when the
// project is killed and made again meanwhile (a new sandbox), the `killed` of
// its old, vanished sandbox is not applied to the new record.
TEST(ReconcileTest, ARepairIsNotAppliedToARecordThatMovedOnSinceItWasPlanned) {
  ThreadedHarness h;
  auto created = h.Drive(h.lifecycle.Create("p1", {}));
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const std::string old_id = created->sandbox.sandbox_id;
  h.provider.Vanish(old_id);  // behind sandboxd's back: the pass plans `killed`
  h.clock.Advance(1min);
  h.provider.OnNextCall("list", [&] {
    // Once the listing is taken: a kill and a new create, on the I/O thread.
    auto remade = std::make_shared<std::promise<void>>();
    std::future<void> done = remade->get_future();
    net::co_spawn(
        h.io,
        [&h, remade]() -> net::awaitable<void> {
          const std::string project = "p1";
          Status killed = co_await h.lifecycle.Kill(project);
          EXPECT_TRUE(killed.ok()) << killed.ToString();
          auto again = co_await h.lifecycle.Create(project, {});
          EXPECT_TRUE(again.ok());
          remade->set_value();
        },
        net::detached);
    done.wait();
  });
  auto repaired = h.Drive(h.lifecycle.Reconcile());
  ASSERT_TRUE(repaired.ok()) << repaired.error().ToString();
  EXPECT_EQ(*repaired, 0);
  auto s = h.lifecycle.Get("p1");
  EXPECT_EQ(s->status, SandboxStatus::kRunning);
  EXPECT_NE(s->sandbox_id, old_id);
  EXPECT_TRUE(h.provider.Get(s->sandbox_id).ok());
}

// A create or a pause that takes longer than the in-flight grace (an E2B
// call retries for up to a minute) is still running here: the pass leaves
// its record alone instead of failing the create ("sandboxd stopped while
// creating") or undoing the pause, and the operation then finishes.
TEST(ReconcileTest, AnOperationStillAtTheProviderHereIsNotRepairedPastTheGrace) {
  ThreadedHarness h;
  const std::string project = "p1";
  std::optional<Result<CreateResult>> created;
  std::promise<void> release_create =
      h.Hold("create", [&] { h.Start(h.lifecycle.Create(project, {}), created); });
  h.clock.Advance(30s);
  auto pass = h.Drive(h.lifecycle.Reconcile(10s));
  ASSERT_TRUE(pass.ok()) << pass.error().ToString();
  EXPECT_EQ(*pass, 0);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kStarting);
  release_create.set_value();
  h.RunUntil([&] { return created.has_value(); });
  ASSERT_TRUE(created.has_value() && created->ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);

  std::optional<Result<core::Sandbox>> paused;
  std::promise<void> release_pause =
      h.Hold("pause", [&] { h.Start(h.lifecycle.Pause(project), paused); });
  h.RunUntil([&] { return paused.has_value(); });  // claimed; the provider call runs on
  ASSERT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPausing);
  h.clock.Advance(30s);
  pass = h.Drive(h.lifecycle.Reconcile(10s));
  ASSERT_TRUE(pass.ok()) << pass.error().ToString();
  EXPECT_EQ(*pass, 0);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPausing);
  release_pause.set_value();
  h.RunUntil([&] { return h.lifecycle.Get("p1")->status == SandboxStatus::kPaused; });
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  EXPECT_FALSE(h.lifecycle.Get("p1")->last_error.has_value());
}

}  // namespace
}  // namespace sbx::lifecycle
