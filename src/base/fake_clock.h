// FakeClock: a Clock that moves only when a test calls Advance(). Each wait is
// parked on a never-expiring Asio timer and released once Advance() passes its
// deadline. Single-threaded: use from the thread that runs the io_context.
#pragma once

#include <list>
#include <mutex>

#include "base/clock.h"

namespace sbx {

class FakeClock final : public Clock {
 public:
  // Starts at 2026-01-01T00:00:00Z wall time unless told otherwise.
  explicit FakeClock(SystemTime start = FromUnixMillis(1'767'225'600'000));

  SystemTime Now() override;
  SteadyTime SteadyNow() override;
  std::unique_ptr<Timer> NewTimer(net::any_io_executor executor) override;

  // Moves both clocks forward and releases every wait whose deadline passed.
  void Advance(std::chrono::steady_clock::duration d);
  // Number of waits currently parked.
  size_t pending_waits();

 private:
  class FakeTimer;
  friend class FakeTimer;
  void Register(FakeTimer* t);
  void Unregister(FakeTimer* t);

  std::mutex mu_;
  SystemTime wall_start_;
  std::chrono::steady_clock::duration elapsed_{0};
  std::list<FakeTimer*> timers_;
};

// Advance(d), then run every ready handler of `io` until none is left.
void AdvanceAndRun(net::io_context& io, FakeClock& clock, std::chrono::steady_clock::duration d);

}  // namespace sbx
