// RuntimeServer: the E2B-compatible REST API of `sandboxd runtime`
// (shared/reference/e2b-api.md): sandbox lifecycle routes over a Provider
// (the local runc runtime), timeout enforcement, webhook registrations and
// signed v2 event delivery, preview-host proxying
// ("<port>-<sandboxId>.<domain>") and /metrics, /health.
// Routes (all but /health, /metrics and preview hosts need X-API-Key):
//   POST /sandboxes · POST /v2/sandboxes · GET /sandboxes · GET /v2/sandboxes
//   GET|DELETE /sandboxes/{sandboxID}
//   POST /sandboxes/{sandboxID}/{pause,resume,connect,timeout,refreshes}
//   POST /v2/sandboxes/{sandboxID}/connect
// Request bodies of these routes are limited to kMaxApiBodyBytes (413);
// limits.h has the rest of what is accepted.
//   POST|GET /events/webhooks · GET|PATCH|DELETE /events/webhooks/{webhookID}
//   GET|POST /admin/webhook-delivery   testing aid: {"enabled":false} stops delivery
// Errors are E2B's {"code":<status>,"message":…}. Every request is counted in
// sandboxd_runtime_requests_total{route=<pattern>,code}.
// Not thread-safe: REQUIRES its io_context to be run by one thread (provider
// calls go to the BlockingPool).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/metrics.h"
#include "base/net.h"
#include "base/status.h"
#include "http/router.h"
#include "provider/provider.h"
#include "runtime_api/delivery.h"
#include "runtime_api/http_client.h"
#include "runtime_api/proxy.h"
#include "base/resolver.h"
#include "runtime_api/sandboxes.h"
#include "runtime_api/webhooks.h"

namespace sbx::runtime_api {

inline constexpr char kRequestsMetric[] = "sandboxd_runtime_requests_total";

struct RuntimeOptions {
  // Required: the key clients send in X-API-Key (E2B_API_KEY).
  std::string api_key;
  // Sandbox domain: preview hosts are "<port>-<sandboxId>.<domain>"; also the
  // `domain` of Sandbox responses, which the SDKs use to build envd URLs.
  std::string domain = "localhost";
  // Directory of webhooks.json; empty keeps registrations in memory only.
  std::filesystem::path data_dir;
  SandboxesOptions sandboxes;  // timeouts (default 15 s, max 24 h), templates
  DelivererOptions delivery;   // attempts 3, backoff 10 s, request timeout, signature alphabet
  PreviewProxyOptions proxy;   // upstream timeout
  // Where webhooks may point (registration and every delivery); replaces
  // delivery.targets. --webhook-allow-private.
  WebhookTargetPolicy webhook_targets;
  size_t max_webhooks = 100;  // registrations at most
  // How the preview proxy reaches local sandboxes inside their network
  // namespaces (the LocalProvider); null: through the HttpClient on the
  // host's 127.0.0.1 (providers whose sandboxes serve there, unit tests).
  provider::local::SandboxConnector* connector = nullptr;
};

class RuntimeServer {
 public:
  // References must outlive the server.
  RuntimeServer(net::any_io_executor executor, Clock& clock, BlockingPool& pool,
                provider::Provider& provider, HttpClient& client, Resolver& resolver,
                IdGenerator& ids, Metrics& metrics, RuntimeOptions options);

  // Checks the options and loads webhook registrations and the provider's
  // sandboxes. Blocks: call before the io_context runs. kInvalidArgument for
  // an empty api_key or domain; provider and file errors as they come.
  Status Load();
  // Adds every route to `router` and makes preview hosts its fallback.
  void Register(http_server::Router& router);
  // Starts the timeout enforcer. Stop() ends it and the delivery workers.
  void Start();
  void Stop();

  // Parts, for tests and wiring.
  Sandboxes& sandboxes() { return sandboxes_; }
  WebhookRegistry& webhooks() { return webhooks_; }
  Deliverer& deliverer() { return deliverer_; }

 private:
  using Ctx = http_server::RequestContext;
  using Response = http_server::Response;
  using Fn = std::function<net::awaitable<Response>(Ctx&)>;

  // Preview hosts go to the proxy; then auth (unless `open`); then `fn`.
  // Counts the answer under `route`.
  http_server::Handler Wrap(std::string route, bool open, Fn fn);
  // The same checks on the request head, before the body is read: a request
  // without the API key (or to a path with no such method, or with a larger
  // body than the API takes) is answered without reading its body. Preview
  // hosts pass: their bodies are the sandbox's (up to --preview-max-body).
  http_server::Guard HeadGuard(std::string route, bool open, bool has_fn);
  // The answer for a non-preview request that may not go on, or nullopt.
  std::optional<Response> Refusal(const Ctx& ctx, bool open, bool has_fn, bool body_read);
  Status Authenticate(const http_server::Request& req) const;
  void Count(const std::string& route, const Response& res);
  void Publish(const e2b::WebhookEvent& event);
  // A registration body whose `url` names a host by name (not an IP literal
  // or localhost): it must resolve, and to at least one address the target
  // policy allows; kInvalidArgument naming the field otherwise. Other URL
  // problems are left to WebhookRegistry, which names them.
  net::awaitable<Status> CheckWebhookName(const boost::json::object& body);

  net::awaitable<Response> CreateSandbox(Ctx& ctx);
  net::awaitable<Response> CreateSandboxV2(Ctx& ctx);
  net::awaitable<Response> Create(Ctx& ctx, ApiVersion version);
  net::awaitable<Response> ListSandboxesV2(Ctx& ctx);
  net::awaitable<Response> ListRunning(Ctx& ctx);
  net::awaitable<Response> GetSandbox(Ctx& ctx);
  net::awaitable<Response> KillSandbox(Ctx& ctx);
  net::awaitable<Response> PauseSandbox(Ctx& ctx);
  net::awaitable<Response> ResumeSandbox(Ctx& ctx);
  net::awaitable<Response> ConnectSandbox(Ctx& ctx);
  net::awaitable<Response> ConnectSandboxV2(Ctx& ctx);
  net::awaitable<Response> Connect(Ctx& ctx, ApiVersion version);
  net::awaitable<Response> SetSandboxTimeout(Ctx& ctx);
  net::awaitable<Response> RefreshSandbox(Ctx& ctx);
  net::awaitable<Response> CreateWebhook(Ctx& ctx);
  net::awaitable<Response> ListWebhooks(Ctx& ctx);
  net::awaitable<Response> GetWebhook(Ctx& ctx);
  net::awaitable<Response> UpdateWebhook(Ctx& ctx);
  net::awaitable<Response> DeleteWebhook(Ctx& ctx);
  net::awaitable<Response> GetDelivery(Ctx& ctx);
  net::awaitable<Response> SetDelivery(Ctx& ctx);
  net::awaitable<Response> Health(Ctx& ctx);
  net::awaitable<Response> MetricsText(Ctx& ctx);

  Metrics& metrics_;
  Resolver& resolver_;
  const RuntimeOptions options_;
  Sandboxes sandboxes_;
  WebhookRegistry webhooks_;
  Deliverer deliverer_;
  PreviewProxy proxy_;
};

}  // namespace sbx::runtime_api
