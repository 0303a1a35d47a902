// Keep-alive for providers that end sandboxes at their own timeout (E2B):
// every pass extends the provider-side timeout of the RUNNING sandboxes that
// are in use, so the provider never ends a sandbox sandboxd considers active
// (one call per sandbox per pass, never per request). KeepAliveJob runs the
// pass on a schedule, on the leader only. REQUIRES: one executor's thread.
#pragma once

#include <chrono>
#include <string>

#include "base/clock.h"
#include "jobs/leadership.h"
#include "jobs/periodic.h"
#include "lifecycle/lifecycle.h"

namespace sbx::jobs {

struct KeepAliveOptions {
  std::chrono::seconds provider_timeout{600};  // TTL requested from the provider, s
  std::chrono::seconds renew_before{300};      // renew when the provider end is this close, s
  std::string schedule = "@every 60s";         // how often KeepAliveJob runs a pass
};

// One keep-alive pass: every RUNNING sandbox whose provider-side end time is
// unknown or within `renew_before`, and which had activity within its idle
// timeout, gets its provider timeout set to `provider_timeout`. Returns how
// many were extended; failures are logged and left to the next pass.
net::awaitable<int> KeepAlivePass(lifecycle::Lifecycle& lifecycle, KeepAliveOptions options,
                                  lifecycle::Decider by = {});

class KeepAliveJob {
 public:
  KeepAliveJob(Clock& clock, lifecycle::Lifecycle& lifecycle, Leadership& leadership,
               KeepAliveOptions options);
  // kInvalidArgument for a bad schedule.
  Status Start(net::any_io_executor executor);
  void Stop();

 private:
  lifecycle::Lifecycle& lifecycle_;
  Leadership& leadership_;
  KeepAliveOptions options_;
  PeriodicJob job_;
};

}  // namespace sbx::jobs
