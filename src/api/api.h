// Api registers the public REST routes of DESIGN.md §7 on a Router and turns
// requests into lifecycle calls and lifecycle results into JSON. Auth: every
// /api route but the webhook needs the bearer token or the session cookie.
// Handlers never block: status reads come from the read model, everything
// else awaits the lifecycle (which uses the blocking pools).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "api/sessions.h"
#include "api/wire.h"
#include "base/ids.h"
#include "base/metrics.h"
#include "http/router.h"
#include "jobs/idle_enforcer.h"
#include "lifecycle/lifecycle.h"
#include "webhook/receiver.h"

namespace sbx::api {

struct ApiOptions {
  std::string api_token;                   // required bearer token (non-empty)
  int default_list_limit = 100;            // /api/sandboxes page size when not given
  int max_list_limit = 1000;               // largest accepted `limit`
  bool secure_cookie = false;              // --secure-cookies: `Secure` on the session cookie
  SandboxView preview;                     // how sandbox objects show preview URLs, policies
  bool webhooks = false;                   // E2B provider: /readyz reports webhook delivery
  // The policy report replays the deployment's idle policy
  // (preview.default_idle_policy) beside this one (--policy-shadow), or
  // beside the one its `compare` names; empty: none.
  std::string policy_shadow;
  policy::PolicyConfig policy_config;      // what replayed policies are made with
};

class Api {
 public:
  // Reads and writes sandboxes through `lifecycle`, the enforcer's runs
  // through `enforcer` and browser sessions through `sessions`; never the
  // store directly.
  Api(lifecycle::Lifecycle& lifecycle, jobs::IdleEnforcer& enforcer, Sessions& sessions,
      Metrics& metrics, IdGenerator& ids, ApiOptions options);

  void Register(http_server::Router& router);
  // POST /api/webhooks/e2b: authenticated by signature, not token.
  void RegisterWebhook(http_server::Router& router, webhook::WebhookReceiver& receiver);

  // OK when the request carries the token (Authorization: Bearer) or the
  // cookie of a live session; kUnauthenticated otherwise (kUnavailable when
  // the store cannot say).
  net::awaitable<Status> Authenticate(const http_server::Request& req);
  // The guard of every authenticated route, run on the request head before
  // its body is read (CheckRequest).
  http_server::Guard AuthGuard();
  // Credentials; for a session cookie on a request that changes state, the
  // same origin (CheckSameOrigin: kPermissionDenied) and a JSON body
  // (kInvalidArgument); a valid project id when the route names one.
  net::awaitable<Status> CheckRequest(const http_server::RequestContext& ctx);

  lifecycle::Lifecycle& lifecycle() { return lifecycle_; }
  Sessions& sessions() { return sessions_; }
  // The session id of a request authenticated by its cookie (no
  // Authorization header), else "".
  static std::string SessionOf(const http_server::Request& req);
  const SandboxView& preview() const { return options_.preview; }
  // How many event streams a project has open on this server (EventStreams
  // sets it; explain reports them as presence). I/O thread only.
  void SetViewers(std::function<int(const std::string&)> viewers) {
    viewers_ = std::move(viewers);
  }

 private:
  using Ctx = http_server::RequestContext;
  using Response = http_server::Response;
  enum class Credential { kBearer, kSession };
  // Which credential authenticates `req`, or kUnauthenticated. `fresh`:
  // check a session cookie against the store, not the cache.
  net::awaitable<Result<Credential>> Identify(const http_server::Request& req, bool fresh);
  Response Error(const Ctx& ctx, const Status& s);
  // The sandbox object as of now (wire.h SandboxJson with this server's view).
  boost::json::object ObjectOf(const core::Sandbox& s);

