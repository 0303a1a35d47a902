// Explain, from real sequences of events through Lifecycle on the test
// harness (FakeClock, FakeProvider, SQLite in memory): each kind of
// explanation reads what the decisions stored.
#include "lifecycle/explain.h"

#include <boost/json.hpp>

#include "lifecycle/lifecycle_test_support.h"

namespace sbx::lifecycle {
namespace {

Explanation ExplainNow(Harness& h, const std::string& project, int streams = 0) {
  auto rows = RunSync(h.io, h.lifecycle.History(project, 200));
  EXPECT_TRUE(rows.ok()) << rows.error().ToString();
  return Explain(*h.lifecycle.Get(project), *rows, h.clock.Now(), streams);
}

boost::json::object Inputs(const Cause& c) { return boost::json::parse(c.inputs).as_object(); }
std::string Text(const boost::json::value& v) { return std::string(v.as_string()); }

TEST(ExplainTest, RunningListsEachLiveReasonAndTheOneThatSetsPauseAt) {
  Harness h;
  CreateRunning(h, "p1");
  const SystemTime started = h.clock.Now();
  h.clock.Advance(20s);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("p1", EventSource::kApi)).ok());
  h.clock.Advance(10s);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RecordActivity("p1", EventSource::kPresence)).ok());
  const SystemTime presence_at = h.clock.Now();

  Explanation e = ExplainNow(h, "p1", /*streams=*/2);
  EXPECT_EQ(e.since, started);
  ASSERT_TRUE(e.cause);
  EXPECT_EQ(e.cause->type, "create_requested");
  EXPECT_EQ(e.cause->by, "a client of the API");
  // start, api and presence activity are all within the idle timeout.
  ASSERT_EQ(e.awake.size(), 4u);
  EXPECT_EQ(e.awake[0].source, "api");
  EXPECT_EQ(e.awake[1].source, "presence");
  EXPECT_EQ(e.awake[2].source, "start");
  EXPECT_EQ(e.awake[3].kind, "presence");
  EXPECT_EQ(e.awake[3].streams, 2);
  EXPECT_EQ(e.pause_at, presence_at + 180s);
  ASSERT_TRUE(e.pause_at_set_by);
  EXPECT_EQ(e.pause_at_set_by->source, "presence");
  EXPECT_NE(e.summary.find("kept awake by an open dashboard (presence) until"), std::string::npos)
      << e.summary;

  // A hold that outlasts the activity sets pauseAt instead; start activity
  // older than the timeout is no longer a live reason.
  h.clock.Advance(175s);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.PlaceHold("p1", "build", 600s)).ok());
  e = ExplainNow(h, "p1");
  ASSERT_TRUE(e.pause_at_set_by);
  EXPECT_EQ(e.pause_at_set_by->kind, "hold");
  EXPECT_EQ(e.pause_at_set_by->name, "build");
  EXPECT_EQ(e.pause_at, h.clock.Now() + 600s);
  std::vector<std::string> kinds;
  for (const auto& r : e.awake) kinds.push_back(r.kind + ":" + r.source + r.name);
  EXPECT_EQ(kinds, (std::vector<std::string>{"activity:presence", "hold:build"}));
  EXPECT_NE(e.summary.find("kept awake by the hold \"build\""), std::string::npos) << e.summary;
}

TEST(ExplainTest, IdlePauseNamesTheEnforcerItsTriggerAndWhatItSaw) {
  Harness h;
  CreateRunning(h, "p1");
  const core::Sandbox before = *h.lifecycle.Get("p1");
  h.clock.Advance(181s);
  const SystemTime decided_at = h.clock.Now();
  auto r = RunSync(h.io, h.lifecycle.PauseIfIdle(
                             "p1", {.trigger = "timer", .replica = "r1", .leader_term = 3}));
  ASSERT_EQ(r.decision, PauseDecision::kPaused) << r.error;
  h.clock.Advance(5s);

  Explanation e = ExplainNow(h, "p1");
  EXPECT_EQ(e.sandbox.status, SandboxStatus::kPaused);
  ASSERT_TRUE(e.cause);
  EXPECT_EQ(e.cause->type, "pause_requested");
  EXPECT_EQ(e.cause->source, "enforcer");
  EXPECT_EQ(e.cause->by, "the idle enforcer (timer)");
  EXPECT_EQ(e.since, decided_at);  // the fake provider pauses at once
  const auto in = Inputs(*e.cause);
  EXPECT_EQ(in.at("trigger"), "timer");
  EXPECT_EQ(in.at("replica"), "r1");
  EXPECT_EQ(in.at("leaderTerm"), 3);
  EXPECT_EQ(Text(in.at("now")), FormatRfc3339(decided_at));
  const auto& record = in.at("record").as_object();
  EXPECT_EQ(record.at("version"), before.version);
  EXPECT_EQ(Text(record.at("lastActivityAt")), FormatRfc3339(before.last_activity_at));
  EXPECT_EQ(record.at("idleTimeoutSeconds"), 180);
  EXPECT_EQ(Text(record.at("pauseAt")), FormatRfc3339(before.last_activity_at + 180s));
  EXPECT_TRUE(e.awake.empty());
  EXPECT_FALSE(e.pause_at);
  EXPECT_NE(e.summary.find("paused by the idle enforcer (timer), no activity since " +
                           FormatRfc3339(before.last_activity_at) + " (idle timeout 180 s)"),
            std::string::npos)
      << e.summary;
  EXPECT_NE(e.next.find("stays PAUSED until a wake"), std::string::npos);
}

