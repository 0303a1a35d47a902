#include "policy/replay.h"

#include <gtest/gtest.h>

#include <vector>

namespace sbx::policy {
namespace {

using namespace std::chrono_literals;
using Kind = Moment::Kind;

// 2026-01-05T00:00:00Z, a Monday.
const SystemTime kMonday = FromUnixMillis(1'767'571'200'000);

Moment Idle(const std::string& p, SystemTime left, Millis timeout) {
  return {.kind = Kind::kIdlePause, .project = p, .at = left + timeout, .last_activity = left};
}
Moment Back(const std::string& p, SystemTime at) {
  return {.kind = Kind::kReturn, .project = p, .at = at};
}

TEST(TeacherTest, TeachesIdlePausesAndTheReturnsThatEndThem) {
  auto adaptive = MakeAdaptive({});
  Policy* policies[] = {adaptive.get()};
  Teacher teacher;
  const SystemTime left = kMonday + 9h;
  teacher.Feed(Idle("p", left, 3min), policies);
  EXPECT_EQ(teacher.PausedAt("p"), left + 3min);
  teacher.Feed(Back("p", left + 4min), policies);  // a minute after the pause: a regret
  EXPECT_FALSE(teacher.PausedAt("p").has_value());
  // Doubled, but only to what would have covered it: 3m + 1m.
  EXPECT_EQ(adaptive->IdleTimeout("p"), 4min);
  // A return after a pause nobody but a user made teaches nothing.
  teacher.Feed({.kind = Kind::kPause, .project = "p", .at = left + 1h}, policies);
  teacher.Feed(Back("p", left + 1h + 1min), policies);
  EXPECT_EQ(adaptive->IdleTimeout("p"), 4min);
  // A pre-wake ends the pause: no return to teach.
  teacher.Feed(Idle("p", left + 2h, 4min), policies);
  teacher.Feed({.kind = Kind::kPreWake, .project = "p", .at = left + 2h + 6min}, policies);
  EXPECT_FALSE(teacher.PausedAt("p").has_value());
}

TEST(ReplayTest, ReplaysEachIdleEpisodeUnderThePolicysTimeout) {
  // Two projects, each away 5 minutes three times, then once for 3 hours.
  std::vector<Moment> moments;
  for (const char* p : {"a", "b"}) {
    for (int day = 0; day < 3; ++day) {
      const SystemTime left = kMonday + day * 24h + 10h;
      moments.push_back(Idle(p, left, 3min));
      moments.push_back(Back(p, left + 5min));
    }
  }
  const SystemTime left = kMonday + 4 * 24h + 10h;
  moments.push_back(Idle("a", left, 3min));
  moments.push_back(Back("a", left + 3h));
  std::sort(moments.begin(), moments.end(),
            [](const Moment& x, const Moment& y) { return x.at < y.at; });
  const ReplayOptions options{.until = kMonday + 7 * 24h};

  auto fixed = MakeFixed(3min);
  const ReplayTally f = Replay(*fixed, moments, options);
  EXPECT_EQ(f.policy, "fixed");
  EXPECT_EQ(f.episodes, 7);
  EXPECT_EQ(f.idle_pauses, 7);
  EXPECT_EQ(f.resume_waits, 7);
  EXPECT_EQ(f.regret_wakes, 6);  // the 2-minute pauses; not the 3-hour one
  EXPECT_DOUBLE_EQ(f.idle_minutes, 7 * 3.0);
  EXPECT_DOUBLE_EQ(f.saved_minutes, 6 * 2.0 + 177.0);
  EXPECT_EQ(f.timeout_changes, 0);

  // Adaptive rides out the 5-minute gaps once it regretted one per project
  // (3m -> 5m: doubled, but only to what covers the gap), and lowers a's
  // after the 3-hour one (5m -> 4m).
  auto adaptive = MakeAdaptive({.initial = 3min});
  const ReplayTally a = Replay(*adaptive, moments, options);
  EXPECT_EQ(a.episodes, 7);
  EXPECT_EQ(a.idle_pauses, 3);  // the first of each project, and the 3-hour one
  EXPECT_EQ(a.regret_wakes, 2);
  EXPECT_EQ(a.resume_waits, 3);
  EXPECT_EQ(a.timeout_changes, 3);
  EXPECT_EQ(adaptive->IdleTimeout("a"), 4min);
  EXPECT_EQ(adaptive->IdleTimeout("b"), 5min);
  EXPECT_DOUBLE_EQ(a.idle_minutes, 3.0 + 3.0 + 4 * 5.0 + 5.0);
  EXPECT_LT(a.resume_waits, f.resume_waits);
  EXPECT_GT(a.idle_minutes, f.idle_minutes);
}

TEST(ReplayTest, EachProjectStartsFromTheTimeoutItsFirstIdlePauseHad) {
  // p ran with 10m of its own: fixed replays what was recorded.
  const SystemTime left = kMonday + 10h;
  Moment own = Idle("p", left, 10min);
  own.timeout = 10min;
  const Moment moments[] = {own, Back("p", left + 12min), Idle("q", left, 3min),
                            Back("q", left + 12min)};
  auto fixed = MakeFixed(3min);
  const ReplayTally t = Replay(*fixed, moments, {.until = left + 1h});
  EXPECT_EQ(fixed->IdleTimeout("p"), 10min);
  EXPECT_EQ(fixed->IdleTimeout("q"), 3min);
  EXPECT_DOUBLE_EQ(t.idle_minutes, 10.0 + 3.0);
  EXPECT_DOUBLE_EQ(t.saved_minutes, 2.0 + 9.0);
  // Adaptive steps from there: 10m -> 12m (what covers the 2-minute gap).
  auto adaptive = MakeAdaptive({.initial = 3min});
  (void)Replay(*adaptive, moments, {.until = left + 1h});
  EXPECT_EQ(adaptive->IdleTimeout("p"), 12min);
}

TEST(ReplayTest, AnEpisodeStillOpenEndsAtUntilWithoutAWait) {
  const SystemTime left = kMonday + 10h;
  const Moment moments[] = {Idle("p", left, 3min)};
  auto fixed = MakeFixed(3min);
  const ReplayTally t = Replay(*fixed, moments, {.until = left + 1h});
  EXPECT_EQ(t.idle_pauses, 1);
  EXPECT_EQ(t.resume_waits, 0);
  EXPECT_DOUBLE_EQ(t.saved_minutes, 57.0);
  // A longer timeout than the whole episode: it never pauses.
  auto lazy = MakeFixed(2h);
  const ReplayTally l = Replay(*lazy, moments, {.until = left + 1h});
  EXPECT_EQ(l.idle_pauses, 0);
  EXPECT_DOUBLE_EQ(l.idle_minutes, 60.0);
}

TEST(ReplayTest, WarmupPreWakesBeforeAHabitualReturnAndCountsHitsAndMisses) {
  // Every weekday: away from 12:00 (idle pause at 12:03) until 13:00.
  std::vector<Moment> moments;
  for (int day = 0; day < 5; ++day) {
    const SystemTime left = kMonday + day * 24h + 12h;
    moments.push_back(Idle("p", left, 3min));
    moments.push_back(Back("p", left + 1h));
  }
  // The weekend: away from 12:00 to 18:00 on Saturday (no weekday habit).
  moments.push_back(Idle("p", kMonday + 5 * 24h + 12h, 3min));
  moments.push_back(Back("p", kMonday + 5 * 24h + 18h));
  auto warmup = MakeWarmup({.timeout = 3min});
  const ReplayTally w = Replay(*warmup, moments, {.until = kMonday + 7 * 24h});
  // Mon, Tue and Wed teach 13:00 (decayed by age, their weight reaches 2 on
  // Thursday); on Thursday and Friday it resumes at 12:53 and the user finds
  // it running.
  EXPECT_EQ(w.episodes, 6);
  EXPECT_EQ(w.pre_wakes, 2);
  EXPECT_EQ(w.pre_wake_hits, w.pre_wakes);
  EXPECT_EQ(w.pre_wake_misses, 0);
  EXPECT_EQ(w.resume_waits, 6 - w.pre_wake_hits);
  auto fixed = MakeFixed(3min);
  const ReplayTally f = Replay(*fixed, moments, {.until = kMonday + 7 * 24h});
  EXPECT_EQ(f.resume_waits, 6);
  EXPECT_GT(w.idle_minutes, f.idle_minutes);  // a pre-wake runs until its user comes
}

TEST(ReplayTest, AnUnusedPreWakeIsAMiss) {
  std::vector<Moment> moments;
  for (int day = 0; day < 3; ++day) {
    const SystemTime left = kMonday + day * 24h + 12h;
    moments.push_back(Idle("p", left, 3min));
    moments.push_back(Back("p", left + 1h));
  }
  // Thursday the user does not come back at 13:00, only at 17:00.
  const SystemTime left = kMonday + 3 * 24h + 12h;
  moments.push_back(Idle("p", left, 3min));
  moments.push_back(Back("p", left + 5h));
  auto warmup = MakeWarmup({.timeout = 3min});
  const ReplayTally w = Replay(*warmup, moments, {.until = kMonday + 7 * 24h});
  EXPECT_EQ(w.pre_wakes, 1);
  EXPECT_EQ(w.pre_wake_misses, 1);
  EXPECT_EQ(w.resume_waits, 4);
}

}  // namespace
}  // namespace sbx::policy
