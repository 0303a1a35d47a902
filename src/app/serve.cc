#include "app/serve.h"

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "api/api.h"
#include "api/events.h"
#include "app/startup.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/server.h"
#include "http/static_files.h"
#include "jobs/failover.h"
#include "jobs/idle_enforcer.h"
#include "jobs/keep_alive.h"
#include "jobs/lease_leadership.h"
#include "jobs/reconciler.h"
#include "lifecycle/change_follower.h"
#include "lifecycle/lifecycle.h"
#include "provider/e2b/curl_transport.h"
#include "provider/e2b/e2b_provider.h"
#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"
#include "provider/local/socket_loopback_network.h"
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

// Flag values parsed into their types.
struct Settings {
  fs::path data_dir;
  std::chrono::seconds idle_timeout{180};
  std::chrono::milliseconds lease_ttl{5000};
  std::chrono::milliseconds max_clock_skew{300'000};
  std::pair<uint16_t, uint16_t> ports;
  fs::path exe_dir;
};

Result<Settings> ParseSettings(const ServeConfig& c) {
  Settings s;
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return Unavailable(fmt::format("create {}: {}", c.data_dir, ec.message()));
  s.data_dir = fs::absolute(c.data_dir);
  // The data dir holds the token and the database: owner only.
  fs::permissions(s.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  auto idle = ParseDuration(c.idle_timeout);
  if (!idle.ok()) return idle.error().WithContext("--idle-timeout");
  s.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(*idle);
  if (s.idle_timeout < 1s) return InvalidArgument("--idle-timeout must be at least 1s");
  auto lease_ttl = ParseDuration(c.lease_ttl_text);
  if (!lease_ttl.ok()) return lease_ttl.error().WithContext("--lease-ttl");
  if (*lease_ttl < Millis(300)) return InvalidArgument("--lease-ttl must be at least 300ms");
  s.lease_ttl = std::chrono::duration_cast<std::chrono::milliseconds>(*lease_ttl);
  auto skew = ParseDuration(c.max_clock_skew);
  if (!skew.ok()) return skew.error().WithContext("--max-clock-skew");
  s.max_clock_skew = *skew;
  SBX_ASSIGN_OR_RETURN(s.ports, ParsePortRange(c.port_range));
  s.exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  return s;
}

// The store named by --store: SQLite in the data dir by default.
struct StoreParts {
  std::unique_ptr<store::Store> store;
  store::PostgresStore* postgres = nullptr;  // set when the store is PostgreSQL
};

Result<StoreParts> OpenStore(const ServeConfig& c, const Settings& s) {
  const std::string url =
      c.store.empty() ? "sqlite://" + (s.data_dir / "sandboxd.db").string() : c.store;
  StoreParts parts;
  if (url.starts_with("sqlite://")) {
    SBX_ASSIGN_OR_RETURN(auto opened, store::SqliteStore::Open(url.substr(9)));
    parts.store = std::move(opened);
  } else if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    SBX_ASSIGN_OR_RETURN(
        auto opened,
        store::PostgresStore::Open(
            url, {.pool_size = 8, .change_channel = std::string(kChangeChannel)}));
    parts.postgres = opened.get();
    parts.store = std::move(opened);
  } else {
    return InvalidArgument(
        fmt::format("--store {}: use sqlite://<path> or postgres://<user>@<host>/<db>", url));
  }
  return parts;
}

// The provider named by --provider and what it runs on: real runc containers
// here, or E2B's REST API.
struct ProviderParts {
  provider::local::PosixProcessRunner runner;
  std::unique_ptr<provider::local::SocketLoopbackNetwork> loopback;
  std::unique_ptr<provider::e2b::CurlGlobal> curl;
  std::unique_ptr<provider::e2b::CurlTransport> transport;
  std::unique_ptr<provider::Provider> provider;
  std::string default_template = "hello";
  std::chrono::seconds e2b_sandbox_timeout{0};  // set for E2B: keep-alive renews it
};

Result<std::unique_ptr<ProviderParts>> MakeProvider(const ServeConfig& c, const Settings& s,
                                                    Clock& clock, IdGenerator& ids) {
  auto parts = std::make_unique<ProviderParts>();
  if (c.provider == "local") {
    provider::local::LocalProviderOptions o;
    o.runc_root = s.data_dir / "runc";
    o.sandboxes_dir = s.data_dir / "sandboxes";
    o.templates_dir = c.templates_dir.empty()
                          ? FirstExisting({s.exe_dir.parent_path() / "templates", "templates"})
                          : fs::path(c.templates_dir);
    o.binary_dir = s.exe_dir;
    o.first_port = s.ports.first;
    o.last_port = s.ports.second;
    parts->loopback = std::make_unique<provider::local::SocketLoopbackNetwork>(clock);
    parts->provider = std::make_unique<provider::local::LocalProvider>(clock, ids, parts->runner,
                                                                       *parts->loopback, o);
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
  return parts;
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
  jobs::Leadership* leadership = &single_node;

  void Stop() {
    if (enforcer) enforcer->Stop();
    if (reconciler) reconciler->Stop();
    if (failover) failover->Stop();
    if (keep_alive) keep_alive->Stop();
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
  return OkStatus();
}

// The HTTP side: REST API, SSE, webhook receiver, dashboard, listener.
struct Frontend {
  Frontend(net::io_context& io, Clock& clock, IdGenerator& ids, Core& core, Jobs& jobs,
           const ServeConfig& c, const Settings& s, const std::string& token)
      : api(core.lifecycle, *jobs.enforcer, core.metrics, ids, {.api_token = token}),
        streams(io, clock, api, core.lifecycle, core.bus, core.metrics,
                {.max_streams = c.max_event_streams, .presence = c.presence}),
        receiver(core.lifecycle, core.metrics, e2b::ParseSecrets(c.webhook_secrets)),
        static_files(c.web_dir.empty()
                         ? FirstExisting({s.exe_dir.parent_path() / "web/dashboard/dist",
                                          "web/dashboard/dist"})
                         : fs::path(c.web_dir)),
        server(io, clock, core.metrics, router, {.listen = c.listen}) {
    api.Register(router);
    streams.Register(router);
    api.RegisterWebhook(router, receiver);
    router.SetFallback(
        [this](http_server::RequestContext& ctx) { return static_files.Serve(ctx); });
  }

  http_server::Router router;
  api::Api api;
  api::EventStreams streams;
  webhook::WebhookReceiver receiver;
  http_server::StaticFiles static_files;
  http_server::Server server;
};

// Runs `io` until SIGINT/SIGTERM, then shuts down in two phases: stop
// accepting, close SSE streams with a final event and stop the jobs; then
// wait (up to kShutdownGrace) for requests in progress and for the
// lifecycle's queued writes and background operations, and stop.
void RunUntilSignal(net::io_context& io, Clock& clock, Frontend& front, Jobs& jobs,
                    lifecycle::Lifecycle& lifecycle) {
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    SBX_LOG_INFO("signal {}: shutting down", sig);
    front.server.BeginShutdown();
    front.streams.Shutdown();
    jobs.Stop();
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
          const SteadyTime deadline = clock.SteadyNow() + kShutdownGrace;
          while ((front.server.open_connections() > 0 || lifecycle.busy()) &&
                 clock.SteadyNow() < deadline) {
            (void)co_await clock.SleepFor(20ms);
          }
          if (front.server.open_connections() > 0 || lifecycle.busy()) {
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
  // Logs go to stderr: stdout carries only the URL, token and dashboard link.
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
  SystemClock clock;
  IdGenerator ids(RandomSeed());
  // The token from the flag/env, else <data-dir>/api-token (made on first start).
  auto token = c.api_token.empty() ? LoadOrCreateSecret(settings->data_dir / "api-token", "")
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
             .max_clock_skew = settings->max_clock_skew});
  if (Status s = core.lifecycle.Load(); !s.ok()) return fail(s);
  AddSandboxGauges(core);
  auto jobs = MakeJobs(c, *settings, clock, ids, *store, **provider, core);
  if (!jobs.ok()) return fail(jobs.error().WithContext("listen for changes"));
  if (!store->postgres) {
    // Settle records against the runtime before anything is served, so it
    // never races a new create.
    net::co_spawn(io, (*jobs)->reconciler->StartupPass(), net::detached);
    io.run();
    io.restart();
  }
  Frontend front(io, clock, ids, core, **jobs, c, *settings, *token);
  auto bound = front.server.Start();
  if (!bound.ok()) return fail(bound.error());
  if (Status s = StartJobs(io, **jobs); !s.ok()) return fail(s);

  SBX_LOG_INFO("sandboxd serving on http://{}/ (data {}, idle timeout {}, schedule \"{}\")", *bound,
               settings->data_dir.string(), FormatDuration(settings->idle_timeout),
               c.enforcer_schedule);
  if (c.api_token.empty()) {
    SBX_LOG_INFO("API token in {}", (settings->data_dir / "api-token").string());
  }
  fmt::print("sandboxd listening on http://{}/\nAPI token: {}\nOpen the dashboard: http://{}/?token={}\n",
             *bound, *token, *bound, *token);
  std::fflush(stdout);

  RunUntilSignal(io, clock, front, **jobs, core.lifecycle);
  if ((*jobs)->lease) (*jobs)->lease->Stop();
  if ((*jobs)->follower) (*jobs)->follower->Stop();
  // Let in-flight blocking calls finish while everything they use still exists.
  core.provider_pool.Stop();
  core.store_pool.Stop();
  return 0;
}

}  // namespace sbx::app
