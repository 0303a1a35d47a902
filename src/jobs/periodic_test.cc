#include "jobs/periodic.h"

#include <gtest/gtest.h>

#include "lifecycle/testing.h"

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;
using lifecycle::testing::Harness;

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

}  // namespace
}  // namespace sbx::jobs
