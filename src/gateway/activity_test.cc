#include "gateway/activity.h"

#include <gtest/gtest.h>

#include "lifecycle/testing.h"

namespace sbx::gateway {
namespace {

using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;
using namespace std::chrono_literals;

class PreviewActivityTest : public ::testing::Test {
 protected:
  core::Sandbox Create(const std::string& project, int64_t idle_timeout_s) {
    lifecycle::CreateOptions o;
    o.idle_timeout_s = idle_timeout_s;
    auto r = RunSync(h_.io, h_.lifecycle.Create(project, o));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->sandbox : core::Sandbox{};
  }
  double Writes() {
    return h_.metrics.CounterValue("sandboxd_activity_total", {{"source", "preview"}});
  }
  core::Sandbox Record(const std::string& project) { return *h_.read_model.Get(project); }

  Harness h_;
  PreviewActivity activity_{h_.clock, h_.lifecycle, {.granularity = 2s}};
};

TEST_F(PreviewActivityTest, WindowIsGranularityOrAQuarterOfTheIdleTimeout) {
  Create("long", 180);
  Create("short", 3);
  EXPECT_EQ(activity_.WindowFor("long"), 2s);
  EXPECT_EQ(activity_.WindowFor("short"), 750ms);
  EXPECT_EQ(activity_.WindowFor("unknown"), 2s);
}

TEST_F(PreviewActivityTest, FirstTouchIsWrittenAtOnce) {
  Create("p", 180);
  activity_.Start(h_.io.get_executor());
  AdvanceAndRun(h_.io, h_.clock, 10s);
  const SystemTime at = h_.clock.Now();
  activity_.Touch("p");
  AdvanceAndRun(h_.io, h_.clock, 0s);
  EXPECT_EQ(Writes(), 1);
  EXPECT_EQ(Record("p").last_activity_at, TruncateToMillis(at));
  AdvanceAndRun(h_.io, h_.clock, 2s);
  EXPECT_TRUE(activity_.idle()) << "an untouched window ends the writer";
  EXPECT_EQ(Writes(), 1);
}

TEST_F(PreviewActivityTest, SteadyTrafficCostsOneWritePerWindowAndBoundsPauseAt) {
  Create("p", 60);
  activity_.Start(h_.io.get_executor());
  AdvanceAndRun(h_.io, h_.clock, 1s);
  const double before = Writes();
  SystemTime last_touch{};
  for (int i = 0; i < 100; ++i) {  // every 100 ms for 10 s
    last_touch = h_.clock.Now();
    activity_.Touch("p");
    AdvanceAndRun(h_.io, h_.clock, 100ms);
    // Never later than the last touch + one window.
    const core::Sandbox s = Record("p");
    EXPECT_GE(s.last_activity_at + 2s, TruncateToMillis(last_touch)) << "at touch " << i;
  }
  const double writes = Writes() - before;
  EXPECT_GE(writes, 5) << "one write per 2 s window over 10 s";
  EXPECT_LE(writes, 6);
  AdvanceAndRun(h_.io, h_.clock, 5s);
  EXPECT_TRUE(activity_.idle());
  const core::Sandbox s = Record("p");
  const SystemTime pause_at = *core::PauseAt(s);
  EXPECT_GE(pause_at, TruncateToMillis(last_touch) + 60s) << "never before the last touch + idle";
  EXPECT_LE(pause_at, last_touch + 60s + 2s) << "never after last touch + idle + window";
}

TEST_F(PreviewActivityTest, OpenStreamIsActivityInEveryWindowUntilClosed) {
  Create("p", 180);
  activity_.Start(h_.io.get_executor());
  AdvanceAndRun(h_.io, h_.clock, 1s);  // past the creation's own lastActivityAt
  activity_.OpenStream("p");
  AdvanceAndRun(h_.io, h_.clock, 9s);
  EXPECT_GE(Writes(), 5) << "written at open and at each 2 s window while open";
  EXPECT_FALSE(activity_.idle());
  activity_.CloseStream("p");
  const SystemTime closed_at = h_.clock.Now();
  AdvanceAndRun(h_.io, h_.clock, 5s);
  EXPECT_TRUE(activity_.idle());
  EXPECT_GE(Record("p").last_activity_at, TruncateToMillis(closed_at)) << "close counts as a touch";
  const double after = Writes();
  AdvanceAndRun(h_.io, h_.clock, 10s);
  EXPECT_EQ(Writes(), after);
}

TEST_F(PreviewActivityTest, StopWritesWhatIsPending) {
  Create("p", 180);
  activity_.Start(h_.io.get_executor());
  AdvanceAndRun(h_.io, h_.clock, 1s);
  activity_.Touch("p");
  AdvanceAndRun(h_.io, h_.clock, 500ms);
  const SystemTime pending_at = h_.clock.Now();
  activity_.Touch("p");  // trailing: due at the end of the window
  AdvanceAndRun(h_.io, h_.clock, 100ms);
  EXPECT_EQ(Writes(), 1);
  activity_.Stop();
  AdvanceAndRun(h_.io, h_.clock, 0s);
  EXPECT_EQ(Writes(), 2);
  EXPECT_GE(Record("p").last_activity_at, TruncateToMillis(pending_at));
  EXPECT_TRUE(activity_.idle());
  activity_.Touch("p");  // ignored once stopped
  AdvanceAndRun(h_.io, h_.clock, 0s);
  EXPECT_TRUE(activity_.idle());
}

}  // namespace
}  // namespace sbx::gateway
