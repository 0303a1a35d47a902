// Background jobs that run on a schedule besides the idle enforcer:
// Reconciler repairs drift between records and the provider (lost webhooks,
// crashes); KeepAlive extends the provider-side timeout of active sandboxes
// so the provider never ends a sandbox sandboxd considers in use. Both run on
// the executor given to Start() and skip a tick while the previous one runs.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/metrics.h"
#include "jobs/cron.h"
#include "lifecycle/lifecycle.h"

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

struct KeepAliveOptions {
  std::chrono::seconds provider_timeout{600};  // TTL requested from the provider, s
  std::chrono::seconds renew_before{300};      // renew when the provider end is this close, s
};

// One keep-alive pass: every RUNNING sandbox whose provider-side end time is
// unknown or within `renew_before`, and which had activity within its idle
// timeout, gets its provider timeout set to `provider_timeout` (one call per
// sandbox per pass, never per request). Returns how many were extended.
net::awaitable<int> KeepAlivePass(lifecycle::Lifecycle& lifecycle, KeepAliveOptions options);

}  // namespace sbx::jobs
