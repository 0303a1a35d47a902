#include "jobs/periodic.h"

#include "base/log.h"

namespace sbx::jobs {

PeriodicJob::PeriodicJob(Clock& clock, std::string name, std::string schedule, Tick tick)
    : clock_(clock), name_(std::move(name)), schedule_text_(std::move(schedule)), tick_(std::move(tick)) {}

Status PeriodicJob::Start(net::any_io_executor executor) {
  auto parsed = CronSchedule::Parse(schedule_text_);
  if (!parsed.ok()) return parsed.error().WithContext(name_ + " schedule");
  schedule_ = *parsed;
  executor_ = executor;
  timer_ = clock_.NewTimer(executor);
  net::co_spawn(executor, Loop(), net::detached);
  return OkStatus();
}

void PeriodicJob::Stop() {
  stopping_ = true;
  if (executor_) net::post(*executor_, [this] { timer_->Cancel(); });
}

net::awaitable<void> PeriodicJob::Loop() {
  while (!stopping_) {
    const SystemTime now = clock_.Now();
    const auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        schedule_->Next(now) - now);
    Status s = co_await timer_->WaitUntil(clock_.SteadyNow() + wait);
    if (stopping_) break;
    if (!s.ok()) continue;
    co_await tick_();
  }
}

}  // namespace sbx::jobs
