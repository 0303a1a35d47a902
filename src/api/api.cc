#include "api/api.h"

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <fmt/format.h>

#include "api/errors.h"
#include "api/wire.h"
#include "core/validation.h"
#include "http/credentials.h"

namespace sbx::api {
namespace json = boost::json;
using http_server::ConstantTimeEquals;
using http_server::CookieValue;
using http_server::JsonResponse;

namespace {

// Parses an optional JSON object body; empty body = {}.
Result<json::object> ParseBody(const http_server::Request& req) {
  if (req.body().empty()) return json::object{};
  boost::system::error_code ec;
  json::value v = json::parse(req.body(), ec);
  if (ec) return InvalidArgument(fmt::format("malformed JSON body: {}", ec.message()));
  if (!v.is_object()) return InvalidArgument("request body must be a JSON object");
  return std::move(v.as_object());
}

// For the routes that take no fields (kill, activity, wake, pause): an
// empty body or an empty JSON object; anything else is refused before any
// change, as every other route refuses a body it cannot read.
Status NoFields(const http_server::Request& req) {
  SBX_ASSIGN_OR_RETURN(json::object o, ParseBody(req));
  if (!o.empty()) {
    return InvalidArgument(fmt::format("this route takes no fields, got \"{}\"",
                                       std::string_view(o.begin()->key())));
  }
  return OkStatus();
}

Result<std::optional<int64_t>> OptionalPositiveInt(const json::object& o, const char* field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::optional<int64_t>();
  if (!it->value().is_int64() && !it->value().is_uint64()) {
    return InvalidArgument(fmt::format("\"{}\" must be an integer", field));
  }
  const int64_t v = it->value().is_int64() ? it->value().as_int64()
                                           : static_cast<int64_t>(it->value().as_uint64());
  if (v <= 0 || v > 7 * 24 * 3600) {
    return InvalidArgument(fmt::format("\"{}\" must be between 1 and 604800", field));
  }
  return std::optional<int64_t>(v);
}

std::string Serialize(const json::object& o) { return json::serialize(o); }

// A page's `nextBefore`: the key of its last item when the page is full
// (older items may follow), else null.
template <typename T, typename Key>
json::value NextBefore(const std::vector<T>& page, int limit, Key key) {
  if (page.empty() || static_cast<int>(page.size()) != limit) return nullptr;
  return key(page.back());
}

}  // namespace

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

Result<int64_t> ParseBefore(const std::map<std::string, std::string>& query) {
  auto it = query.find("before");
  if (it == query.end()) return int64_t{0};
  const std::optional<int64_t> v = ParseInteger(it->second);
  if (!v || *v < 1) {
    return InvalidArgument("\"before\" must be a positive integer: the nextBefore of a page");
  }
  return *v;
}

Result<int> ParseLimit(const std::map<std::string, std::string>& query, int def, int max) {
  auto it = query.find("limit");
  if (it == query.end() || it->second.empty()) return def;
  const std::optional<int64_t> v = ParseInteger(it->second);
  if (!v || *v < 1 || *v > max) {
    return InvalidArgument(fmt::format("limit must be an integer from 1 to {}", max));
  }
  return static_cast<int>(*v);
}

Api::Api(lifecycle::Lifecycle& lifecycle, jobs::IdleEnforcer& enforcer, Sessions& sessions,
         Metrics& metrics, IdGenerator& ids, ApiOptions options)
    : lifecycle_(lifecycle),
      enforcer_(enforcer),
      sessions_(sessions),
      metrics_(metrics),
      ids_(ids),
      options_(std::move(options)) {}

net::awaitable<Result<Api::Credential>> Api::Identify(const http_server::Request& req,
                                                      bool fresh) {
  auto auth = req[http::field::authorization];
  if (!auth.empty()) {
    // The scheme is case-insensitive (RFC 9110 §11.1).
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() > kBearer.size() &&
        boost::beast::iequals(auth.substr(0, kBearer.size()), kBearer) &&
        ConstantTimeEquals(auth.substr(kBearer.size()), options_.api_token)) {
      co_return Credential::kBearer;
    }
    co_return Unauthenticated("invalid bearer token");
  }
  std::string cookie(CookieValue(req[http::field::cookie], kSessionCookie));
  if (cookie.empty()) {
    co_return Unauthenticated(
        "missing credentials: send Authorization: Bearer <token> or sign in with POST "
        "/api/session");
  }
  Status s = co_await sessions_.Check(cookie, fresh);
  if (!s.ok()) co_return s;
  co_return Credential::kSession;
}

