#include "runtime_api/runtime_api.h"


#include <charconv>
#include <map>
#include <set>

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "base/log.h"
#include "e2b/json.h"
#include "e2b/rest.h"
#include "e2b/webhook_event.h"
#include "http/credentials.h"
#include "runtime_api/limits.h"
#include "runtime_api/wire.h"

namespace sbx::runtime_api {
namespace json = boost::json;

namespace {

std::optional<std::string> Query(const http_server::RequestContext& ctx, const char* key) {
  auto it = ctx.query.find(key);
  if (it == ctx.query.end()) return std::nullopt;
  return it->second;
}

Result<size_t> ParseLimit(const std::optional<std::string>& text) {
  if (!text || text->empty()) return size_t{100};
  int v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size() || v < 1 || v > 100) {
    return InvalidArgument("limit must be an integer between 1 and 100");
  }
  return static_cast<size_t>(v);
}

// The sandbox id of the path, normalized, or the 400 to answer.
Result<std::string> PathSandboxId(const http_server::RequestContext& ctx) {
  auto it = ctx.params.find("sandboxID");
  return NormalizeSandboxId(it == ctx.params.end() ? std::string_view() : it->second);
}

Result<std::string> PathWebhookId(const http_server::RequestContext& ctx) {
  auto it = ctx.params.find("webhookID");
  if (it == ctx.params.end() || !IsUuid(it->second)) return InvalidArgument("Invalid webhook ID");
  return it->second;
}

// `memory: false` asks for a filesystem-only snapshot or a cold boot.
Status MemoryUnsupported(std::string_view call) {
  return InvalidArgument(fmt::format(
      "{} with memory false is not supported by the local runtime: a paused sandbox is "
      "frozen with its memory and resumes from it",
      call));
}

json::array ToArray(const std::vector<SandboxRecord>& list) {
  std::vector<e2b::ListedSandbox> out;
  for (const SandboxRecord& s : list) out.push_back(ToListedSandbox(s));
  return e2b::ToJson(out);
}

// One target policy for registrations and deliveries.
RuntimeOptions WithTargets(RuntimeOptions o) {
  o.delivery.targets = o.webhook_targets;
  return o;
}

}  // namespace

RuntimeServer::RuntimeServer(net::any_io_executor executor, Clock& clock, BlockingPool& pool,
                             provider::Provider& provider, HttpClient& client,
                             Resolver& resolver, IdGenerator& ids, Metrics& metrics,
                             RuntimeOptions options)
    : metrics_(metrics),
      resolver_(resolver),
      options_(WithTargets(std::move(options))),
      sandboxes_(
          executor, clock, pool, provider, ids,
          [this](const e2b::WebhookEvent& e) { Publish(e); }, options_.sandboxes),
      webhooks_(clock, ids, pool,
                {.file = options_.data_dir.empty() ? std::filesystem::path()
                                                   : options_.data_dir / "webhooks.json",
                 .max_webhooks = options_.max_webhooks,
                 .targets = options_.webhook_targets}),
      deliverer_(executor, clock, client, resolver, ids, metrics, options_.delivery),
      proxy_(client, sandboxes_, options_.connector, options_.proxy) {}

Status RuntimeServer::Load() {
  if (options_.api_key.empty()) return InvalidArgument("runtime: an API key is required");
  if (options_.domain.empty()) return InvalidArgument("runtime: the domain must not be empty");
  if (options_.delivery.attempts < 1)
    return InvalidArgument("runtime: webhook attempts must be >= 1");
  SBX_RETURN_IF_ERROR(webhooks_.Load());
  return sandboxes_.Load();
}

void RuntimeServer::Start() { sandboxes_.Start(); }

void RuntimeServer::Stop() {
  sandboxes_.Stop();
  deliverer_.Stop();
}

