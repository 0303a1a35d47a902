#include "base/clock.h"

#include <thread>

namespace sbx {
namespace {

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

class SteadyTimer final : public Timer {
 public:
  explicit SteadyTimer(net::any_io_executor ex) : timer_(std::move(ex)) {}

  net::awaitable<Status> WaitUntil(SteadyTime deadline) override {
    timer_.expires_at(deadline);
    auto [ec] = co_await timer_.async_wait(kNoThrow);
    if (ec) co_return Cancelled("timer cancelled");
    co_return OkStatus();
  }
  void Cancel() override { timer_.cancel(); }

 private:
  net::steady_timer timer_;
};

}  // namespace

net::awaitable<Status> Clock::SleepUntil(SteadyTime deadline) {
  auto timer = NewTimer(co_await net::this_coro::executor);
  co_return co_await timer->WaitUntil(deadline);
}

net::awaitable<Status> Clock::SleepFor(std::chrono::steady_clock::duration d) {
  co_return co_await SleepUntil(SteadyNow() + d);
}

SystemTime SystemClock::Now() { return std::chrono::system_clock::now(); }
SteadyTime SystemClock::SteadyNow() { return std::chrono::steady_clock::now(); }
std::unique_ptr<Timer> SystemClock::NewTimer(net::any_io_executor executor) {
  return std::make_unique<SteadyTimer>(std::move(executor));
}
void SystemClock::BlockingSleep(std::chrono::steady_clock::duration d) {
  std::this_thread::sleep_for(d);
}

}  // namespace sbx
