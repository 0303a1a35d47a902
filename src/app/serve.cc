#include "app/serve.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "api/api.h"
#include "api/events.h"
#include "app/startup.h"
#include "base/clock.h"
#include "base/log.h"
#include "gateway/e2b_upstream.h"
#include "gateway/gateway.h"
#include "gateway/loopback_upstream.h"
#include "http/server.h"
#include "http/static_files.h"
#include "jobs/failover.h"
#include "jobs/idle_enforcer.h"
#include "jobs/idle_policy.h"
#include "jobs/keep_alive.h"
#include "jobs/lease_leadership.h"
#include "jobs/periodic.h"
#include "jobs/reconciler.h"
#include "jobs/retention.h"
#include "lifecycle/change_follower.h"
#include "lifecycle/lifecycle.h"
#include "provider/e2b/curl_transport.h"
#include "provider/e2b/e2b_provider.h"
#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"
#include "provider/local/linux_sandbox_host.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "webhook/receiver.h"
#include "e2b/signature.h"

namespace sbx::app {
namespace fs = std::filesystem;

namespace {

using namespace std::chrono_literals;

constexpr std::string_view kChangeChannel = "sandboxd_changes";
// How long shutdown waits for requests in progress and background operations.
constexpr auto kShutdownGrace = 10s;

// The event streams' fan-out threads: with the I/O thread, one sender per
// core, at most four.
int FanOutThreads() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(std::min(cores, 4u) - 1);
}

// Flag values parsed into their types.
struct Settings {
  fs::path data_dir;
  std::chrono::seconds idle_timeout{180};
  std::chrono::seconds max_hold_ttl{24 * 3600};
  std::chrono::milliseconds pause_warning{30'000};
  std::chrono::milliseconds lease_ttl{5000};
  std::chrono::milliseconds max_clock_skew{300'000};
  UidRangeSetting sandbox_uids;
  fs::path exe_dir;
  std::chrono::seconds preview_wake_timeout{30};
  std::optional<gateway::PreviewDomain> preview_domain;  // unset: localhost:<preview port>
  bool preview_tokens = false;                            // --preview-auth token
  std::chrono::milliseconds store_timeout{5000};
  jobs::RetentionOptions retention;
  std::chrono::seconds session_ttl{7 * 24 * 3600};
  policy::PolicyConfig policy_config;
};

Result<Settings> ParseSettings(const ServeConfig& c) {
  Settings s;
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return Unavailable(fmt::format("create {}: {}", c.data_dir, ec.message()));
  s.data_dir = fs::absolute(c.data_dir);
  // The data dir holds the token and the database: only the owner may list
  // it. Others may traverse it (0711): the local provider's sandboxes run as
  // unprivileged users that must reach their bundles' mount points below it.
  fs::permissions(s.data_dir,
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::replace, ec);
  auto idle = ParseDuration(c.idle_timeout);
  if (!idle.ok()) return idle.error().WithContext("--idle-timeout");
  s.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(*idle);
  if (s.idle_timeout < 1s) return InvalidArgument("--idle-timeout must be at least 1s");
  auto max_hold = ParseDuration(c.max_hold_ttl);
  if (!max_hold.ok()) return max_hold.error().WithContext("--max-hold-ttl");
  s.max_hold_ttl = std::chrono::duration_cast<std::chrono::seconds>(*max_hold);
  if (s.max_hold_ttl < 1s) return InvalidArgument("--max-hold-ttl must be at least 1s");
  auto warning = ParseDuration(c.pause_warning);
  if (!warning.ok()) return warning.error().WithContext("--pause-warning");
  s.pause_warning = std::chrono::duration_cast<std::chrono::milliseconds>(*warning);
  auto lease_ttl = ParseDuration(c.lease_ttl_text);
  if (!lease_ttl.ok()) return lease_ttl.error().WithContext("--lease-ttl");
  if (*lease_ttl < Millis(300)) return InvalidArgument("--lease-ttl must be at least 300ms");
  s.lease_ttl = std::chrono::duration_cast<std::chrono::milliseconds>(*lease_ttl);
  auto skew = ParseDuration(c.max_clock_skew);
  if (!skew.ok()) return skew.error().WithContext("--max-clock-skew");
  s.max_clock_skew = *skew;
  // --port-range is still parsed (a bad value is an error) but no longer
  // used: every sandbox serves on its template's port in its own namespace.
  SBX_RETURN_IF_ERROR(ParsePortRange(c.port_range).status());
  SBX_ASSIGN_OR_RETURN(s.sandbox_uids, ParseUidRange(c.sandbox_uid_range));
  auto wake = ParseDuration(c.preview_wake_timeout);
  if (!wake.ok()) return wake.error().WithContext("--preview-wake-timeout");
  s.preview_wake_timeout = std::chrono::duration_cast<std::chrono::seconds>(*wake);
  if (s.preview_wake_timeout < 1s) return InvalidArgument("--preview-wake-timeout must be at least 1s");
  if (!c.preview_domain.empty()) {
    SBX_ASSIGN_OR_RETURN(s.preview_domain, gateway::ParsePreviewDomain(c.preview_domain));
  }
  if (c.preview_auth != "none" && c.preview_auth != "token") {
    return InvalidArgument(fmt::format("--preview-auth {}: use none or token", c.preview_auth));
  }
  s.preview_tokens = c.preview_auth == "token";
  if (c.preview_max_body_mib < 1) return InvalidArgument("--preview-max-body-mib must be at least 1");
  auto duration = [](std::string_view flag, const std::string& text) -> Result<Millis> {
    auto d = ParseDuration(text);
    if (!d.ok()) return d.error().WithContext(flag);
    return *d;
  };
  SBX_ASSIGN_OR_RETURN(s.store_timeout, duration("--store-timeout", c.store_timeout));
  SBX_ASSIGN_OR_RETURN(s.retention.history, duration("--retain-history", c.retain_history));
  SBX_ASSIGN_OR_RETURN(s.retention.event_ids, duration("--retain-event-ids", c.retain_event_ids));
  SBX_ASSIGN_OR_RETURN(s.retention.job_runs, duration("--retain-job-runs", c.retain_job_runs));
  if (s.store_timeout < 100ms) return InvalidArgument("--store-timeout must be at least 100ms");
  SBX_ASSIGN_OR_RETURN(Millis session_ttl, duration("--session-ttl", c.session_ttl));
  s.session_ttl = std::chrono::duration_cast<std::chrono::seconds>(session_ttl);
  if (s.session_ttl < 1min) return InvalidArgument("--session-ttl must be at least 1m");
  SBX_RETURN_IF_ERROR(policy::CheckPolicyName(c.idle_policy).WithContext("--idle-policy"));
  if (!c.policy_shadow.empty()) {
    SBX_RETURN_IF_ERROR(policy::CheckPolicyName(c.policy_shadow).WithContext("--policy-shadow"));
  }
  s.policy_config.timeout = s.idle_timeout;
  SBX_ASSIGN_OR_RETURN(s.policy_config.bounds.min, duration("--idle-policy-min", c.idle_policy_min));
  SBX_ASSIGN_OR_RETURN(s.policy_config.bounds.max, duration("--idle-policy-max", c.idle_policy_max));
  if (s.policy_config.bounds.min < 1s || s.policy_config.bounds.min > s.policy_config.bounds.max) {
    return InvalidArgument("--idle-policy-min must be at least 1s and not above --idle-policy-max");
  }
  s.exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  return s;
}

// The store named by --store: SQLite in the data dir by default.
struct StoreParts {
  std::unique_ptr<store::Store> store;
  store::PostgresStore* postgres = nullptr;  // set when the store is PostgreSQL
};

Result<StoreParts> OpenStore(const ServeConfig& c, const Settings& s) {
  const std::string url = StoreUrl(s.data_dir, c.store);
  StoreParts parts;
  if (url.starts_with("sqlite://")) {
    SBX_ASSIGN_OR_RETURN(auto opened,
                         store::SqliteStore::Open(url.substr(9), {.timeout = s.store_timeout}));
    parts.store = std::move(opened);
  } else if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    SBX_ASSIGN_OR_RETURN(
        auto opened,
        store::PostgresStore::Open(
            url, {.pool_size = 8,
                  .statement_timeout = s.store_timeout,
                  .borrow_timeout = s.store_timeout,
                  .change_channel = std::string(kChangeChannel)}));
    parts.postgres = opened.get();
    parts.store = std::move(opened);
  } else {
    return UnknownStoreUrl(url);
  }
  return parts;
}

// The provider named by --provider and what it runs on: real runc containers
// here, or E2B's REST API.
struct ProviderParts {
  provider::local::PosixProcessRunner runner;
  std::unique_ptr<provider::local::LinuxSandboxHost> sandbox_host;
  std::unique_ptr<provider::e2b::CurlGlobal> curl;
  std::unique_ptr<provider::e2b::CurlTransport> transport;
  std::unique_ptr<provider::Provider> provider;
  std::string default_template = "hello";
  std::chrono::seconds e2b_sandbox_timeout{0};  // set for E2B: keep-alive renews it
  std::optional<provider::e2b::E2bOptions> e2b;  // set for E2B: the preview upstream needs it
  provider::local::SandboxConnector* local = nullptr;  // set for local: the gateway reaches it
};

Result<std::unique_ptr<ProviderParts>> MakeProvider(const ServeConfig& c, const Settings& s,
                                                    Clock& clock, IdGenerator& ids) {
  auto parts = std::make_unique<ProviderParts>();
  if (c.provider == "local") {
    parts->sandbox_host = std::make_unique<provider::local::LinuxSandboxHost>(clock);
    auto local = std::make_unique<provider::local::LocalProvider>(
        clock, ids, parts->runner, *parts->sandbox_host,
        LocalRuntimeOptions(s.data_dir, c.templates_dir, s.exe_dir, s.sandbox_uids));
    parts->local = local.get();
    parts->provider = std::move(local);
    return parts;
  }
  if (c.provider != "e2b") {
    return InvalidArgument(fmt::format("--provider {}: use local or e2b", c.provider));
  }
  provider::e2b::E2bOptions o;
  o.api_key = c.e2b_api_key;
  if (!c.e2b_api_url.empty()) o.api_url = c.e2b_api_url;
  if (!c.e2b_domain.empty()) o.domain = c.e2b_domain;
  if (!c.e2b_template.empty()) o.template_id = c.e2b_template;
  if (Status st = provider::e2b::ValidateE2bOptions(o); !st.ok()) {
    return st.WithContext("--provider e2b (set E2B_API_KEY, E2B_API_URL, E2B_DOMAIN)");
  }
  SBX_ASSIGN_OR_RETURN(parts->curl, provider::e2b::CurlGlobal::Create());
  parts->transport = std::make_unique<provider::e2b::CurlTransport>(*parts->curl);
  parts->default_template = o.template_id;
  parts->e2b_sandbox_timeout = o.sandbox_timeout;
  parts->provider = std::make_unique<provider::e2b::E2bProvider>(clock, ids, *parts->transport, o);
  parts->e2b = o;
  return parts;
}

// How long a create with no sandbox at the provider yet may still be running
// on another replica before the reconciler fails it: on E2B, its longest call
// (with retries) and 10 s more.
std::chrono::seconds CreateGrace(const ProviderParts& provider) {
  const std::chrono::seconds grace = lifecycle::LifecycleOptions{}.create_grace;
  if (!provider.e2b) return grace;
  return std::max(grace,
                  std::chrono::ceil<std::chrono::seconds>(
                      provider::e2b::LongestCall(*provider.e2b)) +
                      std::chrono::seconds(10));
}

// Pools, read model, bus, metrics and the lifecycle over them.
struct Core {
  Core(Clock& clock, IdGenerator& ids, store::Store& store, provider::Provider& provider,
       lifecycle::LifecycleOptions options)
      : lifecycle(clock, store_pool, provider_pool, store, provider, ids, read_model, bus, metrics,
                  std::move(options)) {}

