// sandboxd: the control plane binary. Subcommands: serve (the control plane)
// and runtime (the local runtime behind an E2B-compatible API).
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "app/runtime.h"
#include "app/serve.h"

namespace {

// Sets `value` from env var `name` when the flag was not given.
void FromEnv(CLI::Option* opt, const char* name) { opt->envname(name); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sandboxd: event-driven lifecycle control plane for cloud sandboxes"};
  app.require_subcommand(1);
  sbx::app::ServeConfig serve;
  CLI::App* s = app.add_subcommand("serve", "Run the control plane (REST API, enforcer, UI)");
  FromEnv(s->add_option("--listen", serve.listen, "host:port to listen on")->capture_default_str(),
          "SANDBOXD_LISTEN");
  FromEnv(s->add_option("--data-dir", serve.data_dir, "state directory")->capture_default_str(),
          "SANDBOXD_DATA_DIR");
  FromEnv(s->add_option("--store", serve.store,
                        "sqlite://<path> (default <data-dir>/sandboxd.db) or postgres://…"),
          "SANDBOXD_STORE");
  FromEnv(s->add_option("--provider", serve.provider, "local | e2b")->capture_default_str(),
          "SANDBOXD_PROVIDER");
  FromEnv(s->add_option("--idle-timeout", serve.idle_timeout,
                        "default idle timeout (3s, 2m, 1h30m)")->capture_default_str(),
          "SANDBOXD_IDLE_TIMEOUT");
  FromEnv(s->add_option("--enforcer-schedule", serve.enforcer_schedule,
                        "idle sweep: 5-field cron or @every <duration>")->capture_default_str(),
          "SANDBOXD_ENFORCER_SCHEDULE");
  FromEnv(s->add_option("--api-token", serve.api_token,
                        "API token (default: generated into <data-dir>/api-token)"),
          "SANDBOXD_API_TOKEN");
  FromEnv(s->add_option("--templates-dir", serve.templates_dir, "local runtime templates"),
          "SANDBOXD_TEMPLATES_DIR");
  FromEnv(s->add_option("--port-range", serve.port_range, "ports for local sandboxes, a-b")
              ->capture_default_str(),
          "SANDBOXD_PORT_RANGE");
  FromEnv(s->add_option("--web-dir", serve.web_dir, "built dashboard directory"),
          "SANDBOXD_WEB_DIR");
  FromEnv(s->add_option("--e2b-api-key", serve.e2b_api_key, "E2B API key (--provider e2b)"),
          "E2B_API_KEY");
  FromEnv(s->add_option("--e2b-api-url", serve.e2b_api_url,
                        "E2B API base URL (default https://api.e2b.app)"),
          "E2B_API_URL");
  FromEnv(s->add_option("--e2b-domain", serve.e2b_domain, "E2B sandbox domain (default e2b.app)"),
          "E2B_DOMAIN");
  FromEnv(s->add_option("--e2b-template", serve.e2b_template,
                        "E2B template of new sandboxes (default base)"),
          "SANDBOXD_E2B_TEMPLATE");
  FromEnv(s->add_option("--webhook-secret", serve.webhook_secrets,
                        "E2B webhook signing secret(s), comma-separated for rotation"),
          "E2B_WEBHOOK_SECRET");
  FromEnv(s->add_option("--reconcile-schedule", serve.reconcile_schedule,
                        "how often to repair drift against the provider")
              ->capture_default_str(),
          "SANDBOXD_RECONCILE_SCHEDULE");
  FromEnv(s->add_option("--max-event-streams", serve.max_event_streams,
                        "SSE streams per server before 503")->capture_default_str(),
          "SANDBOXD_MAX_EVENT_STREAMS");
  FromEnv(s->add_option("--presence", serve.presence,
                        "open event streams keep sandboxes awake (true/false)")
              ->capture_default_str(),
          "SANDBOXD_PRESENCE");
  FromEnv(s->add_option("--lease-ttl", serve.lease_ttl_text,
                        "PostgreSQL leader lease; a dead leader is replaced within about this")
              ->capture_default_str(),
          "SANDBOXD_LEASE_TTL");
  FromEnv(s->add_option("--max-clock-skew", serve.max_clock_skew,
                        "how far ahead of this clock a webhook may be dated")
              ->capture_default_str(),
          "SANDBOXD_MAX_CLOCK_SKEW");
  FromEnv(s->add_option("--log-level", serve.log_level, "debug|info|warn|error")
              ->capture_default_str(),
          "SANDBOXD_LOG_LEVEL");
  sbx::app::RuntimeConfig runtime;
  CLI::App* r = app.add_subcommand(
      "runtime", "Run the local runtime behind an E2B-compatible API (with signed webhooks)");
  sbx::app::AddRuntimeFlags(*r, runtime);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (s->parsed()) return sbx::app::Serve(serve);
  if (r->parsed()) return sbx::app::RunRuntime(runtime);
  return 2;
}