std::string Api::SessionOf(const http_server::Request& req) {
  if (!req[http::field::authorization].empty()) return "";
  return std::string(CookieValue(req[http::field::cookie], kSessionCookie));
}

net::awaitable<Status> Api::Authenticate(const http_server::Request& req) {
  auto credential = co_await Identify(req, false);
  co_return credential.status();
}

Status CheckSameOrigin(const http_server::Request& req) {
  // Browsers say where a request comes from: Sec-Fetch-Site (all current
  // ones), else Origin. "same-site" is not enough: a sandbox's preview on
  // another port of the same host is same-site.
  if (auto site = req["Sec-Fetch-Site"]; !site.empty()) {
    if (site == "same-origin" || site == "none") return OkStatus();
    return PermissionDenied(fmt::format(
        "cross-origin request refused (Sec-Fetch-Site: {}): the session cookie is only honoured "
        "from this server's own pages; API clients send Authorization: Bearer <token>",
        std::string(site)));
  }
  if (auto origin = req[http::field::origin]; !origin.empty()) {
    const std::string host(req[http::field::host]);
    if (origin == "http://" + host || origin == "https://" + host) return OkStatus();
    return PermissionDenied(fmt::format(
        "cross-origin request refused (Origin: {}): the session cookie is only honoured from "
        "this server's own pages; API clients send Authorization: Bearer <token>",
        std::string(origin)));
  }
  return OkStatus();  // not from a browser page
}

json::object Api::ObjectOf(const core::Sandbox& s) {
  return SandboxJson(s, options_.preview, lifecycle_.clock().Now());
}

http_server::Response Api::Error(const Ctx& ctx, const Status& s) {
  return ToHttp(ctx.request, s, ids_.NewHex(12));
}

net::awaitable<Status> Api::CheckRequest(const Ctx& ctx) {
  const http_server::Request& req = ctx.request;
  // Reads may trust the session cache; requests that change state check the
  // store, so a sign-out on any replica stops them at once.
  const bool reads = req.method() == http::verb::get || req.method() == http::verb::head;
  auto identified = co_await Identify(req, !reads);
  if (!identified.ok()) co_return identified.status();
  // A session cookie rides along with any request the browser makes, even
  // one a page of another origin (a sandbox's preview) makes: it is honoured
  // only from the dashboard's own origin. Reads too: an event stream is
  // presence (it keeps the sandbox awake), and no read is meant for another
  // site. Requests that change state also carry JSON.
  if (*identified == Credential::kSession) {
    if (Status s = CheckSameOrigin(req); !s.ok()) co_return s;
    // The media type, without parameters, compared case-insensitively.
    std::string_view type = req[http::field::content_type];
    type = type.substr(0, std::min(type.find(';'), type.size()));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
    const bool is_json = boost::beast::iequals(type, "application/json");
    if (!reads && http_server::AnnouncesBody(req) && !is_json) {
      co_return InvalidArgument("a request body must be JSON (Content-Type: application/json)");
    }
  }
  if (auto it = ctx.params.find("projectId"); it != ctx.params.end()) {
    co_return core::ValidateProjectId(it->second);
  }
  co_return OkStatus();
}

http_server::Guard Api::AuthGuard() {
  return [this](Ctx& ctx) -> net::awaitable<std::optional<Response>> {
    // Awaited into a local: GCC 12 mis-compiles co_await in a condition.
    Status s = co_await CheckRequest(ctx);
    if (!s.ok()) co_return Error(ctx, s);
    co_return std::nullopt;
  };
}

