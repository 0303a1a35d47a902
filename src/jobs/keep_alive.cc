#include "jobs/keep_alive.h"

#include <boost/json.hpp>

#include "base/log.h"

namespace sbx::jobs {

net::awaitable<int> KeepAlivePass(lifecycle::Lifecycle& lifecycle, KeepAliveOptions options,
                                  lifecycle::Decider by) {
  int extended = 0;
  const SystemTime now = lifecycle.clock().Now();
  for (const core::Sandbox& s : lifecycle.read_model().All()) {
    if (s.status != core::SandboxStatus::kRunning || s.sandbox_id.empty()) continue;
    // Idle past its pause time (activity and holds alike): left to the enforcer.
    if (core::IsIdleDue(s, now)) continue;
    if (s.provider_end_at && *s.provider_end_at - now > options.renew_before) continue;
    const std::string project = s.project_id;
    // What this pass decided on: the end of life it saw, and how close to it it renews.
    boost::json::object seen{
        {"providerEndAt", s.provider_end_at ? boost::json::value(FormatRfc3339(*s.provider_end_at))
                                            : boost::json::value(nullptr)},
        {"renewBeforeSeconds",
         std::chrono::duration_cast<std::chrono::seconds>(options.renew_before).count()}};
    Status st = co_await lifecycle.ExtendProviderTimeout(project, options.provider_timeout, by,
                                                         std::move(seen));
    if (st.ok()) {
      ++extended;
    } else {
      SBX_LOG_WARN("keep-alive of {}: {}", project, st.ToString());
    }
  }
  co_return extended;
}

KeepAliveJob::KeepAliveJob(Clock& clock, lifecycle::Lifecycle& lifecycle, Leadership& leadership,
                           KeepAliveOptions options)
    : lifecycle_(lifecycle),
      leadership_(leadership),
      options_(options),
      job_(clock, "keep-alive", options.schedule, [this]() -> net::awaitable<void> {
        if (!leadership_.IsLeader()) co_return;
        (void)co_await KeepAlivePass(lifecycle_, options_, DeciderFor(leadership_, "schedule"));
      }) {}

Status KeepAliveJob::Start(net::any_io_executor executor) { return job_.Start(executor); }
void KeepAliveJob::Stop() { job_.Stop(); }

}  // namespace sbx::jobs