// A hold kept the sandbox awake past its idle timeout: the pause came when
// the hold expired, and the summary says so (not only the idle timeout,
// which reads as an enforcer late by the hold's length).
TEST(ExplainTest, APauseWhenAHoldExpiredNamesTheHold) {
  Harness h;
  CreateRunning(h, "p1");
  const SystemTime active = h.lifecycle.Get("p1")->last_activity_at;
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.PlaceHold("p1", "build", 600s)).ok());
  const SystemTime expires = h.clock.Now() + 600s;
  h.clock.Advance(601s);
  auto r = RunSync(h.io, h.lifecycle.PauseIfIdle("p1", {.trigger = "timer"}));
  ASSERT_EQ(r.decision, PauseDecision::kPaused) << r.error;

  Explanation e = ExplainNow(h, "p1");
  EXPECT_NE(e.summary.find("paused by the idle enforcer (timer) when the hold \"build\" expired "
                           "at " + FormatRfc3339(expires) + ", no activity since " +
                           FormatRfc3339(active) + " (idle timeout 180 s)"),
            std::string::npos)
      << e.summary;
}

TEST(ExplainTest, UserPauseProviderPauseAndReconcilerEachSayWhoPausedIt) {
  Harness h;
  CreateRunning(h, "p1");
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Pause("p1")).ok());
  h.Drain();
  Explanation e = ExplainNow(h, "p1");
  ASSERT_TRUE(e.cause);
  EXPECT_EQ(e.cause->type, "pause_requested");
  EXPECT_EQ(e.cause->by, "a client of the API (request)");
  EXPECT_EQ(Inputs(*e.cause).at("record").at("status"), "RUNNING");

  // The provider pauses it on its own (a webhook, no command before it).
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Wake("p1")).ok());
  h.Drain();
  h.clock.Advance(5s);
  LifecycleEvent paused = Webhook("w2", EventType::kPaused, 0);
  paused.timestamp = h.clock.Now();
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Apply(paused)).ok());
  e = ExplainNow(h, "p1");
  ASSERT_EQ(e.sandbox.status, SandboxStatus::kPaused);
  EXPECT_EQ(e.cause->source, "webhook");
  EXPECT_EQ(e.cause->by,
            "the provider (its own timeout, or a client outside sandboxd), by webhook");

  // The reconciler finds a running sandbox paused at the provider.
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.Wake("p1")).ok());
  h.Drain();
  h.provider.SetState("fake1", provider::ProviderState::kPaused);
  auto repaired = RunSync(h.io, h.lifecycle.Reconcile(0s, {.trigger = "schedule"}));
  ASSERT_EQ(*repaired, 1);
  e = ExplainNow(h, "p1");
  EXPECT_EQ(e.cause->source, "reconciler");
  EXPECT_EQ(e.cause->by,
            "the reconciler, which found the provider's state differed (schedule)");
  EXPECT_EQ(Inputs(*e.cause).at("providerState"), "paused");
  EXPECT_EQ(Inputs(*e.cause).at("record").at("status"), "RUNNING");
}

// A pause asked for through the API that fails leaves the sandbox RUNNING
// and not due: nothing retries it before it is idle, and the plan says so.
TEST(ExplainTest, AFailedManualPauseSaysNothingRetriesItBeforeTheIdlePause) {
  Harness h;
  CreateRunning(h, "p1");
  h.clock.Advance(10s);
  h.provider.FailNext("pause", Unavailable("runc pause: exit 1"));
  (void)RunSync(h.io, h.lifecycle.Pause("p1"));
  h.Drain();
  Explanation e = ExplainNow(h, "p1");
  ASSERT_EQ(e.sandbox.status, SandboxStatus::kRunning);
  ASSERT_TRUE(e.failure);
  EXPECT_EQ(e.failure->error.code.rfind("pause_", 0), 0u) << e.failure->error.code;
  EXPECT_EQ(e.failure->retry.find("still due"), std::string::npos) << e.failure->retry;
  EXPECT_NE(e.failure->retry.find("it stays RUNNING: the idle enforcer pauses it at " +
                                  FormatRfc3339(*e.pause_at)),
            std::string::npos)
      << e.failure->retry;
}

