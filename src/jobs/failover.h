// FailoverJob: when this replica becomes the leader (a new Leadership term),
// it first settles what a dead leader may have left half done (PAUSING claims
// that never reached the provider, via Lifecycle::Reconcile), then sweeps for
// idle sandboxes at once instead of waiting for the enforcer's schedule.
// Checks for a new term every second. Only meaningful with replicas.
// REQUIRES: one executor's thread.
#pragma once

#include <chrono>

#include "base/clock.h"
#include "jobs/idle_enforcer.h"
#include "jobs/leadership.h"
#include "jobs/periodic.h"
#include "lifecycle/lifecycle.h"

namespace sbx::jobs {

struct FailoverOptions {
  std::chrono::seconds in_flight_grace{10};  // as ReconcilerOptions::in_flight_grace, s
};

class FailoverJob {
 public:
  FailoverJob(Clock& clock, lifecycle::Lifecycle& lifecycle, IdleEnforcer& enforcer,
              Leadership& leadership, FailoverOptions options);
  Status Start(net::any_io_executor executor);
  void Stop();
  // One check: reconcile and sweep if leadership was gained since the last.
  net::awaitable<void> Tick();

 private:
  lifecycle::Lifecycle& lifecycle_;
  IdleEnforcer& enforcer_;
  Leadership& leadership_;
  FailoverOptions options_;
  int64_t last_term_;
  PeriodicJob job_;
};

}  // namespace sbx::jobs
