#include "gateway/wake_holder.h"

#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "lifecycle/testing.h"

namespace sbx::gateway {
namespace {

using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;
using namespace std::chrono_literals;
using core::SandboxStatus;

class WakeHolderTest : public ::testing::Test {
 protected:
  void SetUp() override { holder_.Start(h_.io.get_executor()); }

  core::Sandbox CreatePaused(const std::string& project) {
    auto r = RunSync(h_.io, h_.lifecycle.Create(project, {}));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    auto p = RunSync(h_.io, h_.lifecycle.Pause(project));
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    h_.Drain();
    auto s = h_.read_model.Get(project);
    EXPECT_EQ(s->status, SandboxStatus::kPaused);
    return *s;
  }
  // Applies a command directly (no provider call follows).
  void Command(core::EventType type, const std::string& project) {
    core::LifecycleEvent ev;
    ev.id = h_.ids.NewUuid();
    ev.type = type;
    ev.timestamp = h_.clock.Now();
    ev.project_id = project;
    auto r = RunSync(h_.io, h_.lifecycle.Apply(ev));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // Starts a wait; its result lands in `out`.
  void Wait(const core::Sandbox& s, std::optional<HoldResult>& out,
            std::chrono::seconds timeout = 30s) {
    net::co_spawn(h_.io, holder_.WaitUntilRunning(s.project_id, s.sandbox_id,
                                                  h_.clock.SteadyNow() + timeout),
                  [&out](std::exception_ptr e, HoldResult r) {
                    ASSERT_FALSE(e);
                    out = std::move(r);
                  });
  }
  size_t Parked() { return h_.clock.pending_waits(); }

  Harness h_;
  WakeHolder holder_{h_.clock, h_.lifecycle, h_.bus, h_.metrics};
};

TEST_F(WakeHolderTest, RunningIsReadyAtOnce) {
  auto r = RunSync(h_.io, h_.lifecycle.Create("p", {}));
  ASSERT_TRUE(r.ok());
  std::optional<HoldResult> out;
  Wait(r->sandbox, out);
  h_.Drain();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->outcome, HoldOutcome::kRunning);
  EXPECT_EQ(h_.provider.calls("resume"), 0);
}

TEST_F(WakeHolderTest, FiftyWaitersOnAPausedSandboxMakeOneResume) {
  const core::Sandbox paused = CreatePaused("p");
  std::vector<std::optional<HoldResult>> out(50);
  for (auto& o : out) Wait(paused, o);
  h_.Drain();
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(out[i]) << "waiter " << i << " still waits";
    EXPECT_EQ(out[i]->outcome, HoldOutcome::kRunning) << i;
    EXPECT_EQ(out[i]->sandbox->status, SandboxStatus::kRunning);
  }
  EXPECT_EQ(h_.provider.calls("resume"), 1);
  EXPECT_EQ(h_.metrics.CounterValue("sandboxd_preview_wakes_total"), 1);
  EXPECT_EQ(holder_.waiting(), 0u);
  EXPECT_EQ(Parked(), 0u);
  auto history = RunSync(h_.io, h_.lifecycle.History("p", 10));
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->front().type, "resumed");
  EXPECT_EQ(history->front().source, "preview");
}

TEST_F(WakeHolderTest, PausingIsWokenOncePaused) {
  auto r = RunSync(h_.io, h_.lifecycle.Create("p", {}));
  ASSERT_TRUE(r.ok());
  Command(core::EventType::kPauseRequested, "p");  // PAUSING; the provider call is ours
  std::optional<HoldResult> out;
  Wait(r->sandbox, out);
  AdvanceAndRun(h_.io, h_.clock, 5s);
  EXPECT_FALSE(out) << "held while PAUSING";
  EXPECT_EQ(h_.provider.calls("resume"), 0);
  Command(core::EventType::kPaused, "p");
  h_.Drain();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->outcome, HoldOutcome::kRunning);
  EXPECT_EQ(h_.provider.calls("resume"), 1);
}

