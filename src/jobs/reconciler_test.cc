#include "jobs/reconciler.h"

#include <gtest/gtest.h>

#include "jobs/failover.h"
#include "lifecycle/testing.h"

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;
using core::SandboxStatus;
using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;

class SwitchLeader final : public Leadership {
 public:
  bool IsLeader() const override { return leader; }
  int64_t term() const override { return term_value; }
  bool leader = false;
  int64_t term_value = 0;
};

TEST(ReconcilerJobTest, OnlyTheLeaderRepairsDrift) {
  Harness h;
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("p1", {})).ok());
  h.provider.Vanish(h.lifecycle.Get("p1")->sandbox_id);
  SwitchLeader leader;
  ReconcilerJob job(h.clock, h.lifecycle, leader, {.schedule = "@every 60s"});
  ASSERT_TRUE(job.Start(h.io.get_executor()).ok());
  AdvanceAndRun(h.io, h.clock, 60s);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
  EXPECT_EQ(h.provider.calls("list"), 0);
  leader.leader = true;
  AdvanceAndRun(h.io, h.clock, 60s);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
  job.Stop();
  h.Drain();
}

TEST(ReconcilerJobTest, StartupPassSettlesAnInterruptedCreate) {
  Harness h;
  // A create that was recorded but never reached the provider (a crash).
  auto req = RunSync(h.io, h.lifecycle.Apply({.id = "e1",
                                               .type = core::EventType::kCreateRequested,
                                               .timestamp = h.clock.Now(),
                                               .project_id = "p1"}));
  ASSERT_TRUE(req.ok());
  AlwaysLeader leader;
  ReconcilerJob job(h.clock, h.lifecycle, leader, {});
  auto repaired = RunSync(h.io, job.StartupPass());
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(*repaired, 1);
  auto s = h.lifecycle.Get("p1");
  EXPECT_EQ(s->status, SandboxStatus::kKilled);
  ASSERT_TRUE(s->last_error.has_value());
  EXPECT_EQ(s->last_error->code, "create_interrupted");
  // A settled crash is no change a webhook should have reported: no drift,
  // here or in the history every replica reads.
  EXPECT_FALSE(h.lifecycle.delivery().Get().silent());
  auto summary = h.store->SummarizeDelivery();
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->drift_since_webhook, 0);
  EXPECT_FALSE(summary->last_drift.has_value());
}

TEST(FailoverJobTest, ANewTermReconcilesAndSweepsOnce) {
  Harness h;
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("idle", {})).ok());
  SwitchLeader leader;
  IdleEnforcer enforcer(h.clock, h.pool, *h.store, h.lifecycle, h.bus, h.metrics, leader,
                        {.schedule = "@every 1h", .exact_timer = false});
  FailoverJob failover(h.clock, h.lifecycle, enforcer, leader, {});
  ASSERT_TRUE(failover.Start(h.io.get_executor()).ok());
  h.clock.Advance(4min);  // "idle" is due; nobody has swept yet
  AdvanceAndRun(h.io, h.clock, 2s);
  EXPECT_EQ(h.provider.pause_calls(), 0);  // not the leader
  leader.leader = true;
  leader.term_value = 1;
  AdvanceAndRun(h.io, h.clock, 1s);
  EXPECT_EQ(h.provider.calls("list"), 1);  // reconciled first
  EXPECT_EQ(h.provider.pause_calls(), 1);  // then swept at once
  EXPECT_EQ(h.lifecycle.Get("idle")->status, SandboxStatus::kPaused);
  AdvanceAndRun(h.io, h.clock, 5s);
  EXPECT_EQ(h.provider.calls("list"), 1);  // same term: nothing more
  failover.Stop();
  h.Drain();
}

}  // namespace
}  // namespace sbx::jobs