  BlockingPool store_pool{{.threads = 2}};
  BlockingPool provider_pool{{.threads = 8}};
  lifecycle::ReadModel read_model;
  lifecycle::EventBus bus;
  Metrics metrics;
  lifecycle::Lifecycle lifecycle;
};

void AddSandboxGauges(Core& core) {
  core.metrics.AddGaugeCallback("sandboxd_sandboxes", "Sandboxes by status", [&core] {
    std::vector<std::pair<Labels, double>> out;
    auto counts = core.read_model.CountByStatus();
    for (auto st : {core::SandboxStatus::kStarting, core::SandboxStatus::kRunning,
                    core::SandboxStatus::kPausing, core::SandboxStatus::kPaused,
                    core::SandboxStatus::kKilled}) {
      out.push_back(
          {{{"status", std::string(core::StatusName(st))}}, static_cast<double>(counts[st])});
    }
    return out;
  });
  core.metrics.AddGaugeCallback(
      "sandboxd_oldest_transition_seconds",
      "How long the longest STARTING or PAUSING record has been so (since its last update), s",
      [&core] {
        const SystemTime now = core.lifecycle.clock().Now();
        const auto oldest = core.read_model.OldestUpdateByStatus();
        std::vector<std::pair<Labels, double>> out;
        for (auto st : {core::SandboxStatus::kStarting, core::SandboxStatus::kPausing}) {
          auto it = oldest.find(st);
          const double age = it == oldest.end()
                                 ? 0
                                 : std::chrono::duration<double>(now - it->second).count();
          out.push_back({{{"status", std::string(core::StatusName(st))}}, std::max(age, 0.0)});
        }
        return out;
      });
  core.metrics.AddGaugeCallback(
      "sandboxd_holds", "Busy holds unexpired now, over every sandbox (each keeps one awake)",
      [&core] {
        const SystemTime now = core.lifecycle.clock().Now();
        return std::vector<std::pair<Labels, double>>{
            {{}, static_cast<double>(core.read_model.CountHolds(now))}};
      });
}

// Leader election, change following and the background jobs. Leader work
// runs on one replica: always this one on SQLite, the lease holder on
// PostgreSQL.
struct Jobs {
  jobs::AlwaysLeader single_node;
  std::unique_ptr<jobs::LeaseLeadership> lease;
  std::unique_ptr<store::ChangeFeed> feed;
  std::unique_ptr<lifecycle::ChangeFollower> follower;
  std::unique_ptr<jobs::IdleEnforcer> enforcer;
  std::unique_ptr<jobs::ReconcilerJob> reconciler;
  std::unique_ptr<jobs::FailoverJob> failover;
  std::unique_ptr<jobs::KeepAliveJob> keep_alive;
  std::unique_ptr<jobs::RetentionJob> retention;
  std::unique_ptr<jobs::IdlePolicyJob> idle_policy;
  std::unique_ptr<jobs::PeriodicJob> delivery_health;
  jobs::Leadership* leadership = &single_node;

