// PeriodicJob runs a coroutine on a schedule (5-field cron or "@every
// <duration>", cron.h) on the executor given to Start(); a tick that runs long
// delays the next one (ticks never overlap). The reconciler, keep-alive and
// failover jobs are built on it. REQUIRES: Start/Stop and the ticks on one
// executor's thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "jobs/cron.h"

namespace sbx::jobs {

// Runs `tick` on `schedule` until Stop(). `tick` must not throw.
class PeriodicJob {
 public:
  using Tick = std::function<net::awaitable<void>()>;
  PeriodicJob(Clock& clock, std::string name, std::string schedule, Tick tick);
  Status Start(net::any_io_executor executor);
  void Stop();

 private:
  net::awaitable<void> Loop();
  Clock& clock_;
  std::string name_;
  std::string schedule_text_;
  std::optional<CronSchedule> schedule_;
  Tick tick_;
  std::unique_ptr<Timer> timer_;
  std::optional<net::any_io_executor> executor_;
  bool stopping_ = false;
};

}  // namespace sbx::jobs
