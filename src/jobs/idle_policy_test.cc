#include "jobs/idle_policy.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "lifecycle/explain.h"
#include "lifecycle/testing.h"

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;
using core::SandboxStatus;
using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;

class IdlePolicyJobTest : public ::testing::Test {
 protected:
  std::unique_ptr<IdlePolicyJob> MakeJob(IdlePolicyOptions options) {
    options.config.timeout = 3min;
    auto job = IdlePolicyJob::Make(h.clock, h.pool, *h.store, h.lifecycle, leader, h.metrics,
                                   options);
    EXPECT_TRUE(job.ok()) << job.error().ToString();
    return std::move(*job);
  }

  void Pass(IdlePolicyJob& job) {
    RunSync(h.io, job.Pass());
    h.Drain();
  }

  // Lets `project` go idle past its timeout and has the enforcer pause it.
  void IdlePause(const std::string& project) {
    const auto s = h.lifecycle.Get(project);
    ASSERT_TRUE(s.ok());
    const auto due = s->last_activity_at + std::chrono::seconds(s->idle_timeout_s);
    if (h.clock.Now() < due) h.clock.Advance(due - h.clock.Now());
    auto r = RunSync(h.io, h.lifecycle.PauseIfIdle(project));
    ASSERT_EQ(r.decision, lifecycle::PauseDecision::kPaused) << r.error;
    h.Drain();
    ASSERT_EQ(h.lifecycle.Get(project)->status, SandboxStatus::kPaused);
  }

  void UserWakes(const std::string& project) {
    ASSERT_TRUE(RunSync(h.io, h.lifecycle.Wake(project)).ok());
    h.Drain();
    ASSERT_EQ(h.lifecycle.Get(project)->status, SandboxStatus::kRunning);
  }

  std::vector<store::HistoryRow> PolicyRows(const std::string& project) {
    auto rows = RunSync(h.io, h.lifecycle.History(project, 100));
    EXPECT_TRUE(rows.ok());
    std::vector<store::HistoryRow> out;
    for (auto& r : *rows) {
      if (r.source == "policy") out.push_back(r);
    }
    return out;
  }

  Harness h;
  AlwaysLeader leader;
};

TEST_F(IdlePolicyJobTest, AdaptiveRaisesTheTimeoutAfterARegretAndSaysWhyInHistory) {
  auto job = MakeJob({.default_policy = "adaptive"});
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("p", {})).ok());
  Pass(*job);  // learns the (empty) history
  IdlePause("p");
  h.clock.Advance(1min);  // back a minute after the idle pause: a regret
  UserWakes("p");
  Pass(*job);
  auto s = h.lifecycle.Get("p");
  EXPECT_EQ(s->idle_timeout_s, 240);  // 3m + the 1m gap
  auto rows = PolicyRows("p");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].type, "settings_changed");
  EXPECT_EQ(rows[0].outcome, "applied");
  EXPECT_NE(rows[0].detail.find("adaptive: regret: back 1m after an idle pause; 3m -> 4m"),
            std::string::npos)
      << rows[0].detail;
  EXPECT_NE(rows[0].inputs.find("\"toSeconds\":240"), std::string::npos) << rows[0].inputs;
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_policy_changes_total", {{"policy", "adaptive"}}), 1);
  // Explain names the change that set the timeout in force.
  auto history = RunSync(h.io, h.lifecycle.History("p", 100));
  auto why = lifecycle::Explain(*s, *history, h.clock.Now(), 0);
  ASSERT_TRUE(why.timeout_set_by.has_value());
  EXPECT_EQ(why.timeout_set_by->by, "the adaptive idle policy (policy)");
  EXPECT_EQ(why.timeout_set_by->detail, rows[0].detail);
  // The next pass sees the same rows again (its read margin): nothing new.
  Pass(*job);
  EXPECT_EQ(PolicyRows("p").size(), 1u);
}