  void Stop() {
    if (enforcer) enforcer->Stop();
    if (reconciler) reconciler->Stop();
    if (failover) failover->Stop();
    if (keep_alive) keep_alive->Stop();
    if (retention) retention->Stop();
    if (idle_policy) idle_policy->Stop();
    if (delivery_health) delivery_health->Stop();
  }
};

Result<std::unique_ptr<Jobs>> MakeJobs(const ServeConfig& c, const Settings& s, Clock& clock,
                                       IdGenerator& ids, StoreParts& store, ProviderParts& provider,
                                       Core& core) {
  auto j = std::make_unique<Jobs>();
  if (store.postgres) {
    j->lease = std::make_unique<jobs::LeaseLeadership>(
        clock, *store.postgres, fmt::format("{}-{}", ::getpid(), ids.NewHex(8)), s.lease_ttl);
    j->leadership = j->lease.get();
    SBX_ASSIGN_OR_RETURN(j->feed, store.postgres->OpenChangeFeed());
    j->follower = std::make_unique<lifecycle::ChangeFollower>(clock, core.lifecycle, *j->feed);
  }
  j->enforcer = std::make_unique<jobs::IdleEnforcer>(
      clock, core.store_pool, *store.store, core.lifecycle, core.bus, core.metrics,
      *j->leadership, jobs::IdleEnforcerOptions{.schedule = c.enforcer_schedule});
  j->reconciler = std::make_unique<jobs::ReconcilerJob>(
      clock, core.lifecycle, *j->leadership,
      jobs::ReconcilerOptions{.schedule = c.reconcile_schedule});
  if (store.postgres) {
    j->failover = std::make_unique<jobs::FailoverJob>(clock, core.lifecycle, *j->enforcer,
                                                      *j->leadership, jobs::FailoverOptions{});
  }
  if (provider.e2b_sandbox_timeout > 0s) {
    j->keep_alive = std::make_unique<jobs::KeepAliveJob>(
        clock, core.lifecycle, *j->leadership,
        jobs::KeepAliveOptions{.provider_timeout = provider.e2b_sandbox_timeout,
                               .renew_before = provider.e2b_sandbox_timeout / 2});
  }
  j->retention = std::make_unique<jobs::RetentionJob>(clock, core.store_pool, *store.store,
                                                      *j->leadership, s.retention);
  SBX_ASSIGN_OR_RETURN(
      j->idle_policy,
      jobs::IdlePolicyJob::Make(clock, core.store_pool, *store.store, core.lifecycle,
                                *j->leadership, core.metrics,
                                {.default_policy = c.idle_policy,
                                 .shadow = c.policy_shadow,
                                 .config = s.policy_config,
                                 .schedule = c.idle_policy_schedule}));
  if (c.provider == "e2b") {
    // On every replica: webhooks reach any of them, the leader repairs
    // drift, and every /readyz and /metrics should say the same. A failed
    // read (the store is down) keeps what was known; /readyz reports the
    // store itself. (The local runtime sends no webhooks to serve.)
    lifecycle::Lifecycle* lifecycle = &core.lifecycle;
    j->delivery_health = std::make_unique<jobs::PeriodicJob>(
        clock, "delivery-health", "@every 5s", [lifecycle]() -> net::awaitable<void> {
          co_await lifecycle->RefreshDeliveryHealth();
        });
  }
  Jobs* raw = j.get();
  core.metrics.AddGaugeCallback("sandboxd_leader", "1 while this replica runs the leader jobs",
                                [raw] {
                                  return std::vector<std::pair<Labels, double>>{
                                      {{}, raw->leadership->IsLeader() ? 1.0 : 0.0}};
                                });
  return j;
}

Status StartJobs(net::io_context& io, Jobs& j) {
  const auto ex = io.get_executor();
  SBX_RETURN_IF_ERROR(j.enforcer->Start(ex));
  SBX_RETURN_IF_ERROR(j.reconciler->Start(ex));
  if (j.follower) j.follower->Start();
  if (j.lease) j.lease->Start();
  if (j.failover) SBX_RETURN_IF_ERROR(j.failover->Start(ex));
  if (j.keep_alive) SBX_RETURN_IF_ERROR(j.keep_alive->Start(ex));
  SBX_RETURN_IF_ERROR(j.retention->Start(ex));
  SBX_RETURN_IF_ERROR(j.idle_policy->Start(ex));
  if (j.delivery_health) SBX_RETURN_IF_ERROR(j.delivery_health->Start(ex));
  return OkStatus();
}

// The preview gateway and what it reaches sandboxes through: the local
// provider's loopback ports, or E2B's sandbox hosts.
struct Preview {
  std::unique_ptr<SystemResolver> resolver;  // E2B sandbox hosts; outlives the upstream
  std::unique_ptr<gateway::Upstream> upstream;
  std::optional<gateway::TrafficTokens> tokens;
  std::unique_ptr<gateway::Gateway> gateway;
};

Result<std::unique_ptr<Preview>> MakePreview(net::io_context& io, Clock& clock,
                                             const ServeConfig& c, const Settings& s,
                                             ProviderParts& provider, Core& core,
                                             size_t max_connections) {
  auto p = std::make_unique<Preview>();
  if (provider.e2b) {
    p->resolver = std::make_unique<SystemResolver>(clock);
    SBX_ASSIGN_OR_RETURN(p->upstream,
                         gateway::E2bUpstream::Create({.api_url = provider.e2b->api_url,
                                                       .domain = provider.e2b->domain},
                                                      *p->resolver));
  } else {
    provider::local::SandboxConnector* connector = provider.local;
    p->upstream = std::make_unique<gateway::LoopbackUpstream>(gateway::LoopbackUpstreamOptions{
        .sandbox_socket = [connector](const std::string& id) {
          return connector->SandboxSocket(id);
        }});
  }
  if (s.preview_tokens) {
    auto secret = c.preview_secret.empty()
                      ? LoadOrCreateSecret(s.data_dir / "preview-secret", "")
                      : Result<std::string>(c.preview_secret);
    if (!secret.ok()) return secret.error().WithContext("--preview-secret");
    p->tokens.emplace(*secret);
  }
  gateway::GatewayOptions o;
  o.listen = c.preview_listen;
  o.domain = s.preview_domain;
  o.wake_timeout = s.preview_wake_timeout;
  o.require_token = s.preview_tokens;
  o.max_request_body_bytes = static_cast<uint64_t>(c.preview_max_body_mib) << 20;
  o.max_connections = max_connections;
  p->gateway = std::make_unique<gateway::Gateway>(io, clock, core.lifecycle, core.bus, core.metrics,
                                                  *p->upstream, p->tokens ? &*p->tokens : nullptr,
                                                  std::move(o));
  return p;
}

// How the API shows sandbox URLs: the gateway's addresses (and tokens).
api::SandboxView ViewOf(const Preview& p, const ServeConfig& c) {
  api::SandboxView view{.scheme = p.gateway->domain().scheme,
                        .domain = p.gateway->domain().host,
                        .default_idle_policy = c.idle_policy};
  if (p.tokens) {
    const gateway::TrafficTokens* tokens = &*p.tokens;
    view.traffic_token = [tokens](const std::string& id) { return tokens->For(id); };
  }
  return view;
}

// The HTTP side: REST API, sessions, SSE, webhook receiver, dashboard, listener.
struct Frontend {
  Frontend(net::io_context& io, Clock& clock, IdGenerator& ids, store::Store& store, Core& core,
           Jobs& jobs, const ServeConfig& c, const Settings& s, const std::string& token,
           size_t max_connections, api::SandboxView preview)
      : sessions(clock, core.store_pool, store, ids, {.key = token, .ttl = s.session_ttl}),
        api(core.lifecycle, *jobs.enforcer, sessions, core.metrics, ids,
            {.api_token = token,
             .secure_cookie = c.secure_cookies,
             .preview = std::move(preview),
             .webhooks = c.provider == "e2b",
             .policy_shadow = c.policy_shadow,
             .policy_config = s.policy_config}),
        streams(io, clock, api, core.lifecycle, core.bus, core.metrics,
                {.max_streams = c.max_event_streams,
                 .presence = c.presence,
                 .pause_warning = s.pause_warning,
                 .fanout_threads = FanOutThreads()}),
        receiver(core.lifecycle, core.metrics, e2b::ParseSecrets(c.webhook_secrets)),
        static_files(c.web_dir.empty()
                         ? FirstExisting({s.exe_dir.parent_path() / "web/dashboard/dist",
                                          "web/dashboard/dist"})
                         : fs::path(c.web_dir)),
        server(io, clock, core.metrics, router,
               {.listen = c.listen, .max_connections = max_connections}) {
    api.Register(router);
    streams.Register(router);
    api.RegisterWebhook(router, receiver);
    // Static files answer from the head: a body sent to them is never read.
    router.SetFallback(
        [this](http_server::RequestContext& ctx) { return static_files.Serve(ctx); },
        /*reads_body=*/false);
  }

