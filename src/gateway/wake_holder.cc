#include "gateway/wake_holder.h"

#include "base/log.h"

namespace sbx::gateway {

using core::SandboxStatus;

std::string_view HoldOutcomeName(HoldOutcome o) {
  switch (o) {
    case HoldOutcome::kRunning: return "running";
    case HoldOutcome::kGone: return "gone";
    case HoldOutcome::kUnknown: return "unknown";
    case HoldOutcome::kWakeFailed: return "wake_failed";
    case HoldOutcome::kDeadline: return "deadline";
    case HoldOutcome::kCancelled: return "cancelled";
    case HoldOutcome::kShutdown: return "shutdown";
  }
  return "unknown";
}

WakeHolder::WakeHolder(Clock& clock, lifecycle::Lifecycle& lifecycle, lifecycle::EventBus& bus,
                       Metrics& metrics)
    : clock_(clock), lifecycle_(lifecycle), bus_(bus), metrics_(metrics) {}

WakeHolder::~WakeHolder() {
  if (subscription_ != 0) bus_.Unsubscribe(subscription_);
}

void WakeHolder::Start(net::any_io_executor executor) {
  executor_ = std::move(executor);
  subscription_ = bus_.Subscribe([this](const core::Sandbox& s) {
    // A waiter registers before it reads the read model, and the read model
    // is updated before this runs: if the count is 0 here, any waiter that
    // registers later reads the new state itself.
    if (waiting_shared_.load() == 0) return;
    net::post(executor_, [this, project = s.project_id] { OnChange(project); });
  });
}

void WakeHolder::OnChange(const std::string& project) {
  auto it = episodes_.find(project);
  if (it == episodes_.end()) return;
  Episode& ep = it->second;
  const auto s = lifecycle_.read_model().Get(project);
  if (s && s->status == SandboxStatus::kPaused && !ep.wake_in_flight) {
    // Whatever wake was asked for has ended. If it failed, the waiters it
    // was asked for get 503; later arrivals ask for a new one.
    if (ep.woke && s->last_error && s->last_error->code == "resume_failed" &&
        s->last_error->at >= ep.woke_at) {
      for (Waiter* w : ep.waiters) w->failed = s->last_error->message;
    }
    ep.woke = false;
  }
  for (Waiter* w : ep.waiters) w->timer->Cancel();  // each re-checks the state
}

void WakeHolder::StartWake(const std::string& project, Episode& episode) {
  if (episode.wake_in_flight || episode.woke) return;
  episode.wake_in_flight = true;
  episode.woke = true;
  episode.woke_at = TruncateToMillis(clock_.Now());
  net::co_spawn(executor_, RunWake(project), [](std::exception_ptr e) {
    if (e) SBX_LOG_ERROR("bug: preview wake threw");
  });
}

net::awaitable<void> WakeHolder::RunWake(std::string project) {
  auto woken = co_await lifecycle_.Wake(project, core::EventSource::kPreview,
                                        /*create_if_killed=*/false);
  Episode& ep = episodes_.at(project);  // kept while wake_in_flight
  ep.wake_in_flight = false;
  if (woken.ok()) {
    if (woken->status == SandboxStatus::kStarting) {
      metrics_.Inc("sandboxd_preview_wakes_total", {}, 1, "Wakes triggered by preview traffic");
    }
  } else if (woken.error().code() == StatusCode::kFailedPrecondition) {
    ep.woke = false;  // PAUSING: woken once it is PAUSED
  } else {
    SBX_LOG_WARN("preview wake of {}: {}", project, woken.error().ToString());
    for (Waiter* w : ep.waiters) w->failed = woken.error().message();
    ep.woke = false;
  }
  for (Waiter* w : ep.waiters) w->timer->Cancel();
  MaybeForget(project);
}

void WakeHolder::MaybeForget(const std::string& project) {
  auto it = episodes_.find(project);
  if (it != episodes_.end() && it->second.waiters.empty() && !it->second.wake_in_flight) {
    episodes_.erase(it);
  }
}

void WakeHolder::Nudge(const std::string& project) {
  if (shutdown_) return;
  const auto s = lifecycle_.read_model().Get(project);
  if (!s || s->status != SandboxStatus::kPaused) return;
  Episode& ep = episodes_[project];
  StartWake(project, ep);
  MaybeForget(project);
}

void WakeHolder::Shutdown() {
  shutdown_ = true;
  for (auto& [project, ep] : episodes_) {
    for (Waiter* w : ep.waiters) w->timer->Cancel();
  }
}

net::awaitable<HoldResult> WakeHolder::WaitUntilRunning(const std::string& project,
                                                        const std::string& sandbox_id,
                                                        SteadyTime deadline) {
  if (shutdown_) co_return HoldResult{HoldOutcome::kShutdown, std::nullopt, ""};
  const SteadyTime start = clock_.SteadyNow();
  Waiter w;
  w.timer = clock_.NewTimer(co_await net::this_coro::executor);
  // Registered before the first read of the read model (see Start).
  Episode& ep = episodes_[project];
  ep.waiters.push_back(&w);
  ++waiting_;
  ++waiting_shared_;
  // Unregisters on every way out, including destruction of this frame.
  struct Registration {
    WakeHolder* self;
    const std::string& project;
    Episode& ep;
    std::list<Waiter*>::iterator pos;
    ~Registration() {
      ep.waiters.erase(pos);
      --self->waiting_;
      --self->waiting_shared_;
      self->MaybeForget(project);
    }
  } registration{this, project, ep, std::prev(ep.waiters.end())};

  HoldResult result;
  for (;;) {
    if (shutdown_) {
      result.outcome = HoldOutcome::kShutdown;
      break;
    }
    result.sandbox = lifecycle_.read_model().Get(project);
    const auto& s = result.sandbox;
    if (w.failed) {
      result.outcome = HoldOutcome::kWakeFailed;
      result.detail = *w.failed;
      break;
    }
    if (!s) {
      result.outcome = HoldOutcome::kUnknown;
      break;
    }
    if (s->sandbox_id != sandbox_id || s->status == SandboxStatus::kKilled) {
      result.outcome = HoldOutcome::kGone;
      break;
    }
    if (s->status == SandboxStatus::kRunning) {
      result.outcome = HoldOutcome::kRunning;
      break;
    }
    if (s->status == SandboxStatus::kPaused) StartWake(project, ep);
    // STARTING and PAUSING: a change on the bus wakes us.
    const Status waited = co_await w.timer->WaitUntil(deadline);
    if (waited.ok()) {
      result.outcome = HoldOutcome::kDeadline;
      break;
    }
    if ((co_await net::this_coro::cancellation_state).cancelled() !=
        net::cancellation_type::none) {
      result.outcome = HoldOutcome::kCancelled;
      break;
    }
  }
  metrics_.Observe("sandboxd_preview_hold_seconds", {{"outcome", std::string(HoldOutcomeName(result.outcome))}},
                   std::chrono::duration<double>(clock_.SteadyNow() - start).count(),
                   "How long preview requests were held for a sandbox to be RUNNING, by outcome");
  co_return result;
}

}  // namespace sbx::gateway