void RuntimeServer::Publish(const e2b::WebhookEvent& event) {
  metrics_.Inc("sandboxd_runtime_events_total", {{"type", event.type}}, 1,
               "Lifecycle events emitted by the runtime, by type");
  const auto subscribers = webhooks_.Subscribers(event.type);
  if (subscribers.empty()) return;
  const std::string body = e2b::SerializeWebhookEventV2(event);
  for (const Webhook& w : subscribers) deliverer_.Enqueue(w, event.id, body);
}

Status RuntimeServer::Authenticate(const http_server::Request& req) const {
  auto it = req.find(e2b::kApiKeyHeader);
  if (it == req.end()) return Unauthenticated(fmt::format("Missing {} header", e2b::kApiKeyHeader));
  if (!http_server::ConstantTimeEquals(it->value(), options_.api_key)) {
    return Unauthenticated("Invalid API key");
  }
  return OkStatus();
}

void RuntimeServer::Count(const std::string& route, const Response& res) {
  metrics_.Inc(kRequestsMetric, {{"route", route}, {"code", std::to_string(res.result_int())}}, 1,
               "Runtime API requests by route template and status code");
}

http_server::Handler RuntimeServer::Wrap(std::string route, bool open, Fn fn) {
  return [this, route = std::move(route), open,
          fn = std::move(fn)](Ctx& ctx) -> net::awaitable<Response> {
    const auto preview = ParsePreviewHost(ctx.request[http::field::host], options_.domain);
    if (preview) {
      Response res = co_await proxy_.Forward(ctx.request, *preview);
      Count("preview", res);
      co_return res;
    }
    std::optional<Response> refused = Refusal(ctx, open, fn != nullptr, /*body_read=*/true);
    Response res;
    if (refused) {
      res = std::move(*refused);
    } else {
      res = co_await fn(ctx);
    }
    Count(route, res);
    co_return res;
  };
}

std::optional<http_server::Response> RuntimeServer::Refusal(const Ctx& ctx, bool open,
                                                             bool has_fn, bool body_read) {
  const http_server::Request& req = ctx.request;
  if (Status s = open ? OkStatus() : Authenticate(req); !s.ok()) return ErrorFor(req, s);
  if (!has_fn) {
    return E2bError(req, http::status::method_not_allowed,
                    fmt::format("Method {} is not allowed on {}", std::string(req.method_string()),
                                ctx.path));
  }
  // What anyone may call (health, metrics) takes no body: one announced
  // (a Content-Length, or chunked) is refused from the head, not read.
  if (open && !body_read && http_server::AnnouncesBody(req)) {
    return E2bError(req, http::status::payload_too_large,
                    fmt::format("{} takes no request body", ctx.path));
  }
  // The head tells a Content-Length; a chunked body is measured once read.
  const uint64_t size =
      body_read ? req.body().size() : http_server::ContentLengthOf(req).value_or(0);
  if (size > kMaxApiBodyBytes) {
    return E2bError(req, http::status::payload_too_large,
                    fmt::format("Request body is larger than {} bytes", kMaxApiBodyBytes));
  }
  return std::nullopt;
}

http_server::Guard RuntimeServer::HeadGuard(std::string route, bool open, bool has_fn) {
  return [this, route = std::move(route), open,
          has_fn](Ctx& ctx) -> net::awaitable<std::optional<Response>> {
    if (const auto preview = ParsePreviewHost(ctx.request[http::field::host], options_.domain)) {
      std::optional<Response> unknown = proxy_.RefuseUnknown(ctx.request, *preview);
      if (unknown) Count("preview", *unknown);
      co_return unknown;
    }
    std::optional<Response> refused = Refusal(ctx, open, has_fn, /*body_read=*/false);
    if (refused) Count(route, *refused);
    co_return refused;
  };
}