void Api::Register(http_server::Router& r) {
  using V = http::verb;
  auto bind = [this](net::awaitable<Response> (Api::*fn)(Ctx&)) {
    return [this, fn](Ctx& ctx) { return (this->*fn)(ctx); };
  };
  const std::string sandbox = "/api/projects/{projectId}/sandbox";
  r.Add(V::post, sandbox, bind(&Api::CreateSandbox), AuthGuard());
  r.Add(V::get, sandbox, bind(&Api::GetSandbox), AuthGuard());
  r.Add(V::patch, sandbox, bind(&Api::PatchSandbox), AuthGuard());
  r.Add(V::delete_, sandbox, bind(&Api::KillSandbox), AuthGuard());
  r.Add(V::post, sandbox + "/activity", bind(&Api::Activity), AuthGuard());
  r.Add(V::post, sandbox + "/wake", bind(&Api::Wake), AuthGuard());
  r.Add(V::post, sandbox + "/pause", bind(&Api::Pause), AuthGuard());
  r.Add(V::get, sandbox + "/history", bind(&Api::History), AuthGuard());
  r.Add(V::get, sandbox + "/explain", bind(&Api::Explain), AuthGuard());
  r.Add(V::post, sandbox + "/holds", bind(&Api::PlaceHold), AuthGuard());
  r.Add(V::get, sandbox + "/holds", bind(&Api::ListHolds), AuthGuard());
  r.Add(V::delete_, sandbox + "/holds/{name}", bind(&Api::ReleaseHold), AuthGuard());
  r.Add(V::get, sandbox + "/logs", bind(&Api::Logs), AuthGuard());
  r.Add(V::get, "/api/sandboxes", bind(&Api::ListSandboxes), AuthGuard());
  r.Add(V::delete_, "/api/projects/{projectId}", bind(&Api::Forget), AuthGuard());
  r.Add(V::get, "/api/overview", bind(&Api::Summary), AuthGuard());
  r.Add(V::get, "/api/policy/report", bind(&Api::PolicyReport), AuthGuard());
  r.Add(V::get, fmt::format("/api/jobs/{}/runs", jobs::kIdleEnforcerJob), bind(&Api::EnforcerRuns), AuthGuard());
  r.Add(V::post, "/api/session", bind(&Api::SignIn), nullptr, kMaxSessionBodyBytes);
  r.Add(V::delete_, "/api/session", bind(&Api::SignOut), nullptr, kMaxSessionBodyBytes);
  // Open to anyone, so they take no body: one announced (a Content-Length
  // or chunked) is refused from the head (413), never read.
  auto no_body = [](Ctx& ctx) -> net::awaitable<std::optional<Response>> {
    if (!http_server::AnnouncesBody(ctx.request)) co_return std::nullopt;
    co_return http_server::ErrorResponse(ctx.request, http::status::payload_too_large,
                                         "payload_too_large", "this route takes no request body");
  };
  r.Add(V::get, "/healthz", bind(&Api::Healthz), no_body);
  r.Add(V::get, "/readyz", bind(&Api::Readyz), no_body);
  // Invariant 9: only health checks, the webhook and static files are open.
  r.Add(V::get, "/metrics", bind(&Api::MetricsText), AuthGuard());
}

void Api::RegisterWebhook(http_server::Router& router, webhook::WebhookReceiver& receiver) {
  router.Add(http::verb::post, "/api/webhooks/e2b",
             [this, &receiver](Ctx& ctx) -> net::awaitable<Response> {
               std::string body = ctx.request.body();
               std::string signature(ctx.request["e2b-signature"]);
               auto r = co_await receiver.Receive(std::move(body), std::move(signature));
               if (!r.ok()) co_return Error(ctx, r.error());
               json::object o;
               o["outcome"] = lifecycle::OutcomeName(r->outcome);
               o["projectId"] = r->sandbox ? json::value(r->sandbox->project_id) : json::value(nullptr);
               co_return JsonResponse(ctx.request, http::status::ok, Serialize(o));
             },
             nullptr, kMaxWebhookBodyBytes);
}

