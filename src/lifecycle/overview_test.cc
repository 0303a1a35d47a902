#include "lifecycle/overview.h"

#include <gtest/gtest.h>

namespace sbx::lifecycle {
namespace {

using core::SandboxStatus;
using namespace std::chrono_literals;

const OverviewWindow kHour = *ParseOverviewWindow("1h");
// A minute boundary plus 30 s: the window starts 59.5 minutes before.
const SystemTime kNow = FromUnixMillis(1'800'000'000'000) + 30s;
const SystemTime kFrom = kNow - 3570s;

store::HistoryRow Row(const std::string& project, std::chrono::seconds after_from,
                      const std::string& status, const std::string& source = "runtime",
                      std::string inputs = "") {
  store::HistoryRow r;
  r.project_id = project;
  r.source = source;
  r.outcome = "applied";
  r.recorded_at = kFrom + after_from;
  r.status = status;
  r.inputs = std::move(inputs);
  return r;
}

// Project a is made, idly paused (250 ms after its pauseAt) and woken again;
// b, paused before the window, is killed; c runs throughout.
OverviewInputs Scripted() {
  OverviewInputs in;
  in.current = {{"a", SandboxStatus::kRunning},
                {"b", SandboxStatus::kKilled},
                {"c", SandboxStatus::kRunning}};
  const std::string inputs = R"({"trigger":"timer","now":")" +
                             FormatRfc3339(kFrom + 1800s) + R"(","record":{"pauseAt":")" +
                             FormatRfc3339(kFrom + 1800s - 250ms) + R"("}})";
  in.transitions = {  // newest first
      Row("a", 3002s, "RUNNING"),
      Row("a", 3000s, "STARTING", "api"),
      Row("a", 1801s, "PAUSED"),
      Row("a", 1800s, "PAUSING", "enforcer", inputs),
      Row("b", 1200s, "KILLED", "api"),
      Row("a", 601s, "RUNNING"),
      Row("a", 600s, "STARTING", "api"),
  };
  for (size_t i = 0; i < in.transitions.size(); ++i) {
    in.transitions[i].seq = static_cast<int64_t>(100 - i);
  }
  in.before = {{"b", "PAUSED"}};
  in.counts = {{.bucket = 3, .source = "webhook", .outcome = "applied", .count = 5},
               {.bucket = 3, .source = "webhook", .outcome = "duplicate", .count = 2},
               {.bucket = 3, .source = "api", .outcome = "applied", .count = 9},
               {.bucket = 99, .source = "webhook", .outcome = "applied", .count = 1}};
  return in;
}

std::map<SandboxStatus, int64_t> NonZero(const std::map<SandboxStatus, int64_t>& m) {
  std::map<SandboxStatus, int64_t> out;
  for (const auto& [s, n] : m) {
    if (n != 0) out[s] = n;
  }
  return out;
}