void RuntimeServer::Register(http_server::Router& router) {
  using V = http::verb;
  auto bind = [this](net::awaitable<Response> (RuntimeServer::*fn)(Ctx&)) -> Fn {
    return [this, fn](Ctx& ctx) { return (this->*fn)(ctx); };
  };
  struct RouteSpec {
    V verb;
    std::string pattern;
    net::awaitable<Response> (RuntimeServer::*fn)(Ctx&);
    bool open;
  };
  const std::string sandbox = "/sandboxes/{sandboxID}";
  const std::string webhook = "/events/webhooks/{webhookID}";
  const std::vector<RouteSpec> routes = {
      {V::get, "/health", &RuntimeServer::Health, true},
      {V::get, "/metrics", &RuntimeServer::MetricsText, true},
      {V::post, "/sandboxes", &RuntimeServer::CreateSandbox, false},
      {V::post, "/v2/sandboxes", &RuntimeServer::CreateSandboxV2, false},
      {V::get, "/sandboxes", &RuntimeServer::ListRunning, false},
      {V::get, "/v2/sandboxes", &RuntimeServer::ListSandboxesV2, false},
      {V::get, sandbox, &RuntimeServer::GetSandbox, false},
      {V::delete_, sandbox, &RuntimeServer::KillSandbox, false},
      {V::post, sandbox + "/pause", &RuntimeServer::PauseSandbox, false},
      {V::post, sandbox + "/resume", &RuntimeServer::ResumeSandbox, false},
      {V::post, sandbox + "/connect", &RuntimeServer::ConnectSandbox, false},
      {V::post, "/v2" + sandbox + "/connect", &RuntimeServer::ConnectSandboxV2, false},
      {V::post, sandbox + "/timeout", &RuntimeServer::SetSandboxTimeout, false},
      {V::post, sandbox + "/refreshes", &RuntimeServer::RefreshSandbox, false},
      {V::post, "/events/webhooks", &RuntimeServer::CreateWebhook, false},
      {V::get, "/events/webhooks", &RuntimeServer::ListWebhooks, false},
      {V::get, webhook, &RuntimeServer::GetWebhook, false},
      {V::patch, webhook, &RuntimeServer::UpdateWebhook, false},
      {V::delete_, webhook, &RuntimeServer::DeleteWebhook, false},
      {V::get, "/admin/webhook-delivery", &RuntimeServer::GetDelivery, false},
      {V::post, "/admin/webhook-delivery", &RuntimeServer::SetDelivery, false},
  };
  std::map<std::string, std::set<V>> used;
  for (const RouteSpec& r : routes) {
    router.Add(r.verb, r.pattern, Wrap(r.pattern, r.open, bind(r.fn)),
               HeadGuard(r.pattern, r.open, true));
    used[r.pattern].insert(r.verb);
  }
  // The other methods on the same paths: a preview host must reach the
  // sandbox whatever its path and method, so they cannot be left to the
  // server's own 405 answer.
  for (const auto& [pattern, verbs] : used) {
    for (V verb : {V::get, V::post, V::put, V::patch, V::delete_, V::options}) {
      if (!verbs.contains(verb)) {
        router.Add(verb, pattern, Wrap(pattern, true, nullptr), HeadGuard(pattern, true, false));
      }
    }
  }
  auto no_route = [](const Ctx& ctx) {
    return E2bError(
        ctx.request, http::status::not_found,
        fmt::format("No route for {} {}", std::string(ctx.request.method_string()), ctx.path));
  };
  router.SetFallback(
      [this, no_route](Ctx& ctx) -> net::awaitable<Response> {
        const auto preview = ParsePreviewHost(ctx.request[http::field::host], options_.domain);
        Response res;
        if (preview) {
          res = co_await proxy_.Forward(ctx.request, *preview);
          Count("preview", res);
        } else {
          res = no_route(ctx);
          Count("fallback", res);
        }
        co_return res;
      },
      /*reads_body=*/true,
      // A body sent to no route of the API is not read.
      [this, no_route](Ctx& ctx) -> net::awaitable<std::optional<Response>> {
        const http_server::Request& req = ctx.request;
        if (!http_server::AnnouncesBody(req)) co_return std::nullopt;
        if (const auto preview = ParsePreviewHost(req[http::field::host], options_.domain)) {
          std::optional<Response> unknown = proxy_.RefuseUnknown(req, *preview);
          if (unknown) Count("preview", *unknown);
          co_return unknown;
        }
        Response res = no_route(ctx);
        Count("fallback", res);
        co_return res;
      });
}