// A run longer than the rows read (a hold renewed every 20 s for hours):
// since when comes from the record, and a renewal is not named as the cause.
TEST(ExplainTest, ALongRunOfHoldRenewalsKeepsItsStartAndNamesNoRenewalAsItsCause) {
  const SystemTime t0 = FromUnixMillis(1'767'225'600'000);
  core::Sandbox s;
  s.project_id = "p1";
  s.sandbox_id = "sbx1";
  s.status = SandboxStatus::kRunning;
  s.idle_timeout_s = 180;
  s.activity["start"] = t0;
  s.last_activity_at = t0 + 4000s;
  s.holds["sandboxctl-1"] = t0 + 4060s;
  std::vector<store::HistoryRow> history;  // newest first, as read: renewals only
  for (int i = 0; i < 200; ++i) {
    store::HistoryRow row;
    row.type = "hold_placed";
    row.source = "api";
    row.outcome = "applied";
    row.status = "RUNNING";
    row.recorded_at = t0 + 4000s - std::chrono::seconds(20 * i);
    history.push_back(row);
  }
  Explanation e = Explain(s, history, t0 + 4001s, 0);
  ASSERT_TRUE(e.since);
  EXPECT_EQ(*e.since, t0);
  EXPECT_FALSE(e.cause) << e.cause->type;
}

TEST(ExplainTest, FailedPauseAndFailedWakeSayWhatFailedAndWhatRetries) {
  Harness h;
  CreateRunning(h, "p1");
  h.clock.Advance(181s);
  h.provider.FailNext("pause", Unavailable("runc pause: exit 1"));
  auto r = RunSync(h.io, h.lifecycle.PauseIfIdle("p1", {.trigger = "schedule"}));
  ASSERT_EQ(r.decision, PauseDecision::kFailed);
  Explanation e = ExplainNow(h, "p1");
  EXPECT_EQ(e.sandbox.status, SandboxStatus::kRunning);
  ASSERT_TRUE(e.failure);
  EXPECT_EQ(e.failure->error.code, "pause_failed");
  EXPECT_NE(e.failure->error.message.find("runc pause: exit 1"), std::string::npos);
  EXPECT_EQ(e.failure->retry, "it is still due: the idle enforcer tries again at its next pass");
  // The failed pause left it RUNNING: what brought it there is still its create.
  ASSERT_TRUE(e.cause);
  EXPECT_EQ(e.cause->type, "create_requested");
  EXPECT_EQ(e.next, "it is due: the idle enforcer pauses it at its next pass");

  ASSERT_EQ(RunSync(h.io, h.lifecycle.PauseIfIdle("p1", {.trigger = "schedule"})).decision,
            PauseDecision::kPaused);
  h.provider.FailNext("resume", Unavailable("no capacity"));
  (void)RunSync(h.io, h.lifecycle.Wake("p1", EventSource::kPreview));
  h.Drain();
  e = ExplainNow(h, "p1");
  EXPECT_EQ(e.sandbox.status, SandboxStatus::kPaused);
  ASSERT_TRUE(e.failure);
  EXPECT_EQ(e.failure->error.code, "resume_failed");
  EXPECT_NE(e.failure->retry.find("the next wake"), std::string::npos);
  EXPECT_NE(e.summary.find("Last failure (resume_failed)"), std::string::npos) << e.summary;
  // Who paused it is still the enforcer, not the wake that failed to undo it.
  ASSERT_TRUE(e.cause);
  EXPECT_EQ(e.cause->source, "enforcer");
  EXPECT_EQ(e.cause->type, "pause_requested");
  EXPECT_NE(e.summary.find(": paused by the idle enforcer (schedule)"), std::string::npos)
      << e.summary;
}

// A first create whose provider call failed has nothing before it: the failed
// attempt is the cause, and the summary says it failed (not "killed by").
TEST(ExplainTest, AFailedFirstCreateSaysTheCreateFailed) {
  Harness h;
  h.provider.FailNext("create", Unavailable("no capacity"));
  (void)RunSync(h.io, h.lifecycle.Create("p1", {}));
  h.Drain();
  Explanation e = ExplainNow(h, "p1");
  ASSERT_EQ(e.sandbox.status, SandboxStatus::kKilled);
  ASSERT_TRUE(e.cause);
  EXPECT_EQ(e.cause->type, "create_failed");
  EXPECT_NE(e.summary.find(": the create asked for by a client of the API failed."),
            std::string::npos)
      << e.summary;
  EXPECT_EQ(e.summary.find("killed by"), std::string::npos) << e.summary;
}

TEST(ExplainTest, KeepAliveRecordsItsTtlAndTheRecordItSaw) {
  Harness h;
  CreateRunning(h, "p1");
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.ExtendProviderTimeout(
                                "p1", 300s, {.trigger = "schedule", .replica = "r2"}))
                  .ok());
  auto rows = RunSync(h.io, h.lifecycle.History("p1", 1));
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].source, "keep-alive");
  auto in = boost::json::parse((*rows)[0].inputs).as_object();
  EXPECT_EQ(in.at("ttlSeconds"), 300);
  EXPECT_EQ(in.at("replica"), "r2");
  EXPECT_EQ(in.at("record").at("status"), "RUNNING");
}

}  // namespace
}  // namespace sbx::lifecycle