net::awaitable<http_server::Response> Api::CreateSandbox(Ctx& ctx) {
  auto body = ParseBody(ctx.request);
  if (!body.ok()) co_return Error(ctx, body.error());
  lifecycle::CreateOptions opts;
  if (auto it = body->find("template"); it != body->end() && !it->value().is_null()) {
    if (!it->value().is_string() || it->value().as_string().empty()) {
      co_return Error(ctx, InvalidArgument("\"template\" must be a non-empty string"));
    }
    opts.template_name = std::string(it->value().as_string());
    if (Status s = core::ValidateTemplateId("template", *opts.template_name); !s.ok()) {
      co_return Error(ctx, s);
    }
  }
  auto timeout = OptionalPositiveInt(*body, "idleTimeoutSeconds");
  if (!timeout.ok()) co_return Error(ctx, timeout.error());
  opts.idle_timeout_s = *timeout;
  if (auto it = body->find("allowInternetAccess"); it != body->end() && !it->value().is_null()) {
    if (!it->value().is_bool()) {
      co_return Error(ctx, InvalidArgument("\"allowInternetAccess\" must be true or false"));
    }
    opts.allow_internet_access = it->value().as_bool();
  }
  if (auto it = body->find("metadata"); it != body->end() && !it->value().is_null()) {
    if (!it->value().is_object()) co_return Error(ctx, InvalidArgument("\"metadata\" must be an object"));
    for (const auto& [k, v] : it->value().as_object()) {
      if (!v.is_string()) {
        co_return Error(ctx, InvalidArgument(fmt::format("metadata \"{}\" must be a string", std::string(k))));
      }
      // sandboxd's own marker is its to set (the reaper and the create's
      // idempotence read it); `projectId` is replaced by the route's.
      if (std::string_view(k) == core::kCreateRequestIdMetadataKey) {
        co_return Error(ctx, InvalidArgument(fmt::format(
                                 "metadata \"{}\" is sandboxd's own", std::string_view(k))));
      }
      opts.metadata[std::string(k)] = std::string(v.as_string());
    }
    if (Status s = core::ValidateMetadata(opts.metadata); !s.ok()) co_return Error(ctx, s);
  }
  const std::string project = ctx.params["projectId"];
  auto r = co_await lifecycle_.Create(project, std::move(opts));
  if (!r.ok()) co_return Error(ctx, r.error());
  co_return JsonResponse(ctx.request, r->created ? http::status::created : http::status::ok,
                         Serialize(ObjectOf(r->sandbox)));
}

net::awaitable<http_server::Response> Api::GetSandbox(Ctx& ctx) {
  const std::string& project = ctx.params["projectId"];
  const SystemTime now = lifecycle_.clock().Now();
  if (auto it = json_cache_.find(project);
      it != json_cache_.end() &&
      !(it->second.hold_expires && *it->second.hold_expires <= now) &&
      lifecycle_.read_model().Unchanged(project, it->second.version, it->second.updated_at)) {
    co_return JsonResponse(ctx.request, http::status::ok, it->second.body);
  }
  auto s = lifecycle_.Get(project);
  if (!s.ok()) {
    json_cache_.erase(project);  // forgotten projects leave nothing behind
    co_return Error(ctx, s.error());
  }
  std::string body = Serialize(SandboxJson(*s, options_.preview, now));
  json_cache_[project] = {s->version, s->updated_at, body, NextHoldExpiry(s->holds, now)};
  co_return JsonResponse(ctx.request, http::status::ok, std::move(body));
}

net::awaitable<http_server::Response> Api::PatchSandbox(Ctx& ctx) {
  auto body = ParseBody(ctx.request);
  if (!body.ok()) co_return Error(ctx, body.error());
  for (const auto& [k, v] : *body) {
    if (k != "idleTimeoutSeconds" && k != "idlePolicy") {
      co_return Error(ctx, InvalidArgument(fmt::format(
                               "unknown field \"{}\" (only idleTimeoutSeconds and idlePolicy "
                               "can change)",
                               std::string(k))));
    }
  }
  auto timeout = OptionalPositiveInt(*body, "idleTimeoutSeconds");
  if (!timeout.ok()) co_return Error(ctx, timeout.error());
  lifecycle::SettingsChange change{.idle_timeout_s = *timeout};
  if (const json::value* p = body->if_contains("idlePolicy")) {
    if (p->is_null()) {
      change.idle_policy = "";
      change.detail = fmt::format("idle policy: the deployment's ({})",
                                  options_.preview.default_idle_policy);
    } else if (p->is_string() && policy::CheckPolicyName(p->get_string()).ok()) {
      change.idle_policy = std::string(p->get_string());
      change.detail = fmt::format("idle policy: {}", *change.idle_policy);
    } else {
      co_return Error(ctx, InvalidArgument("\"idlePolicy\" must be \"fixed\", \"adaptive\", "
                                           "\"warmup\" or null (the deployment's)"));
    }
  }
  if (!change.idle_timeout_s && !change.idle_policy) {
    co_return Error(ctx, InvalidArgument("\"idleTimeoutSeconds\" or \"idlePolicy\" is required"));
  }
  auto s = co_await lifecycle_.ChangeSettings(ctx.params["projectId"], std::move(change));
  if (!s.ok()) co_return Error(ctx, s.error());
  co_return JsonResponse(ctx.request, http::status::ok,
                         Serialize(ObjectOf(*s)));
}

