#include "jobs/periodic.h"

#include <gtest/gtest.h>

#include "lifecycle/testing.h"

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;
using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;

TEST(PeriodicJobTest, TicksOnScheduleUntilStopped) {
  Harness h;
  int ticks = 0;
  PeriodicJob job(h.clock, "reconciler", "@every 60s", [&]() -> net::awaitable<void> {
    ++ticks;
    co_return;
  });
  ASSERT_TRUE(job.Start(h.io.get_executor()).ok());
  AdvanceAndRun(h.io, h.clock, 59s);
  EXPECT_EQ(ticks, 0);
  AdvanceAndRun(h.io, h.clock, 1s);
  EXPECT_EQ(ticks, 1);
  AdvanceAndRun(h.io, h.clock, 120s);
  EXPECT_EQ(ticks, 3);
  job.Stop();
  AdvanceAndRun(h.io, h.clock, 120s);
  EXPECT_EQ(ticks, 3);
}

TEST(PeriodicJobTest, RejectsBadSchedule) {
  Harness h;
  PeriodicJob job(h.clock, "x", "nonsense", []() -> net::awaitable<void> { co_return; });
  EXPECT_EQ(job.Start(h.io.get_executor()).code(), StatusCode::kInvalidArgument);
}

TEST(KeepAliveTest, ExtendsOnlyActiveSandboxesNearTheirProviderEnd) {
  Harness h;
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("active", {})).ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("paused", {})).ok());
  (void)RunSync(h.io, h.lifecycle.Pause("paused"));
  h.Drain();
  KeepAliveOptions opts{.provider_timeout = 600s, .renew_before = 300s};
  EXPECT_EQ(RunSync(h.io, KeepAlivePass(h.lifecycle, opts)), 1);
  auto s = h.lifecycle.Get("active");
  ASSERT_TRUE(s->provider_end_at.has_value());
  EXPECT_EQ(*s->provider_end_at, TruncateToMillis(h.clock.Now()) + 600s);
  // Far from its end: nothing to do, no provider call.
  EXPECT_EQ(RunSync(h.io, KeepAlivePass(h.lifecycle, opts)), 0);
  EXPECT_EQ(h.provider.calls("timeout"), 1);
  // Close to its end but idle past the timeout: left to expire / be paused.
  h.clock.Advance(181s);
  EXPECT_EQ(RunSync(h.io, KeepAlivePass(h.lifecycle, opts)), 0);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("active")).ok());
  h.clock.Advance(150s);  // provider end 269 s away, activity 150 s ago: renew
  auto before = h.lifecycle.Get("active");
  ASSERT_EQ(before->status, core::SandboxStatus::kRunning);
  ASSERT_EQ(before->last_activity_at, TruncateToMillis(h.clock.Now()) - 150s);
  EXPECT_EQ(RunSync(h.io, KeepAlivePass(h.lifecycle, opts)), 1);
  EXPECT_EQ(h.provider.calls("timeout"), 2);
}

}  // namespace
}  // namespace sbx::jobs
