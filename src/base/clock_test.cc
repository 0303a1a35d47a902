#include <gtest/gtest.h>

#include "base/testing/fake_clock.h"
#include "base/testing/run_sync.h"

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

TEST(FakeClockTest, BlockingSleepAdvancesTheClockAndIsRecorded) {
  net::io_context io;
  FakeClock clock;
  bool woke = false;
  net::co_spawn(io, [&]() -> net::awaitable<void> {
    (void)co_await clock.SleepFor(150ms);
    woke = true;
  }, net::detached);
  io.poll();
  const SteadyTime start = clock.SteadyNow();
  clock.BlockingSleep(100ms);
  clock.BlockingSleep(50ms);
  EXPECT_EQ(clock.SteadyNow() - start, 150ms);
  EXPECT_EQ(clock.blocking_sleeps(), (std::vector<std::chrono::milliseconds>{100ms, 50ms}));
  EXPECT_EQ(clock.total_blocking_sleep(), 150ms);
  io.restart();
  io.poll();
  EXPECT_TRUE(woke);  // a sleeper whose deadline the blocking sleep passed is released
  clock.ClearBlockingSleeps();
  EXPECT_TRUE(clock.blocking_sleeps().empty());
}

TEST(RunSyncTest, ReturnsTheValueOfAFinishedCoroutine) {
  net::io_context io;
  auto seven = []() -> net::awaitable<int> { co_return 7; };
  EXPECT_EQ(testing::RunSync(io, seven()), 7);
}

TEST(RunSyncDeathTest, FailsWhenTheCoroutineCannotFinish) {
  EXPECT_DEATH(
      {
        net::io_context io;
        FakeClock clock;
        auto stuck = [&]() -> net::awaitable<int> {
          (void)co_await clock.SleepFor(1h);  // nobody advances the clock
          co_return 1;
        };
        (void)testing::RunSync(io, stuck());
      },
      "did not finish");
}

}  // namespace
}  // namespace sbx
