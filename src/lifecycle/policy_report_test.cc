#include "lifecycle/policy_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

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

TEST(PolicyReportTest, MomentsAreWhatPoliciesLearnFromOldestFirst) {
  using Kind = policy::Moment::Kind;
  OverviewInputs in = Scripted();
  // a's first idle pause saw its last activity 3 minutes before.
  for (store::HistoryRow& r : in.transitions) {
    if (r.project_id == "a" && r.recorded_at == kFrom + 600s) {
      r.inputs = R"({"record":{"idleTimeoutSeconds":180,"lastActivityAt":")" +
                 FormatRfc3339(kFrom + 420s) + R"("}})";
    }
  }
  // And the policy woke b before its user came (a pre-wake).
  in.transitions.insert(in.transitions.begin() + 1, Row("b", 5000s, "STARTING", "policy"));
  const std::vector<policy::Moment> m = MomentsFrom(in);
  std::vector<std::tuple<Kind, std::string, SystemTime>> got;
  for (const auto& x : m) got.emplace_back(x.kind, x.project, x.at);
  const std::vector<std::tuple<Kind, std::string, SystemTime>> want = {
      {Kind::kPause, "b", kFrom + 300s},      {Kind::kIdlePause, "a", kFrom + 600s},
      {Kind::kReturn, "a", kFrom + 840s},     {Kind::kIdlePause, "a", kFrom + 3600s},
      {Kind::kReturn, "b", kFrom + 3898s},    {Kind::kIdlePause, "b", kFrom + 4200s},
      {Kind::kPreWake, "b", kFrom + 5000s},   {Kind::kEnd, "b", kFrom + 6000s},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(m[1].last_activity, kFrom + 420s);  // from the decision's inputs
  EXPECT_EQ(m[1].timeout, 3min);
  EXPECT_EQ(m[3].last_activity, kFrom + 3600s);  // none stored: the pause itself
  EXPECT_EQ(m[3].timeout, Millis::zero());
}

TEST(PolicyReportTest, ReplaysPoliciesOverTheSameEpisodes) {
  auto fixed = policy::MakeFixed(3min);
  auto lazy = policy::MakeFixed(10min);
  policy::Policy* policies[] = {fixed.get(), lazy.get()};
  const PolicyReplay r = ReplayPolicies(Scripted(), kNow, 10min, policies);
  // a: away from 600 s to its return at 840 s, then from 3600 s on; b: from
  // 4200 s until it was killed at 6000 s.
  EXPECT_EQ(r.episodes, 3);
  ASSERT_EQ(r.policies.size(), 2u);
  EXPECT_EQ(r.policies[0].policy, "fixed");
  EXPECT_EQ(r.policies[0].idle_pauses, 3);  // the 4-minute gap is longer than 3m
  EXPECT_EQ(r.policies[0].resume_waits, 1);
  EXPECT_EQ(r.policies[1].idle_pauses, 2);  // 10m rides out the 4-minute gap, not the others
  EXPECT_EQ(r.policies[1].resume_waits, 0);
}

}  // namespace
}  // namespace sbx::lifecycle