// Sandboxes

net::awaitable<http_server::Response> RuntimeServer::CreateSandbox(Ctx& ctx) {
  co_return co_await Create(ctx, ApiVersion::kV1);
}

net::awaitable<http_server::Response> RuntimeServer::CreateSandboxV2(Ctx& ctx) {
  co_return co_await Create(ctx, ApiVersion::kV2);
}

net::awaitable<http_server::Response> RuntimeServer::Create(Ctx& ctx, ApiVersion version) {
  auto request = ParseBody(ctx.request.body(), /*required=*/true, e2b::ParseNewSandbox);
  if (!request.ok()) co_return ErrorFor(ctx.request, request.error());
  auto created = co_await sandboxes_.Create(*request, version);
  if (!created.ok()) co_return ErrorFor(ctx.request, created.error());
  co_return JsonBody(ctx.request, http::status::created,
                     e2b::ToJson(ToSandbox(*created, options_.domain)));
}

net::awaitable<http_server::Response> RuntimeServer::ListSandboxesV2(Ctx& ctx) {
  ListQuery q;
  auto states = ParseStateQuery(Query(ctx, "state"));
  if (!states.ok()) co_return ErrorFor(ctx.request, states.error());
  q.states = *states;
  if (auto m = Query(ctx, "metadata")) {
    auto metadata = ParseMetadataQuery(*m);
    if (!metadata.ok()) co_return ErrorFor(ctx.request, metadata.error());
    if (Status s = ValidateE2bMetadata(*metadata); !s.ok()) co_return ErrorFor(ctx.request, s);
    q.metadata = *metadata;
  }
  if (auto order = Query(ctx, "order")) {
    if (*order != "asc" && *order != "desc") {
      co_return E2bError(ctx.request, http::status::bad_request, "order must be asc or desc");
    }
    q.ascending = *order == "asc";
  }
  if (auto after = Query(ctx, "startedAfter")) {
    auto t = ParseRfc3339(*after);
    if (!t.ok()) {
      co_return E2bError(ctx.request, http::status::bad_request,
                         "startedAfter must be an RFC 3339 date-time");
    }
    q.started_after = *t;
  }
  if (auto tmpl = Query(ctx, "template")) {
    if (tmpl->find(':') != std::string::npos) {
      co_return E2bError(ctx.request, http::status::bad_request,
                         "template filter does not accept tags");
    }
    if (!tmpl->empty()) {
      if (Status s = ValidateTemplateId(*tmpl); !s.ok()) co_return ErrorFor(ctx.request, s);
      q.template_id = *tmpl;
    }
  }
  auto limit = ParseLimit(Query(ctx, "limit"));
  if (!limit.ok()) co_return ErrorFor(ctx.request, limit.error());
  q.limit = *limit;
  if (auto token = Query(ctx, "nextToken"); token && !token->empty()) {
    auto cursor = DecodeCursor(*token);
    if (!cursor.ok()) co_return ErrorFor(ctx.request, cursor.error());
    q.cursor = *cursor;
  }
  auto page = ListSandboxes(sandboxes_.All(), q);
  if (!page.ok()) co_return ErrorFor(ctx.request, page.error());
  Response res = JsonBody(ctx.request, http::status::ok, ToArray(page->sandboxes));
  if (page->next) res.set(e2b::kNextTokenHeader, EncodeCursor(*page->next));
  if (q.states.contains(SandboxState::kRunning)) {
    res.set(e2b::kTotalRunningHeader, std::to_string(page->total_running));
  }
  co_return res;
}