net::awaitable<http_server::Response> Api::PlaceHold(Ctx& ctx) {
  auto body = ParseBody(ctx.request);
  if (!body.ok()) co_return Error(ctx, body.error());
  for (const auto& [k, v] : *body) {
    if (k != "name" && k != "ttlSeconds") {
      co_return Error(ctx, InvalidArgument(fmt::format(
                               "unknown field \"{}\" (a hold has name and ttlSeconds)",
                               std::string(k))));
    }
  }
  auto name = body->find("name");
  if (name == body->end() || !name->value().is_string()) {
    co_return Error(ctx, InvalidArgument("\"name\" is required and must be a string"));
  }
  const std::string hold(name->value().as_string());
  if (Status s = core::ValidateHoldName(hold); !s.ok()) co_return Error(ctx, s);
  auto ttl = body->find("ttlSeconds");
  if (ttl == body->end() || !(ttl->value().is_int64() || ttl->value().is_uint64())) {
    co_return Error(ctx, InvalidArgument("\"ttlSeconds\" is required and must be an integer"));
  }
  const int64_t seconds = ttl->value().is_int64()
                              ? ttl->value().as_int64()
                              : static_cast<int64_t>(std::min<uint64_t>(
                                    ttl->value().as_uint64(), uint64_t{1} << 62));
  auto s = co_await lifecycle_.PlaceHold(ctx.params["projectId"], hold,
                                         std::chrono::seconds(seconds));
  if (!s.ok()) co_return Error(ctx, s.error());
  json::object o;
  o["name"] = hold;
  o["expiresAt"] = FormatRfc3339(s->holds.at(hold));
  o["sandbox"] = ObjectOf(*s);
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(o));
}

net::awaitable<http_server::Response> Api::ListHolds(Ctx& ctx) {
  auto s = lifecycle_.Get(ctx.params["projectId"]);
  if (!s.ok()) co_return Error(ctx, s.error());
  json::object o;
  o["holds"] = HoldsJson(s->holds, lifecycle_.clock().Now());
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(o));
}

net::awaitable<http_server::Response> Api::ReleaseHold(Ctx& ctx) {
  const std::string hold = ctx.params["name"];
  if (Status s = core::ValidateHoldName(hold); !s.ok()) co_return Error(ctx, s);
  auto s = co_await lifecycle_.ReleaseHold(ctx.params["projectId"], hold);
  if (!s.ok()) co_return Error(ctx, s.error());
  Response res{http::status::no_content, ctx.request.version()};
  res.keep_alive(ctx.request.keep_alive());
  co_return res;
}

Result<provider::OutputQuery> ParseLogsQuery(const std::map<std::string, std::string>& query,
                                             bool follow) {
  provider::OutputQuery out;
  for (const auto& [k, v] : query) {
    if (k != "tail" && k != "after" && !(follow && k == "follow")) {
      return InvalidArgument(fmt::format("unknown query parameter \"{}\" ({})", k,
                                         follow ? "tail, after, follow" : "tail, after, follow=1"));
    }
  }
  if (auto it = query.find("follow"); it != query.end() && it->second != "1") {
    return InvalidArgument("\"follow\" must be 1");
  }
  if (auto it = query.find("after"); it != query.end()) {
    if (query.contains("tail")) return InvalidArgument("give tail or after, not both");
    out.after = it->second;
    if (out.after.empty() || out.after.size() > 100) {
      return InvalidArgument("\"after\" must be a cursor a read returned");
    }
  }
  if (auto it = query.find("tail"); it != query.end()) {
    const std::optional<int64_t> tail = ParseInteger(it->second);
    if (!tail || *tail < 1 || *tail > 10000) {
      return InvalidArgument("\"tail\" must be an integer from 1 to 10000");
    }
    out.tail = static_cast<int>(*tail);
  }
  return out;
}

std::string OutputJson(provider::OutputChunk chunk) {
  json::object o;
  json::array lines;
  for (std::string& line : chunk.lines) lines.emplace_back(std::move(line));
  o["lines"] = std::move(lines);
  o["cursor"] = std::move(chunk.cursor);
  o["skipped"] = chunk.skipped;
  return Serialize(o);
}

