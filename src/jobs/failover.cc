#include "jobs/failover.h"

#include "base/log.h"

namespace sbx::jobs {

FailoverJob::FailoverJob(Clock& clock, lifecycle::Lifecycle& lifecycle, IdleEnforcer& enforcer,
                         Leadership& leadership, FailoverOptions options)
    : lifecycle_(lifecycle),
      enforcer_(enforcer),
      leadership_(leadership),
      options_(options),
      last_term_(leadership.term()),
      job_(clock, "failover", "@every 1s", [this] { return Tick(); }) {}

Status FailoverJob::Start(net::any_io_executor executor) { return job_.Start(executor); }
void FailoverJob::Stop() { job_.Stop(); }

net::awaitable<void> FailoverJob::Tick() {
  if (!leadership_.IsLeader() || leadership_.term() == last_term_) co_return;
  last_term_ = leadership_.term();
  auto r = co_await lifecycle_.Reconcile(options_.in_flight_grace,
                                         DeciderFor(leadership_, "failover"));
  if (!r.ok()) SBX_LOG_WARN("failover reconcile: {}", r.error().ToString());
  (void)co_await enforcer_.Sweep("failover");
}

}  // namespace sbx::jobs
