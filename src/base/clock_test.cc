#include <gtest/gtest.h>

#include "base/fake_clock.h"

namespace sbx {
namespace {

using namespace std::chrono_literals;

TEST(FakeClockTest, SleepCompletesOnlyOnceDeadlinePasses) {
  net::io_context io;
  FakeClock clock;
  bool done = false;
  Status result = Internal("unset");
  net::co_spawn(io, [&]() -> net::awaitable<void> {
    result = co_await clock.SleepFor(3min);
    done = true;
  }, net::detached);
  AdvanceAndRun(io, clock, 2min + 59s);
  EXPECT_FALSE(done);
  AdvanceAndRun(io, clock, 1s);
  EXPECT_TRUE(done);
  EXPECT_TRUE(result.ok());
}

TEST(FakeClockTest, CancelWakesWithCancelled) {
  net::io_context io;
  FakeClock clock;
  auto timer = clock.NewTimer(io.get_executor());
  Status result = Internal("unset");
  net::co_spawn(io, [&]() -> net::awaitable<void> {
    result = co_await timer->WaitUntil(clock.SteadyNow() + 1h);
  }, net::detached);
  io.poll();
  EXPECT_EQ(clock.pending_waits(), 1u);
  timer->Cancel();
  io.restart();
  io.poll();
  EXPECT_EQ(result.code(), StatusCode::kCancelled);
  EXPECT_EQ(clock.pending_waits(), 0u);
}

TEST(FakeClockTest, WallTimeMovesWithSteadyTime) {
  FakeClock clock;
  const SystemTime w = clock.Now();
  const SteadyTime s = clock.SteadyNow();
  clock.Advance(90s);
  EXPECT_EQ(clock.Now() - w, 90s);
  EXPECT_EQ(clock.SteadyNow() - s, 90s);
}

}  // namespace
}  // namespace sbx