net::awaitable<http_server::Response> Api::Logs(Ctx& ctx) {
  // ?follow=1 is EventStreams' (an SSE stream).
  auto query = ParseLogsQuery(ctx.query, /*follow=*/false);
  if (!query.ok()) co_return Error(ctx, query.error());
  auto r = co_await lifecycle_.ReadOutput(ctx.params["projectId"], *query);
  if (!r.ok()) co_return Error(ctx, r.error());
  co_return JsonResponse(ctx.request, http::status::ok, OutputJson(std::move(*r)));
}

net::awaitable<http_server::Response> Api::KillSandbox(Ctx& ctx) {
  if (Status no = NoFields(ctx.request); !no.ok()) co_return Error(ctx, no);
  Status s = co_await lifecycle_.Kill(ctx.params["projectId"]);
  if (!s.ok()) co_return Error(ctx, s);
  Response res{http::status::no_content, ctx.request.version()};
  res.keep_alive(ctx.request.keep_alive());
  co_return res;
}

net::awaitable<http_server::Response> Api::Activity(Ctx& ctx) {
  if (Status no = NoFields(ctx.request); !no.ok()) co_return Error(ctx, no);
  Status s = co_await lifecycle_.RecordActivity(ctx.params["projectId"]);
  if (!s.ok()) co_return Error(ctx, s);
  Response res{http::status::no_content, ctx.request.version()};
  res.keep_alive(ctx.request.keep_alive());
  co_return res;
}

net::awaitable<http_server::Response> Api::Wake(Ctx& ctx) {
  if (Status no = NoFields(ctx.request); !no.ok()) co_return Error(ctx, no);
  auto s = co_await lifecycle_.Wake(ctx.params["projectId"]);
  if (!s.ok()) co_return Error(ctx, s.error());
  co_return JsonResponse(ctx.request, http::status::accepted,
                         Serialize(ObjectOf(*s)));
}

net::awaitable<http_server::Response> Api::Pause(Ctx& ctx) {
  if (Status no = NoFields(ctx.request); !no.ok()) co_return Error(ctx, no);
  auto s = co_await lifecycle_.Pause(ctx.params["projectId"]);
  if (!s.ok()) co_return Error(ctx, s.error());
  co_return JsonResponse(ctx.request, http::status::accepted,
                         Serialize(ObjectOf(*s)));
}

net::awaitable<http_server::Response> Api::Explain(Ctx& ctx) {
  const std::string project = ctx.params["projectId"];
  // The newest rows hold the run that led to the current status; a longer
  // run than this is explained from its newest part.
  constexpr int kRows = 200;
  auto rows = co_await lifecycle_.History(project, kRows);
  if (!rows.ok()) co_return Error(ctx, rows.error());
  // Read after the history, so the record is at least as new as its rows.
  auto s = lifecycle_.Get(project);
  if (!s.ok()) co_return Error(ctx, s.error());
  const int streams = viewers_ ? viewers_(project) : 0;
  const lifecycle::Explanation e =
      lifecycle::Explain(*s, *rows, lifecycle_.clock().Now(), streams);
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(ExplanationJson(e)));
}

net::awaitable<http_server::Response> Api::History(Ctx& ctx) {
  const std::string project = ctx.params["projectId"];
  if (!lifecycle_.Get(project).ok()) {
    co_return Error(ctx, NotFound(fmt::format("project {} has no sandbox", project)));
  }
  auto limit = ParseLimit(ctx.query, 100, 1000);
  if (!limit.ok()) co_return Error(ctx, limit.error());
  auto before = ParseBefore(ctx.query);
  if (!before.ok()) co_return Error(ctx, before.error());
  auto rows = co_await lifecycle_.History(project, *limit, *before);
  if (!rows.ok()) co_return Error(ctx, rows.error());
  json::array events;
  for (const auto& h : *rows) events.push_back(HistoryJson(h));
  json::object o;
  o["events"] = std::move(events);
  o["nextBefore"] = NextBefore(*rows, *limit, [](const store::HistoryRow& h) { return h.seq; });
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(o));
}