net::awaitable<http_server::Response> RuntimeServer::ListRunning(Ctx& ctx) {
  ListQuery q;
  q.states = {SandboxState::kRunning};
  q.limit = SIZE_MAX;
  if (auto m = Query(ctx, "metadata")) {
    auto metadata = ParseMetadataQuery(*m);
    if (!metadata.ok()) co_return ErrorFor(ctx.request, metadata.error());
    if (Status s = ValidateE2bMetadata(*metadata); !s.ok()) co_return ErrorFor(ctx.request, s);
    q.metadata = *metadata;
  }
  auto page = ListSandboxes(sandboxes_.All(), q);
  if (!page.ok()) co_return ErrorFor(ctx.request, page.error());
  co_return JsonBody(ctx.request, http::status::ok, ToArray(page->sandboxes));
}

net::awaitable<http_server::Response> RuntimeServer::GetSandbox(Ctx& ctx) {
  auto id = PathSandboxId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  auto s = sandboxes_.Get(*id);
  if (!s) {
    co_return E2bError(
        ctx.request, http::status::not_found,
        fmt::format("Sandbox \"{}\" doesn't exist or you don't have access to it", *id));
  }
  co_return JsonBody(ctx.request, http::status::ok,
                     e2b::ToJson(ToSandboxDetail(*s, options_.domain)));
}

net::awaitable<http_server::Response> RuntimeServer::KillSandbox(Ctx& ctx) {
  auto id = PathSandboxId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  Status s = co_await sandboxes_.Kill(*id);
  if (!s.ok()) co_return ErrorFor(ctx.request, s);
  co_return Empty(ctx.request, http::status::no_content);
}

net::awaitable<http_server::Response> RuntimeServer::PauseSandbox(Ctx& ctx) {
  auto id = PathSandboxId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  auto request = ParseBody(ctx.request.body(), /*required=*/false, e2b::ParseSandboxPauseRequest);
  if (!request.ok()) co_return ErrorFor(ctx.request, request.error());
  if (request->memory == false) co_return ErrorFor(ctx.request, MemoryUnsupported("pause"));
  Status s = co_await sandboxes_.Pause(*id);
  if (!s.ok()) co_return ErrorFor(ctx.request, s);
  co_return Empty(ctx.request, http::status::no_content);
}

net::awaitable<http_server::Response> RuntimeServer::ResumeSandbox(Ctx& ctx) {
  auto id = PathSandboxId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  auto request = ParseBody(ctx.request.body(), /*required=*/false, e2b::ParseResumedSandbox);
  if (!request.ok()) co_return ErrorFor(ctx.request, request.error());
  if (request->memory == false) co_return ErrorFor(ctx.request, MemoryUnsupported("resume"));
  auto resumed = co_await sandboxes_.Resume(*id, request->timeout_s, request->auto_pause);
  if (!resumed.ok()) co_return ErrorFor(ctx.request, resumed.error());
  co_return JsonBody(ctx.request, http::status::created,
                     e2b::ToJson(ToSandbox(*resumed, options_.domain)));
}

net::awaitable<http_server::Response> RuntimeServer::ConnectSandbox(Ctx& ctx) {
  co_return co_await Connect(ctx, ApiVersion::kV1);
}

net::awaitable<http_server::Response> RuntimeServer::ConnectSandboxV2(Ctx& ctx) {
  co_return co_await Connect(ctx, ApiVersion::kV2);
}

net::awaitable<http_server::Response> RuntimeServer::Connect(Ctx& ctx, ApiVersion version) {
  auto id = PathSandboxId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  // v1 requires the body and its timeout; v2 defaults both (300 s).
  auto request = version == ApiVersion::kV1
                     ? ParseBody(ctx.request.body(), /*required=*/true, e2b::ParseConnectSandbox)
                     : ParseBody(ctx.request.body(), /*required=*/false,
                                 e2b::ParseConnectSandboxV2);
  if (!request.ok()) co_return ErrorFor(ctx.request, request.error());
  if (request->memory == false) co_return ErrorFor(ctx.request, MemoryUnsupported("connect"));
  const int64_t timeout_s =
      request->timeout_s.value_or(options_.sandboxes.default_timeout_v2.count());
  auto connected = co_await sandboxes_.Connect(*id, timeout_s);
  if (!connected.ok()) co_return ErrorFor(ctx.request, connected.error());
  co_return JsonBody(ctx.request, connected->resumed ? http::status::created : http::status::ok,
                     e2b::ToJson(ToSandbox(connected->sandbox, options_.domain)));
}

