// ReconcilerJob repairs drift between sandboxd's records and the provider
// (lost webhooks, crashes, sandboxes removed behind its back) with
// Lifecycle::Reconcile: once at start-up on a single node (StartupPass, before
// anything is served), then on a schedule (--reconcile-schedule) on the
// leader. A periodic repair means provider events are being lost, so it is
// logged as an error. REQUIRES: one executor's thread.
#pragma once

#include <chrono>
#include <string>

#include "base/clock.h"
#include "jobs/leadership.h"
#include "jobs/periodic.h"
#include "lifecycle/lifecycle.h"

namespace sbx::jobs {

struct ReconcilerOptions {
  std::string schedule = "@every 60s";  // cron or "@every <duration>"
  // STARTING/PAUSING records younger than this are left to the operation
  // that is (or may be) still running, s, unless the provider shows it done
  // (LifecycleOptions::create_grace for failing a create). Operations
  // running in this process are skipped whatever their age.
  std::chrono::seconds in_flight_grace{10};
};

class ReconcilerJob {
 public:
  ReconcilerJob(Clock& clock, lifecycle::Lifecycle& lifecycle, Leadership& leadership,
                ReconcilerOptions options);
  // kInvalidArgument for a bad schedule.
  Status Start(net::any_io_executor executor);
  void Stop();

  // Settles everything once (no grace: nothing else runs yet): containers
  // that vanished become KILLED, transitions interrupted by a crash are
  // resolved. Only a single node may do this at start: with replicas, other
  // replicas' operations may be in flight (the leader reconciles on
  // failover instead). Returns the number of records repaired.
  net::awaitable<Result<int>> StartupPass();
  // One scheduled pass: does nothing unless this replica leads.
  net::awaitable<void> Tick();

 private:
  lifecycle::Lifecycle& lifecycle_;
  Leadership& leadership_;
  ReconcilerOptions options_;
  PeriodicJob job_;
};

}  // namespace sbx::jobs
