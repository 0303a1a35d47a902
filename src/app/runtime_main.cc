#include "app/runtime.h"
#include "app/startup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/metrics.h"
#include "http/server.h"
#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"
#include "provider/local/linux_sandbox_host.h"
#include "runtime_api/http_client.h"
#include "base/resolver.h"
#include "runtime_api/runtime_api.h"

namespace sbx::app {
namespace fs = std::filesystem;

namespace {

Result<Millis> PositiveDuration(const std::string& text, const char* flag) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.error().WithContext(flag);
  if (d->count() <= 0) return InvalidArgument(fmt::format("{} must be positive", flag));
  return *d;
}

}  // namespace

void AddRuntimeFlags(CLI::App& cmd, RuntimeConfig& c) {
  cmd.add_option("--listen", c.listen, "host:port of the E2B-compatible API")
      ->capture_default_str()
      ->envname("SANDBOXD_RUNTIME_LISTEN");
  cmd.add_option("--data-dir", c.data_dir, "state directory (runc root, sandboxes, webhooks)")
      ->capture_default_str()
      ->envname("SANDBOXD_RUNTIME_DATA_DIR");
  cmd.add_option("--api-key", c.api_key,
                 "key clients send as X-API-Key (default: generated into <data-dir>/api-key)")
      ->envname("SANDBOXD_RUNTIME_API_KEY");
  cmd.add_option("--domain", c.domain, "sandbox domain: preview hosts <port>-<id>.<domain>")
      ->capture_default_str()
      ->envname("SANDBOXD_RUNTIME_DOMAIN");
  cmd.add_option("--templates-dir", c.templates_dir, "local runtime templates")
      ->envname("SANDBOXD_RUNTIME_TEMPLATES_DIR");
  cmd.add_option("--port-range", c.port_range,
                 "deprecated, unused: sandboxes have their own network namespaces")
      ->capture_default_str()
      ->envname("SANDBOXD_RUNTIME_PORT_RANGE");
  cmd.add_option("--sandbox-uid-range", c.sandbox_uid_range,
                 "host uids/gids for the sandboxes' user namespaces, first-last")
      ->capture_default_str()
      ->envname("SANDBOXD_RUNTIME_SANDBOX_UID_RANGE");
  cmd.add_option("--webhook-backoff", c.webhook_backoff, "wait between webhook delivery attempts")
      ->capture_default_str()
      ->envname("SANDBOXD_RUNTIME_WEBHOOK_BACKOFF");
  cmd.add_option("--webhook-timeout", c.webhook_timeout, "deadline of one webhook delivery attempt")
      ->capture_default_str()
      ->envname("SANDBOXD_RUNTIME_WEBHOOK_TIMEOUT");
  cmd.add_option("--webhook-signature", c.webhook_signature,
                 "e2b-signature alphabet: base64url (unpadded, E2B's docs) or base64 (padded)")
      ->capture_default_str()
      ->check(CLI::IsMember({"base64url", "base64"}))
      ->envname("SANDBOXD_RUNTIME_WEBHOOK_SIGNATURE");
  cmd.add_flag("--webhook-allow-private", c.webhook_allow_private,
               "let webhooks target loopback and private addresses (127/8, RFC 1918, CGNAT, "
               "fc00::/7, ::1); link-local stays refused")
      ->envname("SANDBOXD_RUNTIME_WEBHOOK_ALLOW_PRIVATE");
  cmd.add_option("--max-timeout", c.max_timeout, "longest sandbox timeout and lifetime")
      ->capture_default_str()
      ->envname("SANDBOXD_RUNTIME_MAX_TIMEOUT");
  cmd.add_option("--log-level", c.log_level, "debug|info|warn|error")
      ->capture_default_str()
      ->envname("SANDBOXD_RUNTIME_LOG_LEVEL");
}

