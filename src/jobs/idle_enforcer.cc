#include "jobs/idle_enforcer.h"

#include <fmt/format.h>

#include "base/log.h"

namespace sbx::jobs {

using namespace std::chrono_literals;

constexpr char kEnforcerFailedHelp[] = "Idle pauses that failed (retried by the next sweep)";

IdleEnforcer::IdleEnforcer(Clock& clock, BlockingPool& store_pool, store::Store& store,
                           lifecycle::Lifecycle& lifecycle, lifecycle::EventBus& bus,
                           Metrics& metrics, Leadership& leadership, IdleEnforcerOptions options)
    : clock_(clock),
      store_pool_(store_pool),
      store_(store),
      lifecycle_(lifecycle),
      bus_(bus),
      metrics_(metrics),
      leadership_(leadership),
      options_(std::move(options)) {}

IdleEnforcer::~IdleEnforcer() {
  if (subscription_) bus_.Unsubscribe(subscription_);
}

Status IdleEnforcer::Start(net::any_io_executor executor) {
  auto parsed = CronSchedule::Parse(options_.schedule);
  if (!parsed.ok()) return parsed.error().WithContext("enforcer schedule");
  schedule_ = *parsed;
  // The series of scheduled sweeps exists from the start, at 0: an alert on
  // its increase (SandboxdEnforcerNotRunning) must fire for a process that
  // never completes one, which an absent series would hide.
  metrics_.Inc("sandboxd_enforcer_runs_total", {{"trigger", "schedule"}}, 0,
               "Idle enforcer passes, by trigger");
  // Likewise the failures (SandboxdPauseFailures): a first pass with
  // failures must show as an increase.
  metrics_.Inc("sandboxd_enforcer_failed_total", {}, 0, kEnforcerFailedHelp);
  // What the alert needs to know whether the sweeps keep their schedule,
  // whatever it is: no scheduled sweep for the schedule's longest gap and
  // five minutes more.
  last_sweep_ms_ = ToUnixMillis(clock_.Now());
  schedule_gap_ = schedule_->LongestGap(clock_.Now());
  metrics_.AddGaugeCallback(
      "sandboxd_enforcer_last_sweep_timestamp_seconds",
      "When this replica last finished a scheduled or failover idle sweep (its start until the "
      "first), Unix s",
      [this] {
        return std::vector<std::pair<Labels, double>>{
            {{}, static_cast<double>(last_sweep_ms_.load()) / 1000}};
      });
  metrics_.AddGaugeCallback(
      "sandboxd_enforcer_schedule_gap_seconds",
      "The longest wait between two sweeps of --enforcer-schedule, s", [this] {
        return std::vector<std::pair<Labels, double>>{
            {{}, std::chrono::duration<double>(schedule_gap_).count()}};
      });
  strand_.emplace(net::make_strand(executor));
  plan_timer_ = clock_.NewTimer(*strand_);
  sweep_timer_ = clock_.NewTimer(*strand_);
  if (options_.exact_timer) {
    // Any committed change may move the earliest deadline: re-plan.
    subscription_ = bus_.Subscribe([this](const core::Sandbox&) {
      if (replan_.exchange(true)) return;  // a re-plan is already on its way
      net::post(*strand_, [this] { plan_timer_->Cancel(); });
    });
    net::co_spawn(*strand_, TimerLoop(), net::detached);
  }
  net::co_spawn(*strand_, SweepLoop(), net::detached);
  return OkStatus();
}

void IdleEnforcer::Stop() {
  stopping_ = true;
  if (!strand_) return;
  net::post(*strand_, [this] {
    plan_timer_->Cancel();
    sweep_timer_->Cancel();
  });
}

std::optional<SystemTime> IdleEnforcer::NextDeadline() const {
  return lifecycle_.read_model().EarliestTimerDeadline();
}

net::awaitable<void> IdleEnforcer::TimerLoop() {
  while (!stopping_) {
    replan_ = false;
    if (!leadership_.IsLeader()) {
      // Followers keep no timer armed at past deadlines (that would spin);
      // they look again once a second and take over when they lead.
      (void)co_await plan_timer_->WaitUntil(clock_.SteadyNow() + 1s);
      continue;
    }
    const auto next = NextDeadline();
    const SystemTime now = clock_.Now();
    const auto wait = next ? std::max<std::chrono::system_clock::duration>(*next - now, 0s)
                           : std::chrono::system_clock::duration(1h);
    Status s = co_await plan_timer_->WaitUntil(
        clock_.SteadyNow() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
    if (stopping_) break;
    if (!s.ok()) continue;  // re-plan requested
    const std::vector<std::string> due = lifecycle_.read_model().TimerDue(clock_.Now());
    if (due.empty()) continue;
    const PassResult pass = co_await PauseDue(due, "timer");
    if (pass.paused == 0) {
      // Due but nothing could be paused (store trouble, a claim that keeps
      // losing): back off instead of retrying in a tight loop.
      (void)co_await plan_timer_->WaitUntil(clock_.SteadyNow() + 1s);
    }
  }
}

net::awaitable<void> IdleEnforcer::SweepLoop() {
  while (!stopping_) {
    const SystemTime now = clock_.Now();
    const SystemTime next = schedule_->Next(now);
    Status s = co_await sweep_timer_->WaitUntil(
        clock_.SteadyNow() +
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(next - now));
    if (stopping_) break;
    if (!s.ok()) continue;
    (void)co_await Sweep("schedule");
  }
}

net::awaitable<PassResult> IdleEnforcer::Sweep(std::string trigger) {
  if (!leadership_.IsLeader()) co_return PassResult{};
  const SystemTime now = clock_.Now();
  const int limit = options_.sweep_limit;
  auto list = [this, now, limit] { return store_.ListIdleDue(now, limit); };
  auto candidates = co_await store_pool_.Run(list);
  std::vector<std::string> projects;
  if (candidates.ok()) {
    for (const auto& s : *candidates) projects.push_back(s.project_id);
  } else {
    SBX_LOG_ERROR("idle sweep: listing candidates: {}", candidates.error().ToString());
  }
  co_return co_await PauseDue(projects, trigger);
}

net::awaitable<PassResult> IdleEnforcer::PauseDue(const std::vector<std::string>& projects,
                                                  const std::string& trigger) {
  store::JobRun run;
  run.job = kIdleEnforcerJob;
  run.trigger = trigger;
  run.started_at = TruncateToMillis(clock_.Now());
  PassResult result;
  // A few workers share the list, so one slow provider call does not hold up
  // the rest; one sandbox's failure never stops the others.
  size_t next = 0;
  int running = std::max(1, std::min<int>(options_.concurrency, static_cast<int>(projects.size())));
  auto done = clock_.NewTimer(co_await net::this_coro::executor);
  // Who decides this pass's pauses (recorded with each of them).
  const lifecycle::Decider by = DeciderFor(leadership_, trigger);
  auto worker = [&]() -> net::awaitable<void> {
    while (next < projects.size()) {
      const std::string project = projects[next++];
      ++result.checked;
      lifecycle::PauseResult pause = co_await lifecycle_.PauseIfIdle(project, by);
      switch (pause.decision) {
        case lifecycle::PauseDecision::kPaused:
          ++result.paused;
          run.paused_projects.push_back(project);
          break;
        case lifecycle::PauseDecision::kFailed:
          ++result.failed;
          run.errors.push_back(std::move(pause.error));
          break;
        case lifecycle::PauseDecision::kNotDue:
          break;
      }
    }
    if (--running == 0) done->Cancel();
  };
  if (projects.empty()) {
    running = 0;
  } else {
    auto ex = co_await net::this_coro::executor;
    for (int i = running; i > 0; --i) net::co_spawn(ex, worker, net::detached);
  }
  // Workers reference this frame: wait for the last one.
  while (running > 0) (void)co_await done->WaitUntil(SteadyTime::max());
  run.finished_at = TruncateToMillis(clock_.Now());
  run.checked = result.checked;
  run.paused = result.paused;
  run.failed = result.failed;
  metrics_.Inc("sandboxd_enforcer_runs_total", {{"trigger", trigger}}, 1,
               "Idle enforcer passes, by trigger");
  // A new leader's first sweep (failover) counts: it is a whole sweep, and
  // until then this replica's time would be its start, long past.
  if (trigger == "schedule" || trigger == "failover") {
    last_sweep_ms_ = ToUnixMillis(run.finished_at);
  }
  metrics_.Inc("sandboxd_enforcer_paused_total", {}, static_cast<double>(result.paused),
               "Sandboxes paused by the idle enforcer");
  metrics_.Inc("sandboxd_enforcer_failed_total", {}, static_cast<double>(result.failed),
               kEnforcerFailedHelp);
  auto record = [this, run] { return store_.RecordJobRun(run); };
  auto stored = co_await store_pool_.Run(record);
  if (!stored.ok()) SBX_LOG_ERROR("recording enforcer run: {}", stored.error().ToString());
  if (result.paused || result.failed) {
    SBX_LOG_INFO("idle enforcer ({}): checked {}, paused {}, failed {}", trigger, result.checked,
                 result.paused, result.failed);
  }
  co_return result;
}

net::awaitable<Result<std::vector<store::JobRun>>> IdleEnforcer::RecentRuns(int limit,
                                                                          int64_t before_id) {
  auto list = [this, limit, before_id] {
    return store_.ListJobRuns(kIdleEnforcerJob, limit, before_id);
  };
  co_return co_await store_pool_.Run(list);
}

}  // namespace sbx::jobs