TEST_F(IdlePolicyJobTest, OnlyTheGoverningPolicyActsAndAHandSetTimeoutIsWhereItStepsFrom) {
  auto job = MakeJob({.default_policy = "fixed"});
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("fixed", {})).ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("mine", {})).ok());
  auto chosen = RunSync(h.io, h.lifecycle.ChangeSettings(
                                  "mine", {.idle_timeout_s = 600, .idle_policy = "adaptive"}));
  ASSERT_TRUE(chosen.ok()) << chosen.error().ToString();
  EXPECT_EQ(chosen->idle_policy, "adaptive");
  Pass(*job);
  for (const char* p : {"fixed", "mine"}) IdlePause(p);
  h.clock.Advance(2min);
  for (const char* p : {"fixed", "mine"}) UserWakes(p);
  Pass(*job);
  EXPECT_EQ(h.lifecycle.Get("fixed")->idle_timeout_s, 180);  // fixed changes nothing
  EXPECT_TRUE(PolicyRows("fixed").empty());
  // Stepped from its own 10m (adopted), not from the deployment's 3m: to
  // what would have covered the 2m gap, 12m.
  EXPECT_EQ(h.lifecycle.Get("mine")->idle_timeout_s, 720);
  EXPECT_EQ(PolicyRows("mine").size(), 1u);
}

TEST_F(IdlePolicyJobTest, TheFirstPassLearnsHistoryWithoutActing) {
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("p", {})).ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.ChangeSettings("p", {.idle_policy = "adaptive"})).ok());
  IdlePause("p");
  h.clock.Advance(1min);
  UserWakes("p");
  // A job started after this: what history shows was acted on (or not) then.
  h.clock.Advance(1s);
  auto job = MakeJob({.default_policy = "fixed"});
  Pass(*job);
  EXPECT_EQ(h.lifecycle.Get("p")->idle_timeout_s, 180);
  // It acts on the next regret, stepping from the record's timeout.
  IdlePause("p");
  h.clock.Advance(1min);
  UserWakes("p");
  Pass(*job);
  EXPECT_EQ(h.lifecycle.Get("p")->idle_timeout_s, 240);
}

TEST_F(IdlePolicyJobTest, AShadowLearnsBesideButNeverActs) {
  auto job = MakeJob({.default_policy = "fixed", .shadow = "adaptive"});
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("p", {})).ok());
  Pass(*job);
  IdlePause("p");
  h.clock.Advance(1min);
  UserWakes("p");
  Pass(*job);
  EXPECT_EQ(h.lifecycle.Get("p")->idle_timeout_s, 180);
  EXPECT_TRUE(PolicyRows("p").empty());
  EXPECT_EQ(
      h.metrics.CounterValue("sandboxd_policy_shadow_changes_total", {{"policy", "adaptive"}}),
      1);
}

TEST_F(IdlePolicyJobTest, AFollowerLearnsButLeavesActingToTheLeader) {
  class Follower final : public Leadership {
   public:
    bool IsLeader() const override { return false; }
    int64_t term() const override { return 0; }
  } follower;
  auto job = IdlePolicyJob::Make(h.clock, h.pool, *h.store, h.lifecycle, follower, h.metrics,
                                 {.default_policy = "adaptive"});
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("p", {})).ok());
  Pass(**job);
  IdlePause("p");
  h.clock.Advance(1min);
  UserWakes("p");
  Pass(**job);
  EXPECT_EQ(h.lifecycle.Get("p")->idle_timeout_s, 180);
}