namespace {

// Flag values parsed into their types.
struct RuntimeSettings {
  fs::path data_dir;
  UidRangeSetting sandbox_uids;
  Millis webhook_backoff{0};
  Millis webhook_timeout{0};
  Millis max_timeout{0};
  fs::path exe_dir;
};

Result<RuntimeSettings> ParseRuntimeSettings(const RuntimeConfig& c) {
  RuntimeSettings s;
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return Unavailable(fmt::format("create {}: {}", c.data_dir, ec.message()));
  s.data_dir = fs::absolute(c.data_dir);
  // See serve: the data dir is traversable by the sandboxes' users (0711).
  fs::permissions(s.data_dir,
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::replace, ec);
  // --port-range is still parsed but no longer used (sandboxes have their own
  // network namespaces).
  SBX_RETURN_IF_ERROR(ParsePortRange(c.port_range).status());
  SBX_ASSIGN_OR_RETURN(s.sandbox_uids, ParseUidRange(c.sandbox_uid_range));
  SBX_ASSIGN_OR_RETURN(s.webhook_backoff, PositiveDuration(c.webhook_backoff, "--webhook-backoff"));
  SBX_ASSIGN_OR_RETURN(s.webhook_timeout, PositiveDuration(c.webhook_timeout, "--webhook-timeout"));
  SBX_ASSIGN_OR_RETURN(s.max_timeout, PositiveDuration(c.max_timeout, "--max-timeout"));
  if (s.max_timeout < std::chrono::seconds(1)) {
    return InvalidArgument("--max-timeout must be at least 1s");
  }
  s.exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  return s;
}

runtime_api::RuntimeOptions ServerOptions(const RuntimeConfig& c, const RuntimeSettings& s,
                                          const std::string& api_key, const std::string& domain,
                                          const fs::path& templates_dir,
                                          provider::local::SandboxConnector* connector) {
  runtime_api::RuntimeOptions o;
  o.api_key = api_key;
  o.domain = domain;
  o.data_dir = s.data_dir;
  o.sandboxes.templates_dir = templates_dir;
  o.sandboxes.max_timeout = std::chrono::duration_cast<std::chrono::seconds>(s.max_timeout);
  o.sandboxes.cpu_count = std::max<int64_t>(1, std::thread::hardware_concurrency());
  o.delivery.backoff = s.webhook_backoff;
  o.delivery.request_timeout = s.webhook_timeout;
  o.delivery.url_safe_signature = c.webhook_signature != "base64";
  o.webhook_targets.allow_private = c.webhook_allow_private;
  o.connector = connector;
  return o;
}

}  // namespace

int RunRuntime(const RuntimeConfig& c) {
  // stdout carries the two start-up lines that scripts read; logs go to stderr.
  if (Status s = SetUpLogging("runtime", c.log_level); !s.ok()) {
    std::fprintf(stderr, "sandboxd runtime: %s\n", s.message().c_str());
    return 2;
  }
  auto fail = [](const Status& s) {
    SBX_LOG_ERROR("sandboxd runtime: {}", s.ToString());
    return 1;
  };
  auto settings = ParseRuntimeSettings(c);
  if (!settings.ok()) return fail(settings.error());
  auto lock = DataDirLock::Acquire(settings->data_dir);
  if (!lock.ok()) return fail(lock.error());
  const uint64_t file_limit = RaiseFileLimit();
  SystemClock clock;
  IdGenerator ids;  // getrandom(2): sandbox ids and tokens must be unguessable
  // The key from the flag/env, else <data-dir>/api-key: E2B-shaped ("e2b_" + 40
  // hex, which the SDKs' key check accepts).
  auto api_key = c.api_key.empty() ? LoadOrCreateSecret(settings->data_dir / "api-key", "e2b_")
                                   : Result<std::string>(c.api_key);
  if (!api_key.ok()) return fail(api_key.error());

  provider::local::PosixProcessRunner runner;
  provider::local::LinuxSandboxHost sandbox_host(clock);
  const provider::local::LocalProviderOptions local_opts =
      LocalRuntimeOptions(settings->data_dir, c.templates_dir, settings->exe_dir,
                          settings->sandbox_uids);
  provider::local::LocalProvider provider(clock, ids, runner, sandbox_host, local_opts);

  net::io_context io;
  BlockingPool pool({.threads = 8});
  Metrics metrics;
  runtime_api::BeastHttpClient client;
  SystemResolver resolver(clock);
  http_server::Router router;
  // Preview traffic is buffered: allow request bodies of a few MiB.
  http_server::Server server(
      io, clock, metrics, router,
      {.listen = c.listen,
       .max_body_bytes = 8 << 20,
       .max_connections = ConnectionBudget(http_server::ServerOptions{}.max_connections, file_limit),
       .metrics_prefix = "sandboxd_runtime"});
  auto bound = server.Start();
  if (!bound.ok()) return fail(bound.error());
  const std::string domain =
      c.domain.empty() ? "localhost:" + bound->substr(bound->rfind(':') + 1) : c.domain;
  runtime_api::RuntimeServer runtime(
      io.get_executor(), clock, pool, provider, client, resolver, ids, metrics,
      ServerOptions(c, *settings, *api_key, domain, local_opts.templates_dir, &provider));
  if (Status s = runtime.Load(); !s.ok()) return fail(s);
  // Requests are served only once io runs, after the routes are in place.
  runtime.Register(router);
  runtime.Start();

  SBX_LOG_INFO("sandboxd runtime on http://{}/ (data {}, templates {}, domain {})", *bound,
               settings->data_dir.string(), local_opts.templates_dir.string(), domain);
  fmt::print("sandboxd runtime listening on http://{}/\nAPI key: {}\n", *bound, *api_key);
  std::fflush(stdout);

  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    SBX_LOG_INFO("signal {}: shutting down", sig);
    runtime.Stop();
    server.Stop();
    io.stop();
  });
  // One I/O thread: handlers, the timeout enforcer and webhook workers share
  // state without locks; provider calls run on the pool.
  io.run();
  pool.Stop();
  return 0;
}

}  // namespace sbx::app