  net::awaitable<Response> CreateSandbox(Ctx& ctx);
  net::awaitable<Response> GetSandbox(Ctx& ctx);
  net::awaitable<Response> PatchSandbox(Ctx& ctx);
  net::awaitable<Response> KillSandbox(Ctx& ctx);
  net::awaitable<Response> Activity(Ctx& ctx);
  net::awaitable<Response> Wake(Ctx& ctx);
  net::awaitable<Response> Pause(Ctx& ctx);
  net::awaitable<Response> History(Ctx& ctx);
  net::awaitable<Response> Explain(Ctx& ctx);
  net::awaitable<Response> PlaceHold(Ctx& ctx);
  net::awaitable<Response> ListHolds(Ctx& ctx);
  net::awaitable<Response> ReleaseHold(Ctx& ctx);
  net::awaitable<Response> Logs(Ctx& ctx);
  net::awaitable<Response> ListSandboxes(Ctx& ctx);
  net::awaitable<Response> EnforcerRuns(Ctx& ctx);
  net::awaitable<Response> Summary(Ctx& ctx);
  net::awaitable<Response> PolicyReport(Ctx& ctx);
  net::awaitable<Response> Forget(Ctx& ctx);
  net::awaitable<Response> SignIn(Ctx& ctx);
  net::awaitable<Response> SignOut(Ctx& ctx);
  net::awaitable<Response> Healthz(Ctx& ctx);
  net::awaitable<Response> Readyz(Ctx& ctx);
  net::awaitable<Response> MetricsText(Ctx& ctx);

  lifecycle::Lifecycle& lifecycle_;
  jobs::IdleEnforcer& enforcer_;
  Sessions& sessions_;
  Metrics& metrics_;
  IdGenerator& ids_;
  ApiOptions options_;
  std::function<int(const std::string&)> viewers_;
  // Serialized sandbox objects by project, with the version they show: a
  // status read of an unchanged record reuses the bytes. I/O thread only.
  struct CachedJson {
    int64_t version = 0;
    SystemTime updated_at{};
    std::string body;
    // Its first hold to expire: an expiry writes nothing, so the body is
    // made again from then on (as EventStreams::FrameOf does).
    std::optional<SystemTime> hold_expires;
  };
  std::unordered_map<std::string, CachedJson> json_cache_;
};

// For browser requests: OK when Sec-Fetch-Site says same-origin (or none), or,
// without it, when Origin is this Host; kPermissionDenied for another origin
// or site. Requests that name neither (not from a browser page) pass.
Status CheckSameOrigin(const http_server::Request& req);
// The whole of `text` as a decimal integer (an optional leading '-'), or
// nullopt for anything else (empty, other characters, out of range).
std::optional<int64_t> ParseInteger(std::string_view text);
// Parses `before` from the query (a page's nextBefore): 0 when absent,
// kInvalidArgument unless a positive integer.
Result<int64_t> ParseBefore(const std::map<std::string, std::string>& query);
// Parses `limit` from the query: default when absent, kInvalidArgument when
// not an integer in [1, max].
Result<int> ParseLimit(const std::map<std::string, std::string>& query, int def, int max);
// GET …/sandbox/logs's query: `tail` (1–10000) or `after` (a cursor), and
// `follow=1` where `follow` is allowed (the SSE stream); kInvalidArgument
// for anything else.
Result<provider::OutputQuery> ParseLogsQuery(const std::map<std::string, std::string>& query,
                                             bool follow);
// One read of output as JSON: {"lines","cursor","skipped"}.
std::string OutputJson(provider::OutputChunk chunk);

inline constexpr char kSessionCookie[] = "sandboxd_session";
// Bodies of the routes anyone may send to before they are known (the
// signature or the token is checked with the body): far below the server's
// 1 MiB, so that unknown clients cannot make it hold much. An E2B webhook is
// a few KiB (metadata at most 8 KiB); sign-in and sign-out take none.
inline constexpr size_t kMaxWebhookBodyBytes = 64 << 10;
inline constexpr size_t kMaxSessionBodyBytes = 4 << 10;

}  // namespace sbx::api
