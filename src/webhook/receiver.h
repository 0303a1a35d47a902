// WebhookReceiver turns a delivered E2B webhook into a lifecycle event:
// verify the signature over the raw body (against every configured secret,
// for rotation), parse either payload casing, then lifecycle::Apply — which
// deduplicates by event id, orders by timestamp and commits state, the
// processed id and the history row together before the caller answers 2xx.
// Thread-safe; Receive() awaits the store through the lifecycle.
#pragma once

#include <string>
#include <vector>

#include "base/log.h"
#include "base/metrics.h"
#include "lifecycle/lifecycle.h"

namespace sbx::webhook {

class WebhookReceiver {
 public:
  WebhookReceiver(lifecycle::Lifecycle& lifecycle, Metrics& metrics,
                  std::vector<std::string> secrets);

  // kUnavailable: no secret configured (unsigned events are never accepted).
  // kUnauthenticated: missing or wrong signature. kInvalidArgument: malformed
  // JSON or missing fields. On any error nothing is recorded.
  net::awaitable<Result<lifecycle::ApplyResult>> Receive(std::string body, std::string signature);

  bool configured() const { return !secrets_.empty(); }

 private:
  lifecycle::Lifecycle& lifecycle_;
  Metrics& metrics_;
  std::vector<std::string> secrets_;
  // Anyone can send wrong signatures: a line a minute at most (the metric
  // counts each).
  LogThrottle bad_signature_log_{std::chrono::minutes(1)};
};

}  // namespace sbx::webhook
