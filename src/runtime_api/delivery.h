// Deliverer sends lifecycle events to registered webhooks the way E2B does
// (reference §4.3): POST <url> with the v2 JSON body and the headers
// e2b-webhook-id, e2b-delivery-id (new per attempt), e2b-signature-version
// "v1" and e2b-signature. A 2xx within the request timeout is success;
// anything else is retried after the backoff, up to `attempts` in all. Each
// webhook has its own FIFO queue worked by one coroutine, so events reach a
// receiver in emission order and a dead receiver delays only its own queue.
// Every attempt resolves the URL's host and sends to the first address the
// target policy allows (webhook_policy.h); a target with no allowed address
// is not retried (outcome "blocked"). Deleting a webhook cancels its queue
// (outcome "cancelled"); changing it retargets what is queued.
// Enqueue never blocks. Not thread-safe: REQUIRES use from the one I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/ids.h"
#include "base/metrics.h"
#include "base/net.h"
#include "runtime_api/http_client.h"
#include "base/resolver.h"
#include "runtime_api/types.h"
#include "runtime_api/webhook_policy.h"

namespace sbx::runtime_api {

inline constexpr char kDeliveriesMetric[] = "sandboxd_runtime_webhook_deliveries_total";

struct DelivererOptions {
  int attempts = 3;                                  // tries per event and webhook, >= 1
  std::chrono::milliseconds backoff{10000};          // wait between two tries
  std::chrono::milliseconds request_timeout{10000};  // per try: connect, send, answer
  // e2b-signature alphabet: unpadded base64url (E2B's docs) or padded standard base64.
  bool url_safe_signature = true;
  size_t queue_limit = 1000;  // per webhook; beyond it the oldest waiting event is dropped
  WebhookTargetPolicy targets;  // where deliveries may go
};

class Deliverer {
 public:
  Deliverer(net::any_io_executor executor, Clock& clock, HttpClient& client, Resolver& resolver,
            IdGenerator& ids, Metrics& metrics, DelivererOptions options);

  // Queues the event `body` (id `event_id`) for `webhook` and returns at
  // once; attempts use the webhook's url and secret as last given here or to
  // Update. While delivery is disabled the event is dropped (counted as
  // outcome "dropped").
  void Enqueue(const Webhook& webhook, const std::string& event_id, const std::string& body);
  // The webhook changed: queued events and later retries go to its new url
  // with its new secret; a disabled webhook's queue is cancelled.
  void Update(const Webhook& webhook);
  // The webhook was deleted: drops its queued events and stops the retries
  // of the one in flight (a request already on the wire completes).
  void Cancel(const std::string& webhook_id);

  // Testing aid behind POST /admin/webhook-delivery: while disabled nothing is
  // sent; events emitted or retried meanwhile are dropped, not kept.
  void SetEnabled(bool enabled) { enabled_ = enabled; }
  bool enabled() const { return enabled_; }

  // Cancels backoff waits; workers finish the request in flight and exit.
  void Stop();
  // Events queued or being delivered (tests).
  size_t pending() const;
  // Webhooks with a queue (tests: a cancelled one has none).
  size_t queues() const { return queues_.size(); }

 private:
  struct Item {
    std::string event_id;
    std::string body;
  };
  struct Queue {
    Webhook webhook;  // as last enqueued or updated
    std::deque<Item> items;
    bool busy = false;             // a worker is draining it
    uint64_t epoch = 0;            // bumped by Cancel: the item in flight stops
    bool forget = false;           // cancelled while busy: the worker erases it at the end
    std::unique_ptr<Timer> timer;  // backoff waits
  };
  enum class AttemptResult { kDelivered, kFailed, kBlocked };

  net::awaitable<void> Drain(std::string webhook_id);
  // One POST of `item` to `webhook`.
  // Takes its own copy of the webhook: Update() may replace the queue's
  // while an attempt waits on DNS or the target.
  net::awaitable<AttemptResult> Attempt(Webhook webhook, const Item& item, int attempt);
  void Count(const char* outcome, double n = 1);

  net::any_io_executor executor_;
  Clock& clock_;
  HttpClient& client_;
  Resolver& resolver_;
  IdGenerator& ids_;
  Metrics& metrics_;
  const DelivererOptions options_;
  std::map<std::string, Queue> queues_;  // by webhook id
  bool enabled_ = true;
  bool stopping_ = false;
  size_t in_flight_ = 0;
};

}  // namespace sbx::runtime_api
