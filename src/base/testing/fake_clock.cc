#include "base/testing/fake_clock.h"

namespace sbx {

class FakeClock::FakeTimer final : public Timer {
 public:
  FakeTimer(FakeClock& clock, net::any_io_executor ex) : clock_(clock), timer_(std::move(ex)) {}
  ~FakeTimer() override { clock_.Unregister(this); }

  net::awaitable<Status> WaitUntil(SteadyTime deadline) override {
    deadline_ = deadline;
    fired_ = false;
    if (clock_.SteadyNow() >= deadline) co_return OkStatus();
    timer_.expires_at(SteadyTime::max());
    clock_.Register(this);
    // The timer never expires: it only completes by cancellation, from Fire()
    // (deadline passed) or Cancel().
    (void)co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
    clock_.Unregister(this);
    if (fired_) co_return OkStatus();
    co_return Cancelled("timer cancelled");
  }
  void Cancel() override {
    fired_ = false;
    timer_.cancel();
  }

  void Fire() {
    fired_ = true;
    timer_.cancel();
  }
  SteadyTime deadline() const { return deadline_; }

 private:
  FakeClock& clock_;
  net::steady_timer timer_;
  SteadyTime deadline_{};
  bool fired_ = false;
};

FakeClock::FakeClock(SystemTime start) : wall_start_(start) {}

SystemTime FakeClock::Now() {
  std::lock_guard lock(mu_);
  return wall_start_ + std::chrono::duration_cast<SystemTime::duration>(elapsed_);
}

SteadyTime FakeClock::SteadyNow() {
  std::lock_guard lock(mu_);
  return SteadyTime() + std::chrono::hours(24) + elapsed_;
}

std::unique_ptr<Timer> FakeClock::NewTimer(net::any_io_executor executor) {
  return std::make_unique<FakeTimer>(*this, std::move(executor));
}

void FakeClock::Register(FakeTimer* t) {
  std::lock_guard lock(mu_);
  timers_.push_back(t);
}

void FakeClock::Unregister(FakeTimer* t) {
  std::lock_guard lock(mu_);
  timers_.remove(t);
}

size_t FakeClock::pending_waits() {
  std::lock_guard lock(mu_);
  return timers_.size();
}

void FakeClock::BlockingSleep(std::chrono::steady_clock::duration d) {
  {
    std::lock_guard lock(mu_);
    blocking_sleeps_.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(d));
  }
  Advance(d);
}

std::vector<std::chrono::milliseconds> FakeClock::blocking_sleeps() {
  std::lock_guard lock(mu_);
  return blocking_sleeps_;
}

std::chrono::milliseconds FakeClock::total_blocking_sleep() {
  std::lock_guard lock(mu_);
  std::chrono::milliseconds total{0};
  for (auto d : blocking_sleeps_) total += d;
  return total;
}

void FakeClock::ClearBlockingSleeps() {
  std::lock_guard lock(mu_);
  blocking_sleeps_.clear();
}

void FakeClock::Advance(std::chrono::steady_clock::duration d) {
  std::list<FakeTimer*> due;
  {
    std::lock_guard lock(mu_);
    elapsed_ += d;
    const SteadyTime now = SteadyTime() + std::chrono::hours(24) + elapsed_;
    for (auto it = timers_.begin(); it != timers_.end();) {
      if ((*it)->deadline() <= now) {
        due.push_back(*it);
        it = timers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (FakeTimer* t : due) t->Fire();
}

void AdvanceAndRun(net::io_context& io, FakeClock& clock, std::chrono::steady_clock::duration d) {
  // Advance in steps of 100 ms so that timers re-armed by a
  // released waiter (an enforcer re-planning after a pause) still see each
  // deadline in order.
  const auto step = std::chrono::steady_clock::duration(std::chrono::milliseconds(100));
  auto left = d;
  io.restart();
  io.poll();
  while (left > decltype(left)::zero()) {
    const auto s = std::min(step, left);
    clock.Advance(s);
    left -= s;
    io.restart();
    io.poll();
  }
}

}  // namespace sbx
