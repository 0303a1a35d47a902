#include "policy/policy.h"

#include <gtest/gtest.h>

namespace sbx::policy {
namespace {

// Monday 2026-11-30, 00:00 UTC.
const SystemTime kMonday = *ParseRfc3339("2026-11-30T00:00:00Z");

SystemTime At(int day, int hour, int minute) {
  return kMonday + std::chrono::hours(24 * day + hour) + std::chrono::minutes(minute);
}

TEST(PolicyTest, NamesAreCheckedAndFixedNeverMoves) {
  EXPECT_TRUE(CheckPolicyName("adaptive").ok());
  EXPECT_EQ(CheckPolicyName("clever").code(), StatusCode::kInvalidArgument);
  auto fixed = MakeFixed(3min);
  fixed->OnIdlePause("p", At(0, 9, 0));
  fixed->OnReturn("p", At(0, 9, 1), At(0, 9, 0));
  EXPECT_EQ(fixed->IdleTimeout("p"), 3min);
  EXPECT_FALSE(fixed->PreWake("p", At(1, 9, 0), At(0, 18, 0)));
  EXPECT_TRUE(fixed->TakeChanges().empty());
}

TEST(PolicyTest, AdaptiveDoublesOnRegretWithinItsBoundsAndSaysWhy) {
  auto p = MakeAdaptive(
      {.initial = 3min, .bounds = {.min = 1min, .max = 20min}, .cover_only = false});
  EXPECT_EQ(p->IdleTimeout("a"), 3min);
  p->OnIdlePause("a", At(0, 10, 0));
  p->OnReturn("a", At(0, 10, 4), At(0, 10, 0));  // back after 4 min: a regret
  EXPECT_EQ(p->IdleTimeout("a"), 6min);
  p->OnIdlePause("a", At(0, 11, 0));
  p->OnReturn("a", At(0, 11, 9), At(0, 11, 0));
  EXPECT_EQ(p->IdleTimeout("a"), 12min);
  p->OnIdlePause("a", At(0, 12, 0));
  p->OnReturn("a", At(0, 12, 1), At(0, 12, 0));
  EXPECT_EQ(p->IdleTimeout("a"), 20min);  // 24 min is above the bound
  EXPECT_EQ(p->IdleTimeout("other"), 3min);
  auto changes = p->TakeChanges();
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].project, "a");
  EXPECT_EQ(changes[0].at, At(0, 10, 4));
  EXPECT_EQ(changes[0].reason, "regret: back 4m after an idle pause; 3m -> 6m");
  EXPECT_EQ(changes[2].to, 20min);
  EXPECT_TRUE(p->TakeChanges().empty());
}

TEST(PolicyTest, AdaptiveRaisesOnlyAsFarAsTheRegrettedGap) {
  auto p = MakeAdaptive({.initial = 3min});
  p->OnIdlePause("a", At(0, 10, 0));
  p->OnReturn("a", At(0, 10, 0) + 20s, At(0, 10, 0));  // 3m 20s would have covered it
  EXPECT_EQ(p->IdleTimeout("a"), 4min);
  p->OnIdlePause("a", At(0, 11, 0));
  p->OnReturn("a", At(0, 11, 9), At(0, 11, 0));  // 13m would have: doubling gives 8m
  EXPECT_EQ(p->IdleTimeout("a"), 8min);
  EXPECT_EQ(p->TakeChanges().front().reason, "regret: back 20s after an idle pause; 3m -> 4m");
}