net::awaitable<http_server::Response> Api::ListSandboxes(Ctx& ctx) {
  auto limit = ParseLimit(ctx.query, options_.default_list_limit, options_.max_list_limit);
  if (!limit.ok()) co_return Error(ctx, limit.error());
  std::optional<core::SandboxStatus> status;
  if (auto it = ctx.query.find("status"); it != ctx.query.end() && !it->second.empty()) {
    auto parsed = core::ParseStatus(it->second);
    if (!parsed.ok()) co_return Error(ctx, parsed.error());
    status = *parsed;
  }
  std::string cursor;
  if (auto it = ctx.query.find("cursor"); it != ctx.query.end()) cursor = it->second;
  // Read model only: listing never touches the store.
  auto page = lifecycle_.read_model().List(status, cursor, static_cast<size_t>(*limit) + 1);
  json::array items;
  json::value next = nullptr;
  const SystemTime now = lifecycle_.clock().Now();
  for (size_t i = 0; i < page.size(); ++i) {
    if (i == static_cast<size_t>(*limit)) {
      next = page[i - 1].project_id;
      break;
    }
    items.push_back(SandboxJson(page[i], options_.preview, now));
  }
  json::object o;
  o["sandboxes"] = std::move(items);
  o["nextCursor"] = next;
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(o));
}

net::awaitable<http_server::Response> Api::EnforcerRuns(Ctx& ctx) {
  auto limit = ParseLimit(ctx.query, 50, 1000);
  if (!limit.ok()) co_return Error(ctx, limit.error());
  auto before = ParseBefore(ctx.query);
  if (!before.ok()) co_return Error(ctx, before.error());
  auto runs = co_await enforcer_.RecentRuns(*limit, *before);
  if (!runs.ok()) co_return Error(ctx, runs.error());
  json::array items;
  for (const auto& r : *runs) items.push_back(JobRunJson(r));
  json::object o;
  o["runs"] = std::move(items);
  o["nextBefore"] = NextBefore(*runs, *limit, [](const store::JobRun& r) { return r.id; });
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(o));
}

net::awaitable<http_server::Response> Api::Summary(Ctx& ctx) {
  std::string name = "1h";
  if (auto it = ctx.query.find("window"); it != ctx.query.end()) name = it->second;
  auto window = lifecycle::ParseOverviewWindow(name);
  if (!window.ok()) co_return Error(ctx, window.error());
  auto overview = co_await lifecycle_.ReadOverview(*window);
  if (!overview.ok()) co_return Error(ctx, overview.error());
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(OverviewJson(*overview)));
}

net::awaitable<http_server::Response> Api::PolicyReport(Ctx& ctx) {
  // `since`: a duration back from now (168h) or a time; at most 30 days.
  constexpr auto kLongest = std::chrono::hours(24 * 30);
  const SystemTime now = lifecycle_.clock().Now();
  SystemTime from = now - std::chrono::hours(24 * 7);
  if (auto it = ctx.query.find("since"); it != ctx.query.end()) {
    if (auto ago = ParseDuration(it->second); ago.ok()) {
      from = now - *ago;
    } else if (auto at = ParseRfc3339(it->second); at.ok()) {
      from = *at;
    } else {
      co_return Error(ctx, InvalidArgument("\"since\" must be a duration back from now (24h, "
                                           "168h) or an RFC 3339 time"));
    }
    if (from < now - kLongest || from > now) {
      co_return Error(ctx, InvalidArgument("\"since\" must be within the last 720h (30 days)"));
    }
  }
  Millis regret = std::chrono::minutes(10);
  if (auto it = ctx.query.find("regretWindow"); it != ctx.query.end()) {
    auto d = ParseDuration(it->second);
    if (!d.ok() || *d <= Millis::zero() || *d > std::chrono::hours(24)) {
      co_return Error(ctx, InvalidArgument("\"regretWindow\" must be a duration from 1ms to 24h "
                                           "(10m)"));
    }
    regret = *d;
  }
  // `compare`: a policy to replay beside the deployment's (else the shadow).
  std::string compare = options_.policy_shadow;
  if (auto it = ctx.query.find("compare"); it != ctx.query.end()) {
    if (!policy::CheckPolicyName(it->second).ok()) {
      co_return Error(ctx, InvalidArgument("\"compare\" must be fixed, adaptive or warmup"));
    }
    compare = it->second;
  }
  std::vector<std::unique_ptr<policy::Policy>> replay;
  if (!compare.empty()) {
    for (const std::string& name : {options_.preview.default_idle_policy, compare}) {
      auto p = policy::MakePolicy(name, options_.policy_config);
      if (!p.ok()) co_return Error(ctx, p.error());
      replay.push_back(std::move(*p));
    }
  }
  constexpr size_t kTop = 50;
  auto report = co_await lifecycle_.ReadPolicyReport(from, regret, kTop, std::move(replay));
  if (!report.ok()) co_return Error(ctx, report.error());
  json::object o = PolicyReportJson(*report);
  o["policy"] = json::object{
      {"default", options_.preview.default_idle_policy},
      {"shadow", options_.policy_shadow.empty() ? json::value(nullptr)
                                                : json::value(options_.policy_shadow)}};
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(o));
}

