// DeliveryHealth: what sandboxd knows about the provider's webhook delivery,
// for the alerts on what breaks silently. The webhook receiver reports every
// delivery that passes its signature check; the reconciler reports every
// record it had to repair (a change a webhook should have reported). Drift
// repaired since the last verified webhook, with no webhook since, means
// deliveries are likely lost (a wrong URL or secret, a deleted
// registration). Read by /readyz's detail and the metrics
// sandboxd_webhook_last_verified_timestamp_seconds and
// sandboxd_drift_since_last_webhook.
//
// Replicas share it through the store: webhooks reach whichever replica the
// load balancer picks while only the leader reconciles, so each process's
// own reports would disagree. Lifecycle::RefreshDeliveryHealth adopts what
// the history says (Store::SummarizeDelivery: rows ordered by the store's
// seq, not by the replicas' clocks) every few seconds, on every replica;
// the reports in between keep it current here. A delivery that leaves no
// history row (signed but malformed, or refused) counts only until then.
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>

#include "base/time.h"
#include "store/store.h"

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
    ++webhooks_;
  }
  void DriftRepaired(SystemTime at) {
    std::lock_guard lock(mu_);
    state_.last_drift = at;
    ++state_.drift_since_webhook;
    ++drifts_;
  }
  Snapshot Get() const {
    std::lock_guard lock(mu_);
    return state_;
  }

  // For a refresh: what this process had reported when the store was asked,
  // to hand back to Adopt with the store's answer.
  struct Mark {
    int64_t webhooks = 0;
    int64_t drifts = 0;
  };
  Mark Begin() const {
    std::lock_guard lock(mu_);
    return {webhooks_, drifts_};
  }
  // Takes what the store says, as asked at `mark`: the history is every
  // replica's, so it replaces what this process saw. Except for what this
  // process reported since `mark`, which the answer may not include yet: a
  // delivery verified since then stands (the next refresh sees its row), and
  // repairs since then are not undercounted.
  void Adopt(const store::DeliverySummary& summary, const Mark& mark) {
    std::lock_guard lock(mu_);
    if (webhooks_ != mark.webhooks) {
      if (summary.last_drift && (!state_.last_drift || *state_.last_drift < *summary.last_drift)) {
        state_.last_drift = summary.last_drift;
      }
      return;
    }
    if (summary.last_webhook) state_.last_webhook = summary.last_webhook;
    if (summary.last_drift) state_.last_drift = summary.last_drift;
    const int64_t local = state_.drift_since_webhook;
    state_.drift_since_webhook = summary.drift_since_webhook;
    if (drifts_ != mark.drifts && local > state_.drift_since_webhook) {
      state_.drift_since_webhook = local;
    }
  }

 private:
  mutable std::mutex mu_;
  Snapshot state_;        // guarded by mu_
  int64_t webhooks_ = 0;  // deliveries verified here; guarded by mu_
  int64_t drifts_ = 0;    // repairs made here; guarded by mu_
};

}  // namespace sbx::lifecycle