  http_server::Router router;
  api::Sessions sessions;
  api::Api api;
  api::EventStreams streams;
  webhook::WebhookReceiver receiver;
  http_server::StaticFiles static_files;
  http_server::Server server;
};

// Runs `io` until SIGINT/SIGTERM, then shuts down in two phases: stop
// accepting (API and previews), close SSE streams with a final event, answer
// held preview requests, close WebSocket tunnels and stop the jobs; then
// wait (up to kShutdownGrace) for requests and exchanges in progress, preview
// activity and the lifecycle's queued writes and background operations, and
// stop.
void RunUntilSignal(net::io_context& io, Clock& clock, Frontend& front, Preview& preview,
                    Jobs& jobs, lifecycle::Lifecycle& lifecycle) {
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    SBX_LOG_INFO("signal {}: shutting down", sig);
    front.server.BeginShutdown();
    preview.gateway->BeginShutdown();
    front.streams.Shutdown();
    jobs.Stop();
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
          const SteadyTime deadline = clock.SteadyNow() + kShutdownGrace;
          const auto busy = [&] {
            return front.server.open_connections() > 0 || preview.gateway->busy() ||
                   lifecycle.busy();
          };
          while (busy() && clock.SteadyNow() < deadline) {
            (void)co_await clock.SleepFor(20ms);
          }
          if (busy()) {
            SBX_LOG_WARN("shutdown: gave up waiting after {}", FormatDuration(kShutdownGrace));
          }
          io.stop();
        },
        net::detached);
  });
  // One I/O thread: handlers, SSE streams and the enforcer share state
  // without locks; blocking work runs on the pools.
  io.run();
}

}  // namespace

