#include "jobs/reconciler.h"

#include "base/log.h"

namespace sbx::jobs {

ReconcilerJob::ReconcilerJob(Clock& clock, lifecycle::Lifecycle& lifecycle, Leadership& leadership,
                             ReconcilerOptions options)
    : lifecycle_(lifecycle),
      leadership_(leadership),
      options_(std::move(options)),
      job_(clock, "reconciler", options_.schedule, [this] { return Tick(); }) {}

Status ReconcilerJob::Start(net::any_io_executor executor) { return job_.Start(executor); }
void ReconcilerJob::Stop() { job_.Stop(); }

net::awaitable<Result<int>> ReconcilerJob::StartupPass() {
  auto r = co_await lifecycle_.Reconcile(std::chrono::seconds(0),
                                         DeciderFor(leadership_, "startup"));
  if (!r.ok()) {
    SBX_LOG_WARN("start-up reconcile: {}", r.error().ToString());
  } else if (*r > 0) {
    SBX_LOG_WARN("start-up reconcile repaired {} sandbox records", *r);
  }
  co_return r;
}

net::awaitable<void> ReconcilerJob::Tick() {
  if (!leadership_.IsLeader()) co_return;
  auto r = co_await lifecycle_.Reconcile(options_.in_flight_grace,
                                         DeciderFor(leadership_, "schedule"));
  if (!r.ok()) {
    SBX_LOG_WARN("reconcile: {}", r.error().ToString());
  } else if (*r > 0) {
    SBX_LOG_ERROR(
        "reconciler repaired {} drifted sandbox records: provider events are being lost "
        "(check webhook delivery)",
        *r);
  }
}

}  // namespace sbx::jobs