TEST(PolicyTest, AdaptiveLowersAfterLongIdleAndIgnoresOtherPauses) {
  auto p = MakeAdaptive({.initial = 3min, .bounds = {.min = 2min, .max = 1h}});
  p->OnIdlePause("a", At(0, 10, 0));
  p->OnReturn("a", At(0, 10, 2), At(0, 10, 0));
  ASSERT_EQ(p->IdleTimeout("a"), 5min);  // what would have covered the 2 min
  // A night away lowers it by a minute at a time, never below the bound.
  for (int day = 1; day <= 6; ++day) {
    p->OnIdlePause("a", At(day - 1, 18, 0));
    p->OnReturn("a", At(day, 9, 0), At(day - 1, 18, 0));
  }
  EXPECT_EQ(p->IdleTimeout("a"), 2min);
  // A return that is neither soon nor long after changes nothing, and a
  // pause the enforcer did not make (a user's) teaches nothing.
  p->OnIdlePause("a", At(7, 10, 0));
  p->OnReturn("a", At(7, 10, 40), At(7, 10, 0));
  EXPECT_EQ(p->IdleTimeout("a"), 2min);
  p->OnReturn("a", At(7, 11, 1), At(7, 11, 0));
  EXPECT_EQ(p->IdleTimeout("a"), 2min);
  EXPECT_EQ(p->TakeChanges().back().reason, "long idle: paused for 15h; 3m -> 2m");
}

TEST(PolicyTest, WeekSlotsAreWeekdayOrWeekendQuarterHoursInUtc) {
  EXPECT_EQ(WeekSlot(At(0, 0, 0)), 0);
  EXPECT_EQ(WeekSlot(At(0, 9, 7)), 36);
  EXPECT_EQ(WeekSlot(At(4, 23, 59)), 95);    // Friday
  EXPECT_EQ(WeekSlot(At(5, 0, 0)), 96);      // Saturday
  EXPECT_EQ(WeekSlot(At(6, 9, 14)), 96 + 36);
  EXPECT_EQ(WeekSlot(At(7, 9, 14)), 36);     // Monday again
}

TEST(PolicyTest, WarmupPreWakesOnlyWhereAPatternIsOncePerPauseAndWithinItsCap) {
  auto p = MakeWarmup({.timeout = 3min, .min_pause = 30min, .lead = 10min, .min_weight = 2.0,
                       .weekly_decay = 0.5, .max_per_hour = 2});
  // No pattern yet: no pre-wake.
  EXPECT_FALSE(p->PreWake("a", At(0, 8, 50), At(0, 0, 0)));
  // Three weekday mornings back at 09:05, after a night.
  for (int day = 0; day < 3; ++day) p->OnReturn("a", At(day, 9, 5), At(day - 1, 18, 0));
  // A short pause is no pattern.
  p->OnReturn("a", At(2, 14, 5), At(2, 13, 50));
  // Day 4, paused since last evening: resumed 10 min before the 09:00 quarter.
  const SystemTime night = At(2, 18, 0);
  EXPECT_FALSE(p->PreWake("a", At(3, 8, 40), night));  // 08:50 has no returns
  EXPECT_TRUE(p->PreWake("a", At(3, 8, 50), night));
  EXPECT_FALSE(p->PreWake("a", At(3, 8, 51), night));  // once a pause
  EXPECT_FALSE(p->PreWake("a", At(3, 13, 55), At(3, 13, 50)));  // not paused long enough
  EXPECT_FALSE(p->PreWake("a", At(3, 13, 55), At(3, 11, 0)));   // 14:00 was a short pause
  EXPECT_EQ(p->PreWakeGrace(), 25min);
  auto changes = p->TakeChanges();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].reason.rfind("pre-wake: 2.", 0), 0u) << changes[0].reason;
  EXPECT_NE(changes[0].reason.find("at Mon–Fri 09:00"), std::string::npos) << changes[0].reason;
  // The cap: two pre-wakes an hour across projects.
  for (const char* project : {"b", "c", "d"}) {
    for (int day = 0; day < 3; ++day) p->OnReturn(project, At(day, 9, 5), At(day - 1, 18, 0));
  }
  EXPECT_TRUE(p->PreWake("b", At(3, 8, 52), night));
  EXPECT_FALSE(p->PreWake("c", At(3, 8, 53), night));
  // Weeks later the pattern has faded.
  EXPECT_FALSE(p->PreWake("d", At(30, 8, 50), At(29, 18, 0)));
}

}  // namespace
}  // namespace sbx::policy
