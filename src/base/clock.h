// Clock: the only source of time in sandboxd. SystemClock reads the real
// clocks; FakeClock (base/testing/fake_clock.h) is advanced by tests. Now(),
// SteadyNow() and BlockingSleep() are thread-safe; timers belong to the
// executor they were made on.
#pragma once

#include <memory>

#include "base/net.h"
#include "base/status.h"
#include "base/time.h"

namespace sbx {

// A cancellable one-shot wait. REQUIRES: used from its executor's thread(s).
class Timer {
 public:
  virtual ~Timer() = default;
  // Completes with OK once the clock's SteadyNow() >= deadline, or with
  // kCancelled if Cancel() is called first. One wait at a time.
  virtual net::awaitable<Status> WaitUntil(SteadyTime deadline) = 0;
  // Wakes the pending wait (if any) with kCancelled.
  virtual void Cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime Now() = 0;        // wall time: stored and shown to users
  virtual SteadyTime SteadyNow() = 0;  // deadlines and intervals
  virtual std::unique_ptr<Timer> NewTimer(net::any_io_executor executor) = 0;
  // Blocks the calling thread for `d`: the one sleep for code that runs on a
  // thread of its own or a BlockingPool (readiness probes, retry backoff, the
  // lease and change-feed threads). Never call it on an I/O thread; there,
  // co_await SleepUntil. FakeClock advances itself by `d` instead.
  virtual void BlockingSleep(std::chrono::steady_clock::duration d) = 0;

  // Completes once SteadyNow() >= deadline.
  net::awaitable<Status> SleepUntil(SteadyTime deadline);
  net::awaitable<Status> SleepFor(std::chrono::steady_clock::duration d);
};

class SystemClock final : public Clock {
 public:
  SystemTime Now() override;
  SteadyTime SteadyNow() override;
  std::unique_ptr<Timer> NewTimer(net::any_io_executor executor) override;
  void BlockingSleep(std::chrono::steady_clock::duration d) override;
};

}  // namespace sbx
