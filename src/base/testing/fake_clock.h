// FakeClock: a Clock that moves only when a test calls Advance() (or a
// blocking sleep simulates its wait). Each wait is parked on a never-expiring
// Asio timer and released once Advance() passes its deadline. Test-only
// (sbx_base_testing). Single-threaded: use from the thread that runs the
// io_context; BlockingSleep from an inline BlockingPool is fine.
#pragma once

#include <list>
#include <mutex>
#include <vector>

#include "base/clock.h"

namespace sbx {

class FakeClock final : public Clock {
 public:
  // Starts at 2026-01-01T00:00:00Z wall time unless told otherwise.
  explicit FakeClock(SystemTime start = FromUnixMillis(1'767'225'600'000));

  SystemTime Now() override;
  SteadyTime SteadyNow() override;
  std::unique_ptr<Timer> NewTimer(net::any_io_executor executor) override;
  // Records `d` and advances the clock by it instead of blocking.
  void BlockingSleep(std::chrono::steady_clock::duration d) override;

  // Moves both clocks forward and releases every wait whose deadline passed.
  void Advance(std::chrono::steady_clock::duration d);
  // Number of waits currently parked.
  size_t pending_waits();
  // Every BlockingSleep so far, in order, and their sum; Clear forgets them.
  std::vector<std::chrono::milliseconds> blocking_sleeps();
  std::chrono::milliseconds total_blocking_sleep();
  void ClearBlockingSleeps();

 private:
  class FakeTimer;
  friend class FakeTimer;
  void Register(FakeTimer* t);
  void Unregister(FakeTimer* t);

  std::mutex mu_;
  SystemTime wall_start_;
  std::chrono::steady_clock::duration elapsed_{0};
  std::list<FakeTimer*> timers_;
  std::vector<std::chrono::milliseconds> blocking_sleeps_;
};

// Advance(d), then run every ready handler of `io` until none is left.
void AdvanceAndRun(net::io_context& io, FakeClock& clock, std::chrono::steady_clock::duration d);

}  // namespace sbx