net::awaitable<http_server::Response> Api::Forget(Ctx& ctx) {
  const std::string project = ctx.params["projectId"];
  bool remove_history = false;
  if (auto it = ctx.query.find("history"); it != ctx.query.end()) {
    if (it->second != "keep" && it->second != "remove") {
      co_return Error(ctx, InvalidArgument("\"history\" must be keep or remove"));
    }
    remove_history = it->second == "remove";
  }
  auto removed = co_await lifecycle_.Forget(project, remove_history);
  if (!removed.ok()) co_return Error(ctx, removed.error());
  json_cache_.erase(project);
  json::object o;
  o["projectId"] = project;
  o["historyRemoved"] = *removed;
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(o));
}

net::awaitable<http_server::Response> Api::SignIn(Ctx& ctx) {
  if (ctx.request[http::field::authorization].empty()) {
    co_return Error(ctx, Unauthenticated("sign in with Authorization: Bearer <token>"));
  }
  Status authenticated = co_await Authenticate(ctx.request);
  if (!authenticated.ok()) co_return Error(ctx, authenticated);
  auto id = co_await sessions_.Create();
  if (!id.ok()) co_return Error(ctx, id.error());
  Response res{http::status::no_content, ctx.request.version()};
  res.set(http::field::set_cookie,
          fmt::format("{}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}", kSessionCookie,
                      *id, sessions_.options().ttl.count(),
                      options_.secure_cookie ? "; Secure" : ""));
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(ctx.request.keep_alive());
  co_return res;
}

net::awaitable<http_server::Response> Api::SignOut(Ctx& ctx) {
  std::string cookie(CookieValue(ctx.request[http::field::cookie], kSessionCookie));
  if (!cookie.empty()) {
    // Like any cookie request that changes state: only from our own pages.
    if (Status s = CheckSameOrigin(ctx.request); !s.ok()) co_return Error(ctx, s);
    Status revoked = co_await sessions_.Revoke(cookie);
    if (!revoked.ok()) co_return Error(ctx, revoked);
  }
  Response res{http::status::no_content, ctx.request.version()};
  res.set(http::field::set_cookie,
          fmt::format("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}", kSessionCookie,
                      options_.secure_cookie ? "; Secure" : ""));
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(ctx.request.keep_alive());
  co_return res;
}

net::awaitable<http_server::Response> Api::Healthz(Ctx& ctx) {
  co_return JsonResponse(ctx.request, http::status::ok, R"({"status":"ok"})");
}

net::awaitable<http_server::Response> Api::Readyz(Ctx& ctx) {
  Status s = co_await lifecycle_.CheckStore();
  if (!s.ok()) {
    co_return http_server::ErrorResponse(ctx.request, http::status::service_unavailable,
                                         "unavailable", "store unreachable: " + s.message());
  }
  json::object checks;
  checks["store"] = json::object{{"status", "ok"}};
  if (options_.webhooks) {
    // Not a readiness condition (the server works without webhooks, the
    // reconciler repairs): the health entry the dashboard and alerts read.
    const lifecycle::DeliveryHealth::Snapshot d = lifecycle_.delivery().Get();
    json::object w;
    w["status"] = d.silent() ? "silent" : "ok";
    w["lastVerifiedAt"] = d.last_webhook ? json::value(FormatRfc3339(*d.last_webhook)) : nullptr;
    w["lastDriftAt"] = d.last_drift ? json::value(FormatRfc3339(*d.last_drift)) : nullptr;
    w["driftSinceLastWebhook"] = d.drift_since_webhook;
    checks["webhooks"] = std::move(w);
  }
  json::object o;
  o["status"] = "ready";
  o["checks"] = std::move(checks);
  co_return JsonResponse(ctx.request, http::status::ok, Serialize(o));
}

net::awaitable<http_server::Response> Api::MetricsText(Ctx& ctx) {
  Response res{http::status::ok, ctx.request.version()};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  res.body() = metrics_.Render();
  res.keep_alive(ctx.request.keep_alive());
  res.prepare_payload();
  co_return res;
}

}  // namespace sbx::api