net::awaitable<http_server::Response> RuntimeServer::SetSandboxTimeout(Ctx& ctx) {
  auto id = PathSandboxId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  auto request = ParseBody(ctx.request.body(), /*required=*/true, e2b::ParseSandboxTimeoutRequest);
  if (!request.ok()) co_return ErrorFor(ctx.request, request.error());
  Status s = co_await sandboxes_.SetTimeout(*id, request->timeout_s);
  if (!s.ok()) co_return ErrorFor(ctx.request, s);
  co_return Empty(ctx.request, http::status::no_content);
}

net::awaitable<http_server::Response> RuntimeServer::RefreshSandbox(Ctx& ctx) {
  auto id = PathSandboxId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  auto request = ParseBody(ctx.request.body(), /*required=*/false, e2b::ParseSandboxRefreshRequest);
  if (!request.ok()) co_return ErrorFor(ctx.request, request.error());
  Status s = co_await sandboxes_.Refresh(*id, request->duration_s);
  if (!s.ok()) co_return ErrorFor(ctx.request, s);
  co_return Empty(ctx.request, http::status::no_content);
}

// Webhooks

net::awaitable<Status> RuntimeServer::CheckWebhookName(const json::object& body) {
  const json::value* url = body.if_contains("url");
  if (url == nullptr || !url->is_string()) co_return OkStatus();
  auto parsed = boost::urls::parse_absolute_uri(url->as_string());
  if (!parsed || parsed->host_type() != boost::urls::host_type::name) co_return OkStatus();
  const std::string host = parsed->host();
  if (host.empty() || IsLocalhostName(host)) co_return OkStatus();
  auto addresses = co_await resolver_.Resolve(host);
  if (!addresses.ok() && addresses.error().code() == StatusCode::kDeadlineExceeded) {
    // Slow DNS is not the caller's mistake: try again later.
    co_return Unavailable(fmt::format("Field 'url': host {} did not resolve in time", host));
  }
  if (!addresses.ok()) {
    co_return InvalidArgument(fmt::format("Field 'url': host {} does not resolve", host));
  }
  Status refused;
  for (const auto& address : *addresses) {
    Status s = CheckWebhookAddress(address, options_.webhook_targets);
    if (s.ok()) co_return OkStatus();
    refused = s;
  }
  co_return InvalidArgument(fmt::format("Field 'url': host {} resolves to no allowed address: {}",
                                        host, refused.message()));
}

net::awaitable<http_server::Response> RuntimeServer::CreateWebhook(Ctx& ctx) {
  auto body = ParseJsonObject(ctx.request.body(), /*required=*/true);
  if (!body.ok()) co_return ErrorFor(ctx.request, body.error());
  if (Status s = co_await CheckWebhookName(*body); !s.ok()) co_return ErrorFor(ctx.request, s);
  auto created = webhooks_.Create(*body);
  if (!created.ok()) co_return ErrorFor(ctx.request, created.error());
  // A change the file did not take is undone: a 500 leaves nothing behind.
  if (Status saved = co_await webhooks_.Save(); !saved.ok()) {
    webhooks_.Restore(created->id, std::nullopt);
    co_return ErrorFor(ctx.request, saved);
  }
  co_return JsonBody(ctx.request, http::status::created,
                     WebhookJson(*created, options_.sandboxes.team_id));
}

net::awaitable<http_server::Response> RuntimeServer::ListWebhooks(Ctx& ctx) {
  json::array out;
  for (const Webhook& w : webhooks_.List())
    out.push_back(WebhookJson(w, options_.sandboxes.team_id));
  co_return JsonBody(ctx.request, http::status::ok, out);
}

