#include "app/serve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/events.h"
#include "app/static_files.h"
#include "base/clock.h"
#include "base/log.h"
#include "e2b/signature.h"
#include "http/server.h"
#include "jobs/idle_enforcer.h"
#include "jobs/lease_leadership.h"
#include "jobs/periodic.h"
#include "lifecycle/change_follower.h"
#include "lifecycle/lifecycle.h"
#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"
#include "provider/local/socket_loopback_network.h"
#include "provider/e2b/curl_transport.h"
#include "provider/e2b/e2b_provider.h"
#include "app/startup.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "webhook/receiver.h"

namespace sbx::app {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kChangeChannel = "sandboxd_changes";
// STARTING/PAUSING records younger than this are left to the operation that
// is (or may be) still running when the periodic or failover reconcile looks.
constexpr std::chrono::seconds kInFlightGrace{10};

}  // namespace

int Serve(const ServeConfig& c) {
  // Logs go to stderr: stdout carries only the URL, token and dashboard link.
  spdlog::set_default_logger(spdlog::stderr_color_mt("sandboxd"));
  const auto level = spdlog::level::from_str(c.log_level);
  if (level == spdlog::level::off && c.log_level != "off") {
    std::fprintf(stderr, "sandboxd serve: --log-level \"%s\": use debug, info, warn or error\n",
                 c.log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  auto fail = [](const Status& s) {
    SBX_LOG_ERROR("sandboxd serve: {}", s.ToString());
    return 1;
  };
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return fail(Unavailable(fmt::format("create {}: {}", c.data_dir, ec.message())));
  const fs::path data_dir = fs::absolute(c.data_dir);
  // The data dir holds the token and the database: owner only.
  fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  auto idle = ParseDuration(c.idle_timeout);
  if (!idle.ok()) return fail(idle.error().WithContext("--idle-timeout"));
  const int64_t idle_s = std::chrono::duration_cast<std::chrono::seconds>(*idle).count();
  if (idle_s < 1) return fail(InvalidArgument("--idle-timeout must be at least 1s"));
  auto lease_ttl = ParseDuration(c.lease_ttl_text);
  if (!lease_ttl.ok()) return fail(lease_ttl.error().WithContext("--lease-ttl"));
  if (*lease_ttl < Millis(300)) return fail(InvalidArgument("--lease-ttl must be at least 300ms"));
  auto ports = ParsePortRange(c.port_range);
  if (!ports.ok()) return fail(ports.error());

  SystemClock clock;
  IdGenerator ids(RandomSeed());
  // The token from the flag/env, else <data-dir>/api-token (made on first start).
  auto token = c.api_token.empty() ? LoadOrCreateSecret(data_dir / "api-token", "")
                                   : Result<std::string>(c.api_token);
  if (!token.ok()) return fail(token.error());

  const std::string store_url =
      c.store.empty() ? "sqlite://" + (data_dir / "sandboxd.db").string() : c.store;
  std::unique_ptr<store::Store> store;
  store::PostgresStore* postgres = nullptr;
  if (store_url.rfind("sqlite://", 0) == 0) {
    auto opened = store::SqliteStore::Open(store_url.substr(9));
    if (!opened.ok()) return fail(opened.error());
    store = std::move(*opened);
  } else if (store_url.rfind("postgres://", 0) == 0 || store_url.rfind("postgresql://", 0) == 0) {
    auto opened = store::PostgresStore::Open(
        store_url, {.pool_size = 8, .change_channel = std::string(kChangeChannel)});
    if (!opened.ok()) return fail(opened.error());
    postgres = opened->get();
    store = std::move(*opened);
  } else {
    return fail(InvalidArgument(
        fmt::format("--store {}: use sqlite://<path> or postgres://<user>@<host>/<db>", store_url)));
  }
  const std::string instance_id = fmt::format("{}-{}", ::getpid(), ids.NewHex(8));

  const fs::path exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  // The provider: real runc containers here, or E2B's REST API.
  provider::local::PosixProcessRunner runner;
  provider::local::SocketLoopbackNetwork loopback(clock);
  std::unique_ptr<provider::e2b::CurlGlobal> curl;
  std::unique_ptr<provider::e2b::CurlTransport> transport;
  std::unique_ptr<provider::Provider> provider;
  std::string default_template = "hello";
  std::chrono::seconds e2b_sandbox_timeout{0};
  if (c.provider == "local") {
    provider::local::LocalProviderOptions local_opts;
    local_opts.runc_root = data_dir / "runc";
    local_opts.sandboxes_dir = data_dir / "sandboxes";
    local_opts.templates_dir =
        c.templates_dir.empty() ? FirstExisting({exe_dir.parent_path() / "templates", "templates"})
                                : fs::path(c.templates_dir);
    local_opts.binary_dir = exe_dir;
    local_opts.first_port = ports->first;
    local_opts.last_port = ports->second;
    provider = std::make_unique<provider::local::LocalProvider>(clock, ids, runner, loopback,
                                                                local_opts);
  } else if (c.provider == "e2b") {
    provider::e2b::E2bOptions e2b;
    e2b.api_key = c.e2b_api_key;
    if (!c.e2b_api_url.empty()) e2b.api_url = c.e2b_api_url;
    if (!c.e2b_domain.empty()) e2b.domain = c.e2b_domain;
    if (!c.e2b_template.empty()) e2b.template_id = c.e2b_template;
    if (Status s = provider::e2b::ValidateE2bOptions(e2b); !s.ok()) {
      return fail(s.WithContext("--provider e2b (set E2B_API_KEY, E2B_API_URL, E2B_DOMAIN)"));
    }
    auto global = provider::e2b::CurlGlobal::Create();
    if (!global.ok()) return fail(global.error());
    curl = std::move(*global);
    transport = std::make_unique<provider::e2b::CurlTransport>(*curl);
    default_template = e2b.template_id;
    e2b_sandbox_timeout = e2b.sandbox_timeout;
    provider = std::make_unique<provider::e2b::E2bProvider>(clock, ids, *transport,
                                                           e2b);
  } else {
    return fail(InvalidArgument(fmt::format("--provider {}: use local or e2b", c.provider)));
  }

  net::io_context io;
  BlockingPool store_pool({.threads = 2});
  BlockingPool provider_pool({.threads = 8});
  lifecycle::ReadModel read_model;
  lifecycle::EventBus bus;
  Metrics metrics;
  lifecycle::Lifecycle lifecycle(clock, store_pool, provider_pool, *store, *provider, ids,
                                 read_model, bus, metrics,
                                 {.default_idle_timeout_s = idle_s,
                                  .default_template = default_template});
  if (Status s = lifecycle.Load(); !s.ok()) return fail(s);
  metrics.AddGaugeCallback("sandboxd_sandboxes", "Sandboxes by status", [&read_model] {
    std::vector<std::pair<Labels, double>> out;
    auto counts = read_model.CountByStatus();
    for (auto st : {core::SandboxStatus::kStarting, core::SandboxStatus::kRunning,
                    core::SandboxStatus::kPausing, core::SandboxStatus::kPaused,
                    core::SandboxStatus::kKilled}) {
      out.push_back({{{"status", std::string(core::StatusName(st))}},
                     static_cast<double>(counts[st])});
    }
    return out;
  });

  // Leader work runs on one replica: always this one on SQLite, the lease
  // holder on PostgreSQL.
  jobs::AlwaysLeader single_node;
  std::unique_ptr<jobs::LeaseLeadership> lease;
  std::unique_ptr<store::ChangeFeed> feed;
  std::unique_ptr<lifecycle::ChangeFollower> follower;
  jobs::Leadership* leadership = &single_node;
  if (postgres) {
    lease = std::make_unique<jobs::LeaseLeadership>(
        clock, *postgres, instance_id, std::chrono::duration_cast<std::chrono::milliseconds>(*lease_ttl));
    leadership = lease.get();
    auto opened = postgres->OpenChangeFeed();
    if (!opened.ok()) return fail(opened.error().WithContext("listen for changes"));
    feed = std::move(*opened);
    follower = std::make_unique<lifecycle::ChangeFollower>(clock, lifecycle, *feed);
  }
  // Records first, then the truth from the runtime: containers that vanished
  // become KILLED, transitions interrupted by a crash are resolved. This runs
  // to completion before anything is served, so it never races a new create.
  // Only a single node may settle everything at start: with replicas, other
  // replicas' operations may be in flight (the leader reconciles on failover).
  if (!postgres) {
    net::co_spawn(io, lifecycle.Reconcile(), [](std::exception_ptr, Result<int> r) {
      if (!r.ok()) {
        SBX_LOG_WARN("start-up reconcile: {}", r.error().ToString());
      } else if (*r > 0) {
        SBX_LOG_WARN("start-up reconcile repaired {} sandbox records", *r);
      }
    });
    io.run();
    io.restart();
  }
  metrics.AddGaugeCallback("sandboxd_leader", "1 while this replica runs the leader jobs",
                           [leadership] {
                             return std::vector<std::pair<Labels, double>>{
                                 {{}, leadership->IsLeader() ? 1.0 : 0.0}};
                           });
  jobs::IdleEnforcer enforcer(clock, store_pool, *store, lifecycle, bus, metrics, *leadership,
                              {.schedule = c.enforcer_schedule});
  http_server::Router router;
  api::Api api(lifecycle, *store, store_pool, metrics, ids, {.api_token = *token});
  api.Register(router);
  api::EventStreams streams(io, clock, api, lifecycle, bus, metrics,
                            {.max_streams = c.max_event_streams, .presence = c.presence});
  streams.Register(router);
  webhook::WebhookReceiver receiver(lifecycle, metrics, e2b::ParseSecrets(c.webhook_secrets));
  api.RegisterWebhook(router, receiver);
  const fs::path web_dir =
      c.web_dir.empty() ? FirstExisting({exe_dir.parent_path() / "web/dashboard/dist",
                                         "web/dashboard/dist"})
                        : fs::path(c.web_dir);
  StaticFiles static_files(web_dir);
  router.SetFallback([&static_files](http_server::RequestContext& ctx) {
    return static_files.Serve(ctx);
  });
  http_server::Server server(io, clock, metrics, router, {.listen = c.listen});
  auto bound = server.Start();
  if (!bound.ok()) return fail(bound.error());

  if (Status s = enforcer.Start(io.get_executor()); !s.ok()) return fail(s);
  jobs::PeriodicJob reconciler(clock, "reconciler", c.reconcile_schedule,
                               [&lifecycle, leadership]() -> net::awaitable<void> {
                                 if (!leadership->IsLeader()) co_return;
                                 auto r = co_await lifecycle.Reconcile(kInFlightGrace);
                                 if (!r.ok()) {
                                   SBX_LOG_WARN("reconcile: {}", r.error().ToString());
                                 } else if (*r > 0) {
                                   SBX_LOG_ERROR(
                                       "reconciler repaired {} drifted sandbox records: provider "
                                       "events are being lost (check webhook delivery)",
                                       *r);
                                 }
                               });
  if (Status s = reconciler.Start(io.get_executor()); !s.ok()) return fail(s);
  if (postgres) {
    follower->Start();
    lease->Start();
  }
  // A new leader first settles what a dead one may have left half done
  // (PAUSING claims), then sweeps at once instead of waiting for the schedule.
  int64_t last_term = leadership->term();
  jobs::PeriodicJob failover(clock, "failover", "@every 1s",
                             [&, leadership]() -> net::awaitable<void> {
                               if (!leadership->IsLeader() || leadership->term() == last_term) {
                                 co_return;
                               }
                               last_term = leadership->term();
                               auto r = co_await lifecycle.Reconcile(kInFlightGrace);
                               if (!r.ok()) SBX_LOG_WARN("failover reconcile: {}", r.error().ToString());
                               (void)co_await enforcer.Sweep("failover");
                             });
  if (postgres) {
    if (Status s = failover.Start(io.get_executor()); !s.ok()) return fail(s);
  }
  // E2B ends sandboxes at their own timeout: keep extending it for the ones
  // in use (one call per sandbox per pass, never per request).
  jobs::PeriodicJob keep_alive(clock, "keep-alive", "@every 60s",
                               [&lifecycle, leadership, e2b_sandbox_timeout]() -> net::awaitable<void> {
                                 if (!leadership->IsLeader()) co_return;
                                 (void)co_await jobs::KeepAlivePass(
                                     lifecycle, {.provider_timeout = e2b_sandbox_timeout,
                                                 .renew_before = e2b_sandbox_timeout / 2});
                               });
  if (c.provider == "e2b") {
    if (Status s = keep_alive.Start(io.get_executor()); !s.ok()) return fail(s);
  }

  SBX_LOG_INFO("sandboxd serving on http://{}/ (data {}, idle timeout {}, schedule \"{}\")", *bound,
               data_dir.string(), FormatDuration(*idle), c.enforcer_schedule);
  if (c.api_token.empty()) SBX_LOG_INFO("API token in {}", (data_dir / "api-token").string());
  fmt::print("sandboxd listening on http://{}/\nAPI token: {}\nOpen the dashboard: http://{}/?token={}\n",
             *bound, *token, *bound, *token);
  std::fflush(stdout);

  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    SBX_LOG_INFO("signal {}: shutting down", sig);
    enforcer.Stop();
    reconciler.Stop();
    failover.Stop();
    keep_alive.Stop();
    server.Stop();
    io.stop();
  });
  // One I/O thread: handlers, SSE streams and the enforcer share state
  // without locks; blocking work runs on the pools.
  io.run();
  if (lease) lease->Stop();
  if (follower) follower->Stop();
  // Let in-flight blocking calls finish while everything they use still exists.
  provider_pool.Stop();
  store_pool.Stop();
  return 0;
}

}  // namespace sbx::app
