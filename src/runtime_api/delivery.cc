#include "runtime_api/delivery.h"

#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include "base/log.h"
#include "e2b/signature.h"

namespace sbx::runtime_api {

Deliverer::Deliverer(net::any_io_executor executor, Clock& clock, HttpClient& client,
                     Resolver& resolver, IdGenerator& ids, Metrics& metrics,
                     DelivererOptions options)
    : executor_(std::move(executor)),
      clock_(clock),
      client_(client),
      resolver_(resolver),
      ids_(ids),
      metrics_(metrics),
      options_(std::move(options)) {}

void Deliverer::Count(const char* outcome, double n) {
  metrics_.Inc(kDeliveriesMetric, {{"outcome", outcome}}, n,
               "Webhook delivery attempts by outcome (retry: failed, will try again; blocked: "
               "the target policy refused every address; cancelled: the webhook was deleted)");
}

void Deliverer::Enqueue(const Webhook& webhook, const std::string& event_id,
                        const std::string& body) {
  if (!enabled_ || stopping_) {
    Count("dropped");
    return;
  }
  Queue& q = queues_[webhook.id];
  q.webhook = webhook;
  q.forget = false;
  if (q.items.size() >= options_.queue_limit) {
    SBX_LOG_WARN("webhook {}: queue full, dropping event {}", webhook.id, q.items.front().event_id);
    q.items.pop_front();
    Count("dropped");
  }
  q.items.push_back(Item{event_id, body});
  if (q.busy) return;
  q.busy = true;
  if (!q.timer) q.timer = clock_.NewTimer(executor_);
  const std::string id = webhook.id;
  net::co_spawn(executor_, Drain(id), [](std::exception_ptr e) {
    if (e) SBX_LOG_ERROR("bug: webhook delivery worker threw");
  });
}

void Deliverer::Update(const Webhook& webhook) {
  auto it = queues_.find(webhook.id);
  if (it == queues_.end()) return;
  if (!webhook.enabled) {
    Cancel(webhook.id);
    return;
  }
  it->second.webhook = webhook;
}

void Deliverer::Cancel(const std::string& webhook_id) {
  auto it = queues_.find(webhook_id);
  if (it == queues_.end()) return;
  Queue& q = it->second;
  if (!q.items.empty()) {
    SBX_LOG_INFO("webhook {}: cancelling {} queued deliveries", webhook_id, q.items.size());
    Count("cancelled", static_cast<double>(q.items.size()));
    q.items.clear();
  }
  ++q.epoch;
  // Forget the queue (a deleted webhook must not cost memory forever); a
  // worker still holding it erases it when it ends.
  if (!q.busy) {
    queues_.erase(it);
    return;
  }
  q.forget = true;
  if (q.timer) q.timer->Cancel();
}

void Deliverer::Stop() {
  stopping_ = true;
  for (auto& [id, q] : queues_) {
    if (q.timer) q.timer->Cancel();
  }
}

size_t Deliverer::pending() const {
  size_t n = in_flight_;
  for (const auto& [id, q] : queues_) n += q.items.size();
  return n;
}

net::awaitable<void> Deliverer::Drain(std::string webhook_id) {
  // Map nodes are stable, and only this worker erases its queue while busy.
  Queue& q = queues_[webhook_id];
  while (!stopping_ && !q.items.empty()) {
    const Item item = std::move(q.items.front());
    q.items.pop_front();
    const uint64_t epoch = q.epoch;
    ++in_flight_;
    for (int attempt = 1;; ++attempt) {
      if (q.epoch != epoch) {
        Count("cancelled");
        break;
      }
      if (!enabled_ || stopping_) {
        Count("dropped");
        break;
      }
      const AttemptResult result = co_await Attempt(q.webhook, item, attempt);
      if (result == AttemptResult::kDelivered) {
        Count("success");
        break;
      }
      if (result == AttemptResult::kBlocked) {
        Count("blocked");
        break;
      }
      if (attempt >= options_.attempts) {
        Count("failed");
        SBX_LOG_WARN("webhook {}: giving up on event {} after {} attempts", webhook_id,
                     item.event_id, attempt);
        break;
      }
      Count("retry");
      // A cancel or stop that came while the attempt ran found no wait to
      // cut short: the next turn of the loop sees it without waiting.
      if (q.epoch != epoch || !enabled_ || stopping_) continue;
      (void)co_await q.timer->WaitUntil(clock_.SteadyNow() + options_.backoff);
    }
    --in_flight_;
  }
  q.busy = false;
  if (q.forget) queues_.erase(webhook_id);
}

net::awaitable<Deliverer::AttemptResult> Deliverer::Attempt(Webhook webhook, const Item& item,
                                                            int attempt) {
  auto url = boost::urls::parse_absolute_uri(webhook.url);
  if (!url || url->scheme_id() != boost::urls::scheme::http) {
    SBX_LOG_WARN("webhook {}: cannot deliver to \"{}\": only http:// URLs", webhook.id,
                 webhook.url);
    co_return AttemptResult::kBlocked;
  }
  // IPv6 literals without their brackets; names as written.
  const std::string host = url->host_type() == boost::urls::host_type::ipv6
                               ? url->host_ipv6_address().to_string()
                               : std::string(url->host_address());
  const uint16_t port = url->has_port() ? url->port_number() : 80;
  std::string target(url->encoded_path());
  if (target.empty()) target = "/";
  if (url->has_query()) target += "?" + std::string(url->encoded_query());

  // Resolve, check every address, connect to one that passed: the name is
  // not resolved again on the way, so it cannot be rebound meanwhile.
  auto addresses = co_await resolver_.Resolve(host);
  if (!addresses.ok()) {
    SBX_LOG_INFO("webhook {}: event {} attempt {} failed: {}", webhook.id, item.event_id, attempt,
                 addresses.error().ToString());
    co_return AttemptResult::kFailed;
  }
  std::optional<boost::asio::ip::address> chosen;
  Status refused;
  for (const auto& a : *addresses) {
    Status s = CheckWebhookAddress(a, options_.targets);
    if (s.ok()) {
      chosen = a;
      break;
    }
    refused = s;
  }
  if (!chosen) {
    SBX_LOG_WARN("webhook {}: not delivering event {} to {}: {}", webhook.id, item.event_id, host,
                 refused.message());
    co_return AttemptResult::kBlocked;
  }

  const std::string delivery_id = ids_.NewUuid();
  http_server::Request req{http::verb::post, target, 11};
  req.set(http::field::host, std::string(url->encoded_host_and_port()));
  req.set(http::field::user_agent, "sandboxd-runtime");
  req.set(http::field::content_type, "application/json");
  req.set("e2b-webhook-id", webhook.id);
  req.set("e2b-delivery-id", delivery_id);
  req.set("e2b-signature-version", "v1");
  req.set("e2b-signature",
          e2b::ComputeSignature(webhook.signature_secret, item.body, options_.url_safe_signature));
  req.keep_alive(false);
  req.body() = item.body;
  req.prepare_payload();
  auto res = co_await client_.Send(chosen->to_string(), port, req, options_.request_timeout);
  if (!res.ok()) {
    SBX_LOG_INFO("webhook {}: event {} attempt {} failed: {}", webhook.id, item.event_id, attempt,
                 res.error().ToString());
    co_return AttemptResult::kFailed;
  }
  const unsigned code = res->result_int();
  if (code < 200 || code > 299) {
    SBX_LOG_INFO("webhook {}: event {} attempt {}: HTTP {}", webhook.id, item.event_id, attempt,
                 code);
    co_return AttemptResult::kFailed;
  }
  co_return AttemptResult::kDelivered;
}

}  // namespace sbx::runtime_api
