// IdleEnforcer pauses sandboxes whose idle timeout has passed, whether or not
// anyone is watching. Two triggers: an exact timer armed at the earliest
// pauseAt in the read model (re-planned on every committed change), and a
// cron sweep over the store as the safety net (retries failed pauses, catches
// anything the timer missed). Each pass is stored as a job run.
// Runs on a strand of the executor given to Start(); public calls are
// thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "base/metrics.h"
#include "jobs/cron.h"
#include "jobs/leadership.h"
#include "lifecycle/lifecycle.h"
#include "store/store.h"

namespace sbx::jobs {

inline constexpr char kIdleEnforcerJob[] = "idle-enforcer";

struct IdleEnforcerOptions {
  std::string schedule = "*/2 * * * *";  // cron or "@every <duration>" for the sweep
  int sweep_limit = 10000;               // most candidates one sweep examines
  bool exact_timer = true;               // arm a timer at the earliest pauseAt
  int concurrency = 8;                   // pauses in flight at once during one pass
};

struct PassResult {
  int64_t checked = 0;
  int64_t paused = 0;
  int64_t failed = 0;
};

class IdleEnforcer {
 public:
  // Fails (kInvalidArgument) at Start() if the schedule does not parse.
  // Only passes made while `leadership` says so pause anything.
  IdleEnforcer(Clock& clock, BlockingPool& store_pool, store::Store& store,
               lifecycle::Lifecycle& lifecycle, lifecycle::EventBus& bus, Metrics& metrics,
               Leadership& leadership, IdleEnforcerOptions options);
  ~IdleEnforcer();

  Status Start(net::any_io_executor executor);
  void Stop();

  // One sweep now (the cron trigger calls this). Records a job run. Does
  // nothing (and records nothing) unless this replica is the leader.
  net::awaitable<PassResult> Sweep(std::string trigger = "schedule");
  // The enforcer's stored runs, newest first, at most `limit`, with ids
  // below `before_id` (0: from the newest) (store pool).
  net::awaitable<Result<std::vector<store::JobRun>>> RecentRuns(int limit,
                                                                int64_t before_id = 0);

 private:
  net::awaitable<void> TimerLoop();
  net::awaitable<void> SweepLoop();
  net::awaitable<PassResult> PauseDue(const std::vector<std::string>& projects,
                                      const std::string& trigger);
  // The earliest pauseAt the timer should fire at; skips sandboxes whose
  // last pause failed after their deadline (the sweep retries those).
  std::optional<SystemTime> NextDeadline() const;

  Clock& clock_;
  BlockingPool& store_pool_;
  store::Store& store_;
  lifecycle::Lifecycle& lifecycle_;
  lifecycle::EventBus& bus_;
  Metrics& metrics_;
  Leadership& leadership_;
  IdleEnforcerOptions options_;
  std::optional<CronSchedule> schedule_;
  std::optional<net::strand<net::any_io_executor>> strand_;
  std::unique_ptr<Timer> plan_timer_;
  std::unique_ptr<Timer> sweep_timer_;
  std::atomic<bool> replan_{false};
  std::atomic<bool> stopping_{false};
  // For the alert on sweeps that stop (SandboxdEnforcerNotRunning): when
  // the last scheduled or failover sweep finished here (Start's time until
  // the first),
  // and the longest wait the schedule has between two sweeps.
  std::atomic<int64_t> last_sweep_ms_{0};
  Millis schedule_gap_{0};
  int64_t subscription_ = 0;
};

}  // namespace sbx::jobs