TEST_F(IdlePolicyJobTest, WarmupPreWakesBeforeAHabitualReturnAndHoldsItForItsGrace) {
  // The clock starts on Thursday 2026-01-01 00:00 UTC. The users of p and q
  // leave at 08:00 and come back at 09:00 on Thursday, Friday and Monday.
  auto job = MakeJob({.default_policy = "warmup"});
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("p", {})).ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Create("q", {})).ok());
  const SystemTime start = h.clock.Now();
  Pass(*job);
  for (int day : {0, 1, 4}) {
    h.clock.Advance(start + day * 24h + 8h - h.clock.Now());
    IdlePause("p");
    IdlePause("q");
    h.clock.Advance(1h);
    UserWakes("p");
    UserWakes("q");
    Pass(*job);
  }
  EXPECT_EQ(h.provider.calls("resume"), 6);
  // Tuesday: paused at 08:00; at 08:50 the policy expects the users at 09:00.
  h.clock.Advance(start + 5 * 24h + 8h - h.clock.Now());
  IdlePause("p");
  IdlePause("q");
  h.clock.Advance(40min);
  Pass(*job);
  EXPECT_EQ(h.lifecycle.Get("p")->status, SandboxStatus::kPaused);  // not yet: 08:40
  h.clock.Advance(10min);
  Pass(*job);
  // One pass pre-woke both, each with its reason.
  ASSERT_EQ(h.lifecycle.Get("q")->status, SandboxStatus::kRunning);
  auto q_rows = PolicyRows("q");
  ASSERT_FALSE(q_rows.empty());
  EXPECT_EQ(q_rows.back().type, "wake_requested");
  EXPECT_NE(boost::json::parse(q_rows.back().inputs).at("reason").as_string().find("pre-wake: "),
            std::string::npos)
      << q_rows.back().inputs;
  auto s = h.lifecycle.Get("p");
  EXPECT_EQ(s->status, SandboxStatus::kRunning);
  ASSERT_TRUE(s->holds.count(kPreWakeHold));
  EXPECT_EQ(s->holds.at(kPreWakeHold), TruncateToMillis(h.clock.Now()) + 25min);
  auto rows = PolicyRows("p");
  ASSERT_GE(rows.size(), 2u);  // newest first: the hold, the wake
  EXPECT_EQ(rows.back().type, "wake_requested");
  // The wake records what it was decided on.
  auto inputs = boost::json::parse(rows.back().inputs).as_object();
  EXPECT_EQ(inputs.at("policy"), "warmup");
  EXPECT_EQ(inputs.at("trigger"), "prewake");
  EXPECT_EQ(inputs.at("graceSeconds"), 25 * 60);
  EXPECT_EQ(inputs.at("pausedAt").as_string(), FormatRfc3339(start + 5 * 24h + 8h));
  EXPECT_NE(inputs.at("reason").as_string().find("pre-wake: "), std::string::npos) << inputs;
  ASSERT_TRUE(inputs.contains("record"));
  EXPECT_EQ(inputs.at("record").at("status"), "PAUSED");
  auto history = RunSync(h.io, h.lifecycle.History("p", 100));
  auto why = lifecycle::Explain(*s, *history, h.clock.Now(), 0);
  ASSERT_TRUE(why.cause.has_value()) << why.summary;
  EXPECT_EQ(why.cause->by, "the warmup idle policy, expecting its user back soon (prewake)");
  // The user comes at 09:01: a hit.
  h.clock.Advance(11min);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("p")).ok());
  Pass(*job);
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_policy_prewakes_total",
                                   {{"policy", "warmup"}, {"outcome", "hit"}}),
            1);
  // Once a pause: no second pre-wake while it runs.
  EXPECT_EQ(h.provider.calls("resume"), 8);
}

TEST_F(IdlePolicyJobTest, RefusesUnknownPolicies) {
  auto bad = IdlePolicyJob::Make(h.clock, h.pool, *h.store, h.lifecycle, leader, h.metrics,
                                 {.default_policy = "smart"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto shadow = IdlePolicyJob::Make(h.clock, h.pool, *h.store, h.lifecycle, leader, h.metrics,
                                    {.shadow = "psychic"});
  EXPECT_EQ(shadow.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sbx::jobs
