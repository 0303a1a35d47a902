#include "jobs/idle_enforcer.h"

#include <gtest/gtest.h>

#include "lifecycle/testing.h"

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;
using core::SandboxStatus;
using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;

class IdleEnforcerTest : public ::testing::Test {
 protected:
  void StartEnforcer(IdleEnforcerOptions options = {}) {
    enforcer_ = std::make_unique<IdleEnforcer>(h_.clock, h_.pool, *h_.store, h_.lifecycle, h_.bus,
                                               h_.metrics, leader_, options);
    ASSERT_TRUE(enforcer_->Start(h_.io.get_executor()).ok());
  }
  void Create(const std::string& project) {
    auto r = RunSync(h_.io, h_.lifecycle.Create(project, {}));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }
  SandboxStatus StatusOf(const std::string& p) { return h_.lifecycle.Get(p)->status; }
  void TearDown() override {
    if (enforcer_) enforcer_->Stop();
    h_.Drain();
  }

  Harness h_;
  AlwaysLeader leader_;
  std::unique_ptr<IdleEnforcer> enforcer_;
};

TEST_F(IdleEnforcerTest, PausesExactlyAtDeadline) {
  StartEnforcer({.schedule = "@every 1h"});
  Create("p1");
  AdvanceAndRun(h_.io, h_.clock, 2min + 59s + 900ms);
  EXPECT_EQ(h_.provider.pause_calls(), 0);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kRunning);
  AdvanceAndRun(h_.io, h_.clock, 100ms);
  EXPECT_EQ(h_.provider.pause_calls(), 1);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kPaused);
  auto runs = h_.store->ListJobRuns(kIdleEnforcerJob, 10);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].trigger, "timer");
  EXPECT_EQ((*runs)[0].paused, 1);
}

// The alert on scheduled sweeps needs the series before the first one ends.
TEST_F(IdleEnforcerTest, TheScheduledSweepCounterExistsFromTheStart) {
  EXPECT_EQ(h_.metrics.Render().find("sandboxd_enforcer_runs_total"), std::string::npos);
  StartEnforcer({.schedule = "@every 1h"});
  EXPECT_NE(h_.metrics.Render().find("sandboxd_enforcer_runs_total{trigger=\"schedule\"} 0"),
            std::string::npos)
      << h_.metrics.Render();
}

// The alert on sweeps that stop compares the last scheduled sweep with the
// schedule's longest gap, whatever the schedule is.
TEST_F(IdleEnforcerTest, ExportsTheLastScheduledSweepAndTheSchedulesLongestGap) {
  const int64_t start_s = ToUnixMillis(h_.clock.Now()) / 1000;
  StartEnforcer({.schedule = "@every 1h"});
  auto has = [&](const std::string& line) {
    return h_.metrics.Render().find(line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("sandboxd_enforcer_schedule_gap_seconds 3600")) << h_.metrics.Render();
  EXPECT_TRUE(has(fmt::format("sandboxd_enforcer_last_sweep_timestamp_seconds {}", start_s)))
      << h_.metrics.Render();
  AdvanceAndRun(h_.io, h_.clock, 1h);
  EXPECT_TRUE(has(fmt::format("sandboxd_enforcer_last_sweep_timestamp_seconds {}",
                              start_s + 3600)))
      << h_.metrics.Render();
}

TEST_F(IdleEnforcerTest, ActivityAtTwoFiftyNineMovesTheDeadline) {
  StartEnforcer({.schedule = "@every 1h"});
  Create("p1");
  AdvanceAndRun(h_.io, h_.clock, 2min + 59s);
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.RecordActivity("p1")).ok());
  AdvanceAndRun(h_.io, h_.clock, 2min + 59s);
  EXPECT_EQ(h_.provider.pause_calls(), 0);
  AdvanceAndRun(h_.io, h_.clock, 1s);
  EXPECT_EQ(h_.provider.pause_calls(), 1);
}

TEST_F(IdleEnforcerTest, AHoldKeepsTheSandboxAwakeUntilItExpires) {
  StartEnforcer({.schedule = "@every 1m"});
  Create("p1");
  AdvanceAndRun(h_.io, h_.clock, 1min);
  auto held = RunSync(h_.io, h_.lifecycle.PlaceHold("p1", "build", 10min));
  ASSERT_TRUE(held.ok()) << held.error().ToString();
  // Neither the exact timer at 3 min nor the minutely sweep pauses it.
  AdvanceAndRun(h_.io, h_.clock, 10min - 1s);
  EXPECT_EQ(h_.provider.pause_calls(), 0);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kRunning);
  // Idle for longer than its timeout when the hold expires: paused then.
  AdvanceAndRun(h_.io, h_.clock, 1s);
  EXPECT_EQ(h_.provider.pause_calls(), 1);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kPaused);
}

