#include "runtime_api/delivery.h"

#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include "base/log.h"
#include "e2b/signature.h"

namespace sbx::runtime_api {

Deliverer::Deliverer(net::any_io_executor executor, Clock& clock, HttpClient& client,
                     IdGenerator& ids, Metrics& metrics, DelivererOptions options)
    : executor_(std::move(executor)),
      clock_(clock),
      client_(client),
      ids_(ids),
      metrics_(metrics),
      options_(std::move(options)) {}

void Deliverer::Count(const char* outcome) {
  metrics_.Inc(kDeliveriesMetric, {{"outcome", outcome}}, 1,
               "Webhook delivery attempts by outcome (retry: failed, will try again)");
}

void Deliverer::Enqueue(const Webhook& webhook, const std::string& event_id,
                        const std::string& body) {
  if (!enabled_ || stopping_) {
    Count("dropped");
    return;
  }
  Queue& q = queues_[webhook.id];
  if (q.items.size() >= options_.queue_limit) {
    SBX_LOG_WARN("webhook {}: queue full, dropping event {}", webhook.id, q.items.front().event_id);
    q.items.pop_front();
    Count("dropped");
  }
  q.items.push_back(Item{webhook, event_id, body});
  if (q.busy) return;
  q.busy = true;
  if (!q.timer) q.timer = clock_.NewTimer(executor_);
  const std::string id = webhook.id;
  net::co_spawn(executor_, Drain(id), [](std::exception_ptr e) {
    if (e) SBX_LOG_ERROR("bug: webhook delivery worker threw");
  });
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
  Queue& q = queues_[webhook_id];  // map nodes are stable and never erased
  while (!stopping_ && !q.items.empty()) {
    const Item item = std::move(q.items.front());
    q.items.pop_front();
    ++in_flight_;
    for (int attempt = 1;; ++attempt) {
      if (!enabled_ || stopping_) {
        Count("dropped");
        break;
      }
      if (co_await Attempt(item, attempt)) {
        Count("success");
        break;
      }
      if (attempt >= options_.attempts) {
        Count("failed");
        SBX_LOG_WARN("webhook {}: giving up on event {} after {} attempts", webhook_id,
                     item.event_id, attempt);
        break;
      }
      Count("retry");
      (void)co_await q.timer->WaitUntil(clock_.SteadyNow() + options_.backoff);
    }
    --in_flight_;
  }
  q.busy = false;
}

net::awaitable<bool> Deliverer::Attempt(const Item& item, int attempt) {
  auto url = boost::urls::parse_absolute_uri(item.webhook.url);
  if (!url || url->scheme_id() != boost::urls::scheme::http) {
    SBX_LOG_WARN("webhook {}: cannot deliver to \"{}\": only http:// URLs", item.webhook.id,
                 item.webhook.url);
    co_return false;
  }
  const std::string host(url->host_address());
  const uint16_t port = url->has_port() ? url->port_number() : 80;
  std::string target(url->encoded_path());
  if (target.empty()) target = "/";
  if (url->has_query()) target += "?" + std::string(url->encoded_query());

  const std::string delivery_id = ids_.NewUuid();
  http_server::Request req{http::verb::post, target, 11};
  req.set(http::field::host, std::string(url->encoded_host_and_port()));
  req.set(http::field::user_agent, "sandboxd-runtime");
  req.set(http::field::content_type, "application/json");
  req.set("e2b-webhook-id", item.webhook.id);
  req.set("e2b-delivery-id", delivery_id);
  req.set("e2b-signature-version", "v1");
  req.set("e2b-signature", e2b::ComputeSignature(item.webhook.signature_secret, item.body,
                                                     options_.url_safe_signature));
  req.keep_alive(false);
  req.body() = item.body;
  req.prepare_payload();
  auto res = co_await client_.Send(host, port, req, options_.request_timeout);
  if (!res.ok()) {
    SBX_LOG_INFO("webhook {}: event {} attempt {} failed: {}", item.webhook.id, item.event_id,
                 attempt, res.error().ToString());
    co_return false;
  }
  const unsigned code = res->result_int();
  if (code < 200 || code > 299) {
    SBX_LOG_INFO("webhook {}: event {} attempt {}: HTTP {}", item.webhook.id, item.event_id,
                 attempt, code);
    co_return false;
  }
  co_return true;
}

}  // namespace sbx::runtime_api