net::awaitable<http_server::Response> RuntimeServer::GetWebhook(Ctx& ctx) {
  auto id = PathWebhookId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  auto w = webhooks_.Get(*id);
  if (!w.ok()) co_return ErrorFor(ctx.request, w.error());
  co_return JsonBody(ctx.request, http::status::ok, WebhookJson(*w, options_.sandboxes.team_id));
}

net::awaitable<http_server::Response> RuntimeServer::UpdateWebhook(Ctx& ctx) {
  auto id = PathWebhookId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  auto body = ParseJsonObject(ctx.request.body(), /*required=*/true);
  if (!body.ok()) co_return ErrorFor(ctx.request, body.error());
  if (Status s = co_await CheckWebhookName(*body); !s.ok()) co_return ErrorFor(ctx.request, s);
  auto before = webhooks_.Get(*id);
  if (!before.ok()) co_return ErrorFor(ctx.request, before.error());
  auto updated = webhooks_.Update(*id, *body);
  if (!updated.ok()) co_return ErrorFor(ctx.request, updated.error());
  deliverer_.Update(*updated);
  if (Status saved = co_await webhooks_.Save(); !saved.ok()) {
    webhooks_.Restore(*id, *before);
    deliverer_.Update(*before);
    co_return ErrorFor(ctx.request, saved);
  }
  co_return JsonBody(ctx.request, http::status::ok,
                     WebhookJson(*updated, options_.sandboxes.team_id));
}

net::awaitable<http_server::Response> RuntimeServer::DeleteWebhook(Ctx& ctx) {
  auto id = PathWebhookId(ctx);
  if (!id.ok()) co_return ErrorFor(ctx.request, id.error());
  auto before = webhooks_.Get(*id);
  if (!before.ok()) co_return ErrorFor(ctx.request, before.error());
  if (Status s = webhooks_.Delete(*id); !s.ok()) co_return ErrorFor(ctx.request, s);
  // (Its queued deliveries are dropped even if the file keeps it: they were
  // for a registration the client asked to end.)
  deliverer_.Cancel(*id);
  if (Status saved = co_await webhooks_.Save(); !saved.ok()) {
    webhooks_.Restore(*id, *before);
    co_return ErrorFor(ctx.request, saved);
  }
  co_return Empty(ctx.request, http::status::ok);
}

// Admin, health, metrics

net::awaitable<http_server::Response> RuntimeServer::GetDelivery(Ctx& ctx) {
  json::object o;
  o["enabled"] = deliverer_.enabled();
  co_return JsonBody(ctx.request, http::status::ok, o);
}

net::awaitable<http_server::Response> RuntimeServer::SetDelivery(Ctx& ctx) {
  auto body = ParseJsonObject(ctx.request.body(), /*required=*/true);
  if (!body.ok()) co_return ErrorFor(ctx.request, body.error());
  auto enabled = e2b::OptionalBool(*body, "enabled");
  if (!enabled.ok()) co_return ErrorFor(ctx.request, enabled.error());
  if (!*enabled) {
    co_return E2bError(ctx.request, http::status::bad_request, "Field 'enabled' is required");
  }
  deliverer_.SetEnabled(**enabled);
  SBX_LOG_WARN("runtime: webhook delivery {} through the admin endpoint",
               **enabled ? "enabled" : "disabled");
  json::object o;
  o["enabled"] = deliverer_.enabled();
  co_return JsonBody(ctx.request, http::status::ok, o);
}

net::awaitable<http_server::Response> RuntimeServer::Health(Ctx& ctx) {
  http_server::Response res{http::status::ok, ctx.request.version()};
  res.set(http::field::content_type, "text/plain");
  res.keep_alive(ctx.request.keep_alive());
  res.body() = "Health check successful\n";
  res.prepare_payload();
  co_return res;
}

net::awaitable<http_server::Response> RuntimeServer::MetricsText(Ctx& ctx) {
  http_server::Response res{http::status::ok, ctx.request.version()};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  res.keep_alive(ctx.request.keep_alive());
  res.body() = metrics_.Render();
  res.prepare_payload();
  co_return res;
}

}  // namespace sbx::runtime_api
