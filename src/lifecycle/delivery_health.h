// DeliveryHealth: what sandboxd knows about the provider's webhook delivery,
// for the alerts on what breaks silently. The webhook receiver reports every
// delivery that passes its signature check; the reconciler reports every
// record it had to repair (a change a webhook should have reported). Drift
// repaired since the last verified webhook, with no webhook since, means
// deliveries are likely lost (a wrong URL or secret, a deleted
// registration). Read by /readyz's detail and the metrics
// sandboxd_webhook_last_verified_timestamp_seconds and
// sandboxd_drift_since_last_webhook. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>

#include "base/time.h"

namespace sbx::lifecycle {

class DeliveryHealth {
 public:
  struct Snapshot {
    std::optional<SystemTime> last_webhook;  // newest delivery that passed the signature check
    std::optional<SystemTime> last_drift;    // newest repair by the reconciler
    int64_t drift_since_webhook = 0;         // repairs after last_webhook (all, if none yet)
    // Drift with no webhook since: deliveries are probably not arriving.
    bool silent() const { return drift_since_webhook > 0; }
  };

  void WebhookVerified(SystemTime at) {
    std::lock_guard lock(mu_);
    state_.last_webhook = at;
    state_.drift_since_webhook = 0;
  }
  void DriftRepaired(SystemTime at) {
    std::lock_guard lock(mu_);
    state_.last_drift = at;
    ++state_.drift_since_webhook;
  }
  Snapshot Get() const {
    std::lock_guard lock(mu_);
    return state_;
  }

 private:
  mutable std::mutex mu_;
  Snapshot state_;  // guarded by mu_
};

}  // namespace sbx::lifecycle