TEST_F(WakeHolderTest, StartingThatNeverServesEndsAtTheDeadlineAndLeavesNothing) {
  const core::Sandbox paused = CreatePaused("p");
  Command(core::EventType::kWakeRequested, "p");  // STARTING, and no resume will come
  std::optional<HoldResult> a, b;
  Wait(paused, a, 30s);
  AdvanceAndRun(h_.io, h_.clock, 10s);
  Wait(paused, b, 30s);
  AdvanceAndRun(h_.io, h_.clock, 19s + 900ms);
  EXPECT_FALSE(a);
  EXPECT_EQ(holder_.waiting(), 2u);
  AdvanceAndRun(h_.io, h_.clock, 100ms);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->outcome, HoldOutcome::kDeadline);
  EXPECT_FALSE(b);
  AdvanceAndRun(h_.io, h_.clock, 10s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->outcome, HoldOutcome::kDeadline);
  EXPECT_EQ(holder_.waiting(), 0u);
  EXPECT_EQ(Parked(), 0u);
  EXPECT_EQ(h_.provider.calls("resume"), 0);
}

TEST_F(WakeHolderTest, FailedResumeAnswersItsWaitersAndTheNextRequestTriesAgain) {
  const core::Sandbox paused = CreatePaused("p");
  h_.provider.FailNext("resume", Unavailable("provider down"));
  std::optional<HoldResult> a, b;
  Wait(paused, a);
  Wait(paused, b);
  h_.Drain();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(a->outcome, HoldOutcome::kWakeFailed);
  EXPECT_NE(a->detail.find("provider down"), std::string::npos) << a->detail;
  EXPECT_EQ(b->outcome, HoldOutcome::kWakeFailed);
  EXPECT_EQ(h_.provider.calls("resume"), 1);
  EXPECT_EQ(h_.read_model.Get("p")->status, SandboxStatus::kPaused);

  std::optional<HoldResult> c;
  Wait(paused, c);
  h_.Drain();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->outcome, HoldOutcome::kRunning);
  EXPECT_EQ(h_.provider.calls("resume"), 2);
}

TEST_F(WakeHolderTest, KilledReplacedAndUnknownSandboxes) {
  const core::Sandbox paused = CreatePaused("p");
  std::optional<HoldResult> other_id;
  core::Sandbox stale = paused;
  stale.sandbox_id = "sbxold";
  Wait(stale, other_id);
  std::optional<HoldResult> unknown;
  core::Sandbox nobody = paused;
  nobody.project_id = "nobody";
  Wait(nobody, unknown);
  h_.Drain();
  ASSERT_TRUE(other_id);
  EXPECT_EQ(other_id->outcome, HoldOutcome::kGone);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->outcome, HoldOutcome::kUnknown);

  Command(core::EventType::kWakeRequested, "p");
  std::optional<HoldResult> killed;
  Wait(paused, killed);
  h_.Drain();
  EXPECT_FALSE(killed);
  ASSERT_TRUE(RunSync(h_.io, h_.lifecycle.Kill("p")).ok());
  h_.Drain();
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->outcome, HoldOutcome::kGone);
  EXPECT_EQ(Parked(), 0u);
}

TEST_F(WakeHolderTest, CancelledWaitReleasesItsPlace) {
  using namespace net::experimental::awaitable_operators;
  const core::Sandbox paused = CreatePaused("p");
  Command(core::EventType::kWakeRequested, "p");
  std::optional<size_t> winner;
  auto race = [&]() -> net::awaitable<void> {
    // The client goes away after 1 s (the gateway races ClientGone the same way).
    auto r = co_await (holder_.WaitUntilRunning("p", paused.sandbox_id,
                                                h_.clock.SteadyNow() + 30s) ||
                       h_.clock.SleepFor(1s));
    winner = r.index();
  };
  net::co_spawn(h_.io, race(), net::detached);
  AdvanceAndRun(h_.io, h_.clock, 500ms);
  EXPECT_EQ(holder_.waiting(), 1u);
  AdvanceAndRun(h_.io, h_.clock, 600ms);
  ASSERT_TRUE(winner);
  EXPECT_EQ(*winner, 1u);
  EXPECT_EQ(holder_.waiting(), 0u);
  EXPECT_EQ(Parked(), 0u) << "no timer left behind";
}

TEST_F(WakeHolderTest, ShutdownEndsEveryWait) {
  const core::Sandbox paused = CreatePaused("p");
  Command(core::EventType::kWakeRequested, "p");
  std::optional<HoldResult> a;
  Wait(paused, a);
  h_.Drain();
  EXPECT_FALSE(a);
  holder_.Shutdown();
  h_.Drain();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->outcome, HoldOutcome::kShutdown);
  std::optional<HoldResult> late;
  Wait(paused, late);
  h_.Drain();
  ASSERT_TRUE(late);
  EXPECT_EQ(late->outcome, HoldOutcome::kShutdown);
}

}  // namespace
}  // namespace sbx::gateway
