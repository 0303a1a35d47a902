#include "jobs/keep_alive.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "lifecycle/testing.h"

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;
using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;

// Leadership that a test flips.
class SwitchLeader final : public Leadership {
 public:
  bool IsLeader() const override { return leader; }
  int64_t term() const override { return term_value; }
  bool leader = false;
  int64_t term_value = 0;
};

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
  const SystemTime end_seen = *before->provider_end_at;
  EXPECT_EQ(RunSync(h.io, KeepAlivePass(h.lifecycle, opts)), 1);
  EXPECT_EQ(h.provider.calls("timeout"), 2);
  // The renewal records what the pass decided on: the end it saw and how
  // close to it it renews.
  auto rows = RunSync(h.io, h.lifecycle.History("active", 1));
  ASSERT_EQ(rows->size(), 1u);
  auto in = boost::json::parse((*rows)[0].inputs).as_object();
  EXPECT_EQ(in.at("providerEndAt"), boost::json::value(FormatRfc3339(end_seen)));
  EXPECT_EQ(in.at("renewBeforeSeconds"), 300);
  EXPECT_EQ(in.at("ttlSeconds"), 600);
}

// A hold keeps the sandbox awake past its idle timeout, so the provider's own
// timeout (E2B pauses by itself when it runs out) is renewed while it lasts.
TEST(KeepAliveTest, ExtendsAHeldSandboxPastItsIdleTimeoutUntilTheHoldExpires) {
  Harness h;
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("held", {})).ok());  // idle timeout 180 s
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.PlaceHold("held", "build", 30min)).ok());
  KeepAliveOptions opts{.provider_timeout = 600s, .renew_before = 300s};
  EXPECT_EQ(RunSync(h.io, KeepAlivePass(h.lifecycle, opts)), 1);
  h.clock.Advance(10min);  // idle 10 min, held for 20 more; the provider end is now
  EXPECT_EQ(RunSync(h.io, KeepAlivePass(h.lifecycle, opts)), 1);
  EXPECT_EQ(h.provider.calls("timeout"), 2);
  h.clock.Advance(20min);  // the hold has expired: due for the enforcer, not renewed
  EXPECT_EQ(RunSync(h.io, KeepAlivePass(h.lifecycle, opts)), 0);
  EXPECT_EQ(h.provider.calls("timeout"), 2);
}

TEST(KeepAliveJobTest, RunsPassesOnScheduleOnlyOnTheLeader) {
  Harness h;
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("active", {})).ok());
  SwitchLeader leader;
  KeepAliveJob job(h.clock, h.lifecycle, leader,
                   {.provider_timeout = 600s, .renew_before = 300s, .schedule = "@every 60s"});
  ASSERT_TRUE(job.Start(h.io.get_executor()).ok());
  AdvanceAndRun(h.io, h.clock, 60s);
  EXPECT_EQ(h.provider.calls("timeout"), 0);  // a follower extends nothing
  leader.leader = true;
  AdvanceAndRun(h.io, h.clock, 60s);
  EXPECT_EQ(h.provider.calls("timeout"), 1);
  job.Stop();
  h.Drain();
}

TEST(KeepAliveJobTest, RejectsABadSchedule) {
  Harness h;
  AlwaysLeader leader;
  KeepAliveJob job(h.clock, h.lifecycle, leader, {.schedule = "every day"});
  EXPECT_EQ(job.Start(h.io.get_executor()).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sbx::jobs