TEST(OverviewTest, WindowsAreAnHourOfMinutesOrADayOfQuarterHours) {
  EXPECT_EQ(kHour.length, 1h);
  EXPECT_EQ(kHour.bucket, 1min);
  auto day = ParseOverviewWindow("24h");
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(day->bucket, 15min);
  EXPECT_EQ(ParseOverviewWindow("2h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseOverviewWindow("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OverviewFrom(kHour, kNow), kFrom);
}

TEST(OverviewTest, BucketsCoverTheWindowAndTheLastEndsNow) {
  Overview o = Summarize(kHour, kNow, Scripted());
  ASSERT_EQ(o.buckets.size(), 60u);
  EXPECT_EQ(o.from, kFrom);
  EXPECT_EQ(o.to, kNow);
  EXPECT_EQ(o.buckets.front().start, kFrom);
  EXPECT_EQ(o.buckets.back().end, kNow);
  EXPECT_EQ(o.buckets[1].start, o.buckets[0].end);
  EXPECT_FALSE(o.truncated);
  EXPECT_EQ(o.covered_from, kFrom);
}

TEST(OverviewTest, StatusesAreReplayedBackwardsFromNow) {
  Overview o = Summarize(kHour, kNow, Scripted());
  using M = std::map<SandboxStatus, int64_t>;
  // Minute 0: only b (PAUSED before the window) and c.
  EXPECT_EQ(NonZero(o.buckets[0].statuses),
            (M{{SandboxStatus::kRunning, 1}, {SandboxStatus::kPaused, 1}}));
  // Minute 10 ends at 660 s: a runs since 601 s.
  EXPECT_EQ(NonZero(o.buckets[10].statuses),
            (M{{SandboxStatus::kRunning, 2}, {SandboxStatus::kPaused, 1}}));
  // Minute 20 ends at 1260 s: b was killed at 1200 s.
  EXPECT_EQ(NonZero(o.buckets[20].statuses),
            (M{{SandboxStatus::kRunning, 2}, {SandboxStatus::kKilled, 1}}));
  // Minute 30 ends at 1860 s: a paused at 1801 s.
  EXPECT_EQ(NonZero(o.buckets[30].statuses),
            (M{{SandboxStatus::kRunning, 1}, {SandboxStatus::kPaused, 1},
               {SandboxStatus::kKilled, 1}}));
  EXPECT_EQ(NonZero(o.buckets.back().statuses), NonZero(o.current));
  EXPECT_EQ(o.current.at(SandboxStatus::kRunning), 2);
}

TEST(OverviewTest, TransitionsLandInTheirBuckets) {
  Overview o = Summarize(kHour, kNow, Scripted());
  int64_t creates = 0, pauses = 0, wakes = 0, kills = 0;
  for (const auto& b : o.buckets) {
    creates += b.creates;
    pauses += b.pauses;
    wakes += b.wakes;
    kills += b.kills;
  }
  // STARTING then RUNNING is one create; PAUSING then PAUSED one pause.
  EXPECT_EQ(creates, 1);
  EXPECT_EQ(pauses, 1);
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(kills, 1);
  EXPECT_EQ(o.buckets[10].creates, 1);
  EXPECT_EQ(o.buckets[30].pauses, 1);
  EXPECT_EQ(o.buckets[50].wakes, 1);
  EXPECT_EQ(o.buckets[20].kills, 1);
}

TEST(OverviewTest, EnforcerLatenessComesFromTheDecisionsInputs) {
  Overview o = Summarize(kHour, kNow, Scripted());
  EXPECT_EQ(o.buckets[30].lateness_ms, std::vector<int64_t>{250});
  for (size_t i = 0; i < o.buckets.size(); ++i) {
    if (i != 30) {
      EXPECT_TRUE(o.buckets[i].lateness_ms.empty()) << i;
    }
  }
}

TEST(OverviewTest, WebhooksAreCountedByOutcomeAndOtherSourcesLeftOut) {
  Overview o = Summarize(kHour, kNow, Scripted());
  EXPECT_EQ(o.buckets[3].webhooks, (std::map<std::string, int64_t>{{"applied", 5},
                                                                     {"duplicate", 2}}));
  int64_t total = 0;
  for (const auto& b : o.buckets) {
    for (const auto& [outcome, n] : b.webhooks) total += n;
  }
  EXPECT_EQ(total, 7);  // bucket 99 is outside the window
}

TEST(OverviewTest, HoursAwakeAndWithoutIdlePauses) {
  Overview o = Summarize(kHour, kNow, Scripted());
  // a: 600..1801 s and 3000..3570 s; c: the whole 3570 s.
  const double awake_s = 1201 + 570 + 3570;
  EXPECT_NEAR(o.running_hours, awake_s / 3600, 1e-9);
  // The idle pause at 1800 s would have run on until the wake at 3000 s.
  EXPECT_EQ(o.idle_pauses, 1);
  EXPECT_NEAR(o.without_idle_pauses_hours, (awake_s + 1200) / 3600, 1e-9);
}

TEST(OverviewTest, AnIdlePauseNeverWokenSavesUntilNowAndAFailedOneNothing) {
  OverviewInputs in;
  in.current = {{"x", SandboxStatus::kPaused}, {"y", SandboxStatus::kRunning}};
  in.before = {{"x", "RUNNING"}, {"y", "RUNNING"}};
  in.transitions = {Row("y", 2001s, "RUNNING", "enforcer"),  // the pause failed
                    Row("y", 2000s, "PAUSING", "enforcer"),
                    Row("x", 1001s, "PAUSED"),
                    Row("x", 1000s, "PAUSING", "enforcer")};
  Overview o = Summarize(kHour, kNow, in);
  EXPECT_EQ(o.idle_pauses, 2);
  const double awake_s = 1001 + 3570;  // x until it paused, y throughout
  EXPECT_NEAR(o.running_hours, awake_s / 3600, 1e-9);
  EXPECT_NEAR(o.without_idle_pauses_hours, (awake_s + (3570 - 1000) + 1) / 3600, 1e-9);
}

TEST(OverviewTest, AForgottenProjectNeverCountsBelowZero) {
  OverviewInputs in;  // d was killed, then forgotten: no record now
  in.before = {{"d", "RUNNING"}};
  in.transitions = {Row("d", 100s, "KILLED", "api")};
  Overview o = Summarize(kHour, kNow, in);
  EXPECT_EQ(NonZero(o.buckets[0].statuses),
            (std::map<SandboxStatus, int64_t>{{SandboxStatus::kRunning, 1}}));
  EXPECT_TRUE(NonZero(o.buckets[2].statuses).empty());
  for (const auto& b : o.buckets) {
    for (const auto& [s, n] : b.statuses) EXPECT_GE(n, 0);
  }
}

TEST(OverviewTest, ATruncatedReadSaysHowFarBackItCovers) {
  OverviewInputs in = Scripted();
  in.transitions.resize(3);  // the newest three: back to a's PAUSED at 1801 s
  in.truncated = true;
  in.before = {{"a", "PAUSING"}};
  Overview o = Summarize(kHour, kNow, in);
  EXPECT_TRUE(o.truncated);
  EXPECT_EQ(o.covered_from, kFrom + 1801s);
}

TEST(OverviewTest, MedianIsTheLowerMiddle) {
  EXPECT_EQ(Median({}), std::nullopt);
  EXPECT_EQ(Median({7}), 7);
  EXPECT_EQ(Median({9, 1, 5}), 5);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2);
}

}  // namespace
}  // namespace sbx::lifecycle