TEST_F(IdleEnforcerTest, AReleasedHoldLetsTheIdleTimeoutPauseAtOnce) {
  StartEnforcer({.schedule = "@every 1h"});
  Create("p1");
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.PlaceHold("p1", "build", 1h)).ok());
  AdvanceAndRun(h_.io, h_.clock, 5min);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kRunning);
  auto released = RunSync(h_.io, h_.lifecycle.ReleaseHold("p1", "build"));
  ASSERT_TRUE(released.ok()) << released.error().ToString();
  AdvanceAndRun(h_.io, h_.clock, 10ms);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kPaused);
  // Gone: a second release is kNotFound, and a paused sandbox takes no hold.
  EXPECT_EQ(RunSync(h_.io, h_.lifecycle.ReleaseHold("p1", "build")).error().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(RunSync(h_.io, h_.lifecycle.PlaceHold("p1", "build", 1h)).error().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(IdleEnforcerTest, ShorterTimeoutSetLaterIsHonoured) {
  StartEnforcer({.schedule = "@every 1h"});
  Create("p1");
  AdvanceAndRun(h_.io, h_.clock, 10s);
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.SetIdleTimeout("p1", 20)).ok());
  AdvanceAndRun(h_.io, h_.clock, 9s);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kRunning);
  AdvanceAndRun(h_.io, h_.clock, 1s);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kPaused);
}

TEST_F(IdleEnforcerTest, FailedPauseIsRetriedBySweepAndOthersStillPause) {
  StartEnforcer({.schedule = "@every 5m", .exact_timer = false});
  Create("a");
  Create("b");
  h_.provider.FailNext("pause", Unavailable("runc pause: exit 1"));
  AdvanceAndRun(h_.io, h_.clock, 5min);
  auto runs = h_.store->ListJobRuns(kIdleEnforcerJob, 10);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].trigger, "schedule");
  EXPECT_EQ((*runs)[0].checked, 2);
  EXPECT_EQ((*runs)[0].paused, 1);
  EXPECT_EQ((*runs)[0].failed, 1);
  ASSERT_EQ((*runs)[0].errors.size(), 1u);
  EXPECT_EQ(StatusOf("a"), SandboxStatus::kRunning);  // the first pause call failed
  EXPECT_EQ(StatusOf("b"), SandboxStatus::kPaused);
  EXPECT_EQ(h_.lifecycle.Get("a")->last_error->code, "pause_failed");
  AdvanceAndRun(h_.io, h_.clock, 5min);
  EXPECT_EQ(StatusOf("a"), SandboxStatus::kPaused);
  EXPECT_EQ(h_.provider.pause_calls(), 3);
}

TEST_F(IdleEnforcerTest, TimerDoesNotSpinOnAFailedPause) {
  StartEnforcer({.schedule = "@every 10m"});
  Create("a");
  h_.provider.FailNext("pause", Unavailable("runc pause: exit 1"), 100);
  AdvanceAndRun(h_.io, h_.clock, 5min);
  EXPECT_EQ(h_.provider.pause_calls(), 1);  // the timer tried once, then left it to the sweep
  AdvanceAndRun(h_.io, h_.clock, 5min);
  EXPECT_EQ(h_.provider.pause_calls(), 2);
  EXPECT_EQ(StatusOf("a"), SandboxStatus::kRunning);
}

TEST_F(IdleEnforcerTest, SweepAloneCatchesIdleSandboxesOnSchedule) {
  StartEnforcer({.schedule = "*/2 * * * *", .exact_timer = false});
  Create("p1");
  // FakeClock starts at 00:00:00; pauseAt = 00:03:00; the sweep at 00:04 pauses it.
  AdvanceAndRun(h_.io, h_.clock, 3min + 59s);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kRunning);
  AdvanceAndRun(h_.io, h_.clock, 1s);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kPaused);
  EXPECT_EQ(h_.store->ListJobRuns(kIdleEnforcerJob, 10)->size(), 2u);  // 00:02 and 00:04
}

class Follower final : public Leadership {
 public:
  bool IsLeader() const override { return leader; }
  int64_t term() const override { return leader ? 1 : 0; }
  bool leader = false;
};

TEST_F(IdleEnforcerTest, FollowersPauseNothingUntilTheyLead) {
  Follower follower;
  IdleEnforcer e(h_.clock, h_.pool, *h_.store, h_.lifecycle, h_.bus, h_.metrics, follower,
                 {.schedule = "@every 10s"});
  ASSERT_TRUE(e.Start(h_.io.get_executor()).ok());
  Create("p1");
  AdvanceAndRun(h_.io, h_.clock, 5min);
  EXPECT_EQ(h_.provider.pause_calls(), 0);
  EXPECT_TRUE(h_.store->ListJobRuns(kIdleEnforcerJob, 10)->empty());
  follower.leader = true;
  AdvanceAndRun(h_.io, h_.clock, 10s);
  EXPECT_EQ(h_.provider.pause_calls(), 1);
  EXPECT_EQ(StatusOf("p1"), SandboxStatus::kPaused);
  e.Stop();
  h_.Drain();
}

TEST_F(IdleEnforcerTest, BadScheduleFailsStart) {
  IdleEnforcer e(h_.clock, h_.pool, *h_.store, h_.lifecycle, h_.bus, h_.metrics, leader_,
                 {.schedule = "61 * * * *"});
  Status s = e.Start(h_.io.get_executor());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sbx::jobs