int Serve(const ServeConfig& c) {
  // Logs go to stderr: stdout carries only the URL, token, dashboard link and
  // preview address.
  if (Status s = SetUpLogging("sandboxd", c.log_level); !s.ok()) {
    std::fprintf(stderr, "sandboxd serve: %s\n", s.message().c_str());
    return 2;
  }
  auto fail = [](const Status& s) {
    SBX_LOG_ERROR("sandboxd serve: {}", s.ToString());
    return 1;
  };
  auto settings = ParseSettings(c);
  if (!settings.ok()) return fail(settings.error());
  auto lock = DataDirLock::Acquire(settings->data_dir);
  if (!lock.ok()) return fail(lock.error());
  const uint64_t file_limit = RaiseFileLimit();
  SystemClock clock;
  IdGenerator ids;  // getrandom(2): sandbox ids and tokens must be unguessable
  // The token from the flag/env, else <data-dir>/api-token (made on first start).
  const fs::path token_file = settings->data_dir / "api-token";
  std::error_code token_ec;
  const bool token_generated = c.api_token.empty() && !fs::exists(token_file, token_ec);
  auto token = c.api_token.empty() ? LoadOrCreateSecret(token_file, "")
                                   : Result<std::string>(c.api_token);
  if (!token.ok()) return fail(token.error());
  auto store = OpenStore(c, *settings);
  if (!store.ok()) return fail(store.error());
  auto provider = MakeProvider(c, *settings, clock, ids);
  if (!provider.ok()) return fail(provider.error());

  net::io_context io;
  Core core(clock, ids, *store->store, *(*provider)->provider,
            {.default_idle_timeout_s = settings->idle_timeout.count(),
             .default_template = (*provider)->default_template,
             .max_clock_skew = settings->max_clock_skew,
             .create_grace = CreateGrace(**provider),
             .max_hold_ttl = settings->max_hold_ttl});
  if (Status s = core.lifecycle.Load(); !s.ok()) return fail(s);
  AddSandboxGauges(core);
  auto jobs = MakeJobs(c, *settings, clock, ids, *store, **provider, core);
  if (!jobs.ok()) return fail(jobs.error().WithContext("listen for changes"));
  if (!store->postgres) {
    // Settle records against the runtime before anything is served, so it
    // never races a new create.
    net::co_spawn(io, (*jobs)->reconciler->StartupPass(), net::detached);
  }
  if ((*jobs)->delivery_health) {
    // What the history says of webhook delivery, before /readyz answers.
    net::co_spawn(io, core.lifecycle.RefreshDeliveryHealth(), net::detached);
  }
  io.run();
  io.restart();
  // Descriptors for connections: an API connection takes one, a preview
  // connection two (the client's and the sandbox's). Half of the budget
  // each, so that both listeners full together stay within the limit
  // (beyond it, accept fails for both).
  const size_t descriptors = ConnectionBudget(SIZE_MAX, file_limit);
  const size_t api_connections =
      std::min(http_server::ServerOptions{}.max_connections, descriptors / 2);
  const size_t preview_connections =
      std::min(gateway::GatewayOptions{}.max_connections, descriptors / 4);
  auto preview = MakePreview(io, clock, c, *settings, **provider, core, preview_connections);
  if (!preview.ok()) return fail(preview.error());
  auto preview_bound = (*preview)->gateway->Start();
  if (!preview_bound.ok()) return fail(preview_bound.error().WithContext("--preview-listen"));
  Frontend front(io, clock, ids, *store->store, core, **jobs, c, *settings, *token,
                 api_connections, ViewOf(**preview, c));
  auto bound = front.server.Start();
  if (!bound.ok()) return fail(bound.error());
  if (Status s = StartJobs(io, **jobs); !s.ok()) return fail(s);

  SBX_LOG_INFO("sandboxd serving on http://{}/ (data {}, idle timeout {}, schedule \"{}\")", *bound,
               settings->data_dir.string(), FormatDuration(settings->idle_timeout),
               c.enforcer_schedule);
  if (c.api_token.empty()) SBX_LOG_INFO("API token in {}", token_file.string());
  // The token goes to stdout only when this start made it: one given by
  // flag/env or kept in the file is not echoed into logs. The link carries it
  // in the fragment (#token=), which browsers never send to a server.
  const gateway::PreviewDomain& domain = (*preview)->gateway->domain();
  fmt::print("sandboxd listening on http://{}/\n", *bound);
  if (token_generated) {
    fmt::print("API token: {}\nOpen the dashboard: http://{}/#token={}\n", *token, *bound,
               *token);
  } else {
    fmt::print("API token: {}\nOpen the dashboard: http://{}/ (sign in with that token)\n",
               c.api_token.empty() ? "in " + token_file.string()
                                   : std::string("from --api-token (SANDBOXD_API_TOKEN)"),
               *bound);
  }
  fmt::print("Previews on {}: {}://<port>-<sandboxId>.{}/\n", *preview_bound, domain.scheme,
             domain.host);
  std::fflush(stdout);

  RunUntilSignal(io, clock, front, **preview, **jobs, core.lifecycle);
  if ((*jobs)->lease) (*jobs)->lease->Stop();
  if ((*jobs)->follower) (*jobs)->follower->Stop();
  // Let in-flight blocking calls finish while everything they use still exists.
  core.provider_pool.Stop();
  core.store_pool.Stop();
  return 0;
}

}  // namespace sbx::app
