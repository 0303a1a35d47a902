#include "lifecycle/policy_report.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sbx::lifecycle {
namespace {

using namespace std::chrono_literals;

const SystemTime kFrom = FromUnixMillis(1'800'000'000'000);
const SystemTime kNow = kFrom + 2h;

store::HistoryRow Row(const std::string& project, std::chrono::seconds at,
                      const std::string& status, const std::string& source = "runtime") {
  store::HistoryRow r;
  r.project_id = project;
  r.source = source;
  r.outcome = "applied";
  r.recorded_at = kFrom + at;
  r.status = status;
  return r;
}

// a: idly paused at 10m, woken 4m later (a regret; the resume took 2 s),
// idly paused again at 60m and never woken. b: paused by a user, woken an
// hour later, then idly paused and killed 30 min after.
OverviewInputs Scripted() {
  OverviewInputs in;
  in.transitions = {  // newest first
      Row("b", 6000s, "KILLED", "api"),
      Row("b", 4200s, "PAUSED"),
      Row("b", 4200s, "PAUSING", "enforcer"),
      Row("a", 3601s, "PAUSED"),
      Row("a", 3600s, "PAUSING", "enforcer"),
      Row("b", 3900s, "RUNNING"),
      Row("b", 3898s, "STARTING", "api"),
      Row("a", 842s, "RUNNING"),
      Row("a", 840s, "STARTING", "preview"),
      Row("a", 601s, "PAUSED"),
      Row("a", 600s, "PAUSING", "enforcer"),
      Row("b", 301s, "PAUSED"),
      Row("b", 300s, "PAUSING", "api"),
  };
  std::stable_sort(in.transitions.begin(), in.transitions.end(),
                   [](const store::HistoryRow& x, const store::HistoryRow& y) {
                     return x.recorded_at > y.recorded_at;
                   });
  in.before = {{"a", "RUNNING"}, {"b", "RUNNING"}};
  return in;
}

TEST(PolicyReportTest, CountsIdlePausesRegretWakesAndWhatThePausesSaved) {
  PolicyReport r = ReportPolicy(kFrom, kNow, Scripted(), 10min, 50);
  EXPECT_EQ(r.totals.pauses, 4);
  EXPECT_EQ(r.totals.idle_pauses, 3);
  EXPECT_EQ(r.totals.wakes, 2);
  EXPECT_EQ(r.totals.regret_wakes, 1);  // a after 4 min; b's wake followed a user's pause
  EXPECT_EQ(r.totals.resume_waits, 2);
  // a: 4 min, then from 60 min to now (60 min); b: from 70 min to its kill at 100 min.
  EXPECT_NEAR(r.totals.saved_minutes, 4 + 60 + 30, 1e-9);
  EXPECT_EQ(r.resume_wait_median_ms, 2000);
  EXPECT_EQ(r.resume_wait_p95_ms, 2000);
  EXPECT_EQ(r.project_count, 2);
  ASSERT_EQ(r.projects.size(), 2u);
  EXPECT_EQ(r.projects[0].project_id, "a");  // the most regret wakes first
  EXPECT_EQ(r.projects[0].tally.regret_wakes, 1);
  EXPECT_EQ(r.projects[0].tally.idle_pauses, 2);
  EXPECT_NEAR(r.projects[0].tally.saved_minutes, 64, 1e-9);
  EXPECT_EQ(r.projects[1].tally.regret_wakes, 0);
  EXPECT_EQ(r.covered_from, kFrom);
}

TEST(PolicyReportTest, ARegretIsAWakeWithinTheWindowOnly) {
  EXPECT_EQ(ReportPolicy(kFrom, kNow, Scripted(), 3min, 50).totals.regret_wakes, 0);
  EXPECT_EQ(ReportPolicy(kFrom, kNow, Scripted(), 4min, 50).totals.regret_wakes, 1);
}

TEST(PolicyReportTest, TopKeepsTheMostRegrettedProjects) {
  PolicyReport r = ReportPolicy(kFrom, kNow, Scripted(), 10min, 1);
  ASSERT_EQ(r.projects.size(), 1u);
  EXPECT_EQ(r.projects[0].project_id, "a");
  EXPECT_EQ(r.project_count, 2);
  EXPECT_EQ(r.totals.idle_pauses, 3);  // totals count every project
}

TEST(PolicyReportTest, NothingHappenedIsAnEmptyReport) {
  PolicyReport r = ReportPolicy(kFrom, kNow, {}, 10min, 50);
  EXPECT_EQ(r.totals.idle_pauses, 0);
  EXPECT_EQ(r.resume_wait_median_ms, std::nullopt);
  EXPECT_TRUE(r.projects.empty());
}

}  // namespace
}  // namespace sbx::lifecycle
