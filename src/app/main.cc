// sandboxd: the control plane binary. Subcommands: serve (the control plane),
// runtime (the local runtime behind an E2B-compatible API), migrate (the
// store's schema, up or down) and policy replay (idle policies over history).
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "app/migrate.h"
#include "app/policy_replay.h"
#include "app/runtime.h"
#include "app/serve.h"
#include "version.h"

namespace {

// Sets `value` from env var `name` when the flag was not given.
void FromEnv(CLI::Option* opt, const char* name) { opt->envname(name); }

// The same with two names: sandboxd's own, then the provider's (E2B's SDKs
// and CLI read E2B_API_KEY and friends). CLI11 reads one name per option, so
// the one that is set is chosen here; sandboxd's wins when both are.
void FromEnv(CLI::Option* opt, const char* name, const char* fallback) {
  opt->envname(std::getenv(name) == nullptr && std::getenv(fallback) != nullptr ? fallback
                                                                                : name);
}

// --idle-policy-min and --idle-policy-max, for serve and policy replay.
void AddPolicyBoundsFlags(CLI::App& cmd, std::string& min, std::string& max) {
  FromEnv(cmd.add_option("--idle-policy-min", min, "the shortest idle timeout a policy sets")
              ->capture_default_str(),
          "SANDBOXD_IDLE_POLICY_MIN");
  FromEnv(cmd.add_option("--idle-policy-max", max, "the longest idle timeout a policy sets")
              ->capture_default_str(),
          "SANDBOXD_IDLE_POLICY_MAX");
}

// --data-dir and --store of the commands that open a store without serving.
void AddOfflineStoreFlags(CLI::App& cmd, std::string& data_dir, std::string& store) {
  FromEnv(cmd.add_option("--data-dir", data_dir, "state directory")->capture_default_str(),
          "SANDBOXD_DATA_DIR");
  FromEnv(
      cmd.add_option("--store", store,
                     "sqlite://<path> or postgres://… (default sqlite://<data-dir>/sandboxd.db)"),
      "SANDBOXD_STORE");
}

void AddServeFlags(CLI::App& cmd, sbx::app::ServeConfig& c) {
  FromEnv(cmd.add_option("--listen", c.listen, "host:port to listen on")->capture_default_str(),
          "SANDBOXD_LISTEN");
  FromEnv(cmd.add_option("--data-dir", c.data_dir, "state directory")->capture_default_str(),
          "SANDBOXD_DATA_DIR");
  FromEnv(cmd.add_option("--store", c.store,
                         "sqlite://<path> (default <data-dir>/sandboxd.db) or postgres://…"),
          "SANDBOXD_STORE");
  FromEnv(cmd.add_option("--provider", c.provider, "local | e2b")->capture_default_str(),
          "SANDBOXD_PROVIDER");
  FromEnv(cmd.add_option("--idle-timeout", c.idle_timeout, "default idle timeout (3s, 2m, 1h30m)")
              ->capture_default_str(),
          "SANDBOXD_IDLE_TIMEOUT");
  FromEnv(cmd.add_option("--max-hold-ttl", c.max_hold_ttl,
                         "longest ttl of a busy hold (POST …/sandbox/holds)")
              ->capture_default_str(),
          "SANDBOXD_MAX_HOLD_TTL");
  FromEnv(cmd.add_option("--enforcer-schedule", c.enforcer_schedule,
                         "idle sweep: 5-field cron or @every <duration>")
              ->capture_default_str(),
          "SANDBOXD_ENFORCER_SCHEDULE");
  FromEnv(cmd.add_option("--api-token", c.api_token,
                         "API token (default: generated into <data-dir>/api-token)"),
          "SANDBOXD_API_TOKEN");
  FromEnv(cmd.add_option("--templates-dir", c.templates_dir, "local runtime templates"),
          "SANDBOXD_TEMPLATES_DIR");
  FromEnv(cmd.add_option("--port-range", c.port_range,
                         "deprecated, unused: sandboxes have their own network namespaces")
              ->capture_default_str(),
          "SANDBOXD_PORT_RANGE");
  FromEnv(cmd.add_option("--sandbox-uid-range", c.sandbox_uid_range,
                         "host uids/gids for the sandboxes' user namespaces, first-last")
              ->capture_default_str(),
          "SANDBOXD_SANDBOX_UID_RANGE");
  FromEnv(cmd.add_option("--web-dir", c.web_dir, "built dashboard directory"), "SANDBOXD_WEB_DIR");
  FromEnv(cmd.add_option("--e2b-api-key", c.e2b_api_key, "E2B API key (--provider e2b)"),
          "SANDBOXD_E2B_API_KEY", "E2B_API_KEY");
  FromEnv(cmd.add_option("--e2b-api-url", c.e2b_api_url,
                         "E2B API base URL (default https://api.e2b.app)"),
          "SANDBOXD_E2B_API_URL", "E2B_API_URL");
  FromEnv(cmd.add_option("--e2b-domain", c.e2b_domain, "E2B sandbox domain (default e2b.app)"),
          "SANDBOXD_E2B_DOMAIN", "E2B_DOMAIN");
  FromEnv(cmd.add_option("--e2b-template", c.e2b_template,
                         "E2B template of new sandboxes (default base)"),
          "SANDBOXD_E2B_TEMPLATE");
  FromEnv(cmd.add_option("--webhook-secret", c.webhook_secrets,
                         "E2B webhook signing secret(s), comma-separated for rotation"),
          "SANDBOXD_WEBHOOK_SECRET", "E2B_WEBHOOK_SECRET");
  FromEnv(cmd.add_option("--reconcile-schedule", c.reconcile_schedule,
                         "how often to repair drift against the provider")
              ->capture_default_str(),
          "SANDBOXD_RECONCILE_SCHEDULE");
  FromEnv(cmd.add_option("--max-event-streams", c.max_event_streams,
                         "SSE streams per server before 503")
              ->capture_default_str(),
          "SANDBOXD_MAX_EVENT_STREAMS");
  FromEnv(cmd.add_option("--presence", c.presence,
                         "open event streams keep sandboxes awake (true/false)")
              ->capture_default_str(),
          "SANDBOXD_PRESENCE");
  FromEnv(cmd.add_option("--pause-warning", c.pause_warning,
                         "SSE `pause_pending` this long before an idle pause (0 = none)")
              ->capture_default_str(),
          "SANDBOXD_PAUSE_WARNING");
  FromEnv(cmd.add_option("--lease-ttl", c.lease_ttl_text,
                         "PostgreSQL leader lease; a dead leader is replaced within about this")
              ->capture_default_str(),
          "SANDBOXD_LEASE_TTL");
  FromEnv(cmd.add_option("--max-clock-skew", c.max_clock_skew,
                         "how far ahead of this clock a webhook may be dated")
              ->capture_default_str(),
          "SANDBOXD_MAX_CLOCK_SKEW");
}

// The flags of `serve` for the preview gateway.
void AddPreviewFlags(CLI::App& cmd, sbx::app::ServeConfig& c) {
  FromEnv(cmd.add_option("--preview-listen", c.preview_listen,
                         "host:port of the preview gateway (its own origin)")
              ->capture_default_str(),
          "SANDBOXD_PREVIEW_LISTEN");
  FromEnv(
      cmd.add_option("--preview-domain", c.preview_domain,
                     "previews are <port>-<sandboxId>.<domain> (default localhost:<preview port>; "
                     "prefix https:// behind a TLS proxy)"),
      "SANDBOXD_PREVIEW_DOMAIN");
  FromEnv(cmd.add_option("--preview-wake-timeout", c.preview_wake_timeout,
                         "how long a preview request waits for its sandbox to wake before 503")
              ->capture_default_str(),
          "SANDBOXD_PREVIEW_WAKE_TIMEOUT");
  FromEnv(cmd.add_option("--preview-auth", c.preview_auth,
                         "none (whoever knows the URL) | token (per-sandbox traffic token)")
              ->capture_default_str(),
          "SANDBOXD_PREVIEW_AUTH");
  FromEnv(cmd.add_option(
              "--preview-secret", c.preview_secret,
              "key of the traffic tokens (default: generated into <data-dir>/preview-secret)"),
          "SANDBOXD_PREVIEW_SECRET");
  FromEnv(cmd.add_option("--preview-max-body-mib", c.preview_max_body_mib,
                         "largest preview request body in MiB (more gets 413)")
              ->capture_default_str(),
          "SANDBOXD_PREVIEW_MAX_BODY_MIB");
}

// The flags of `serve` for logging, store deadlines and retention.
void AddOperationFlags(CLI::App& cmd, sbx::app::ServeConfig& c) {
  FromEnv(
      cmd.add_option("--log-level", c.log_level, "debug|info|warn|error")->capture_default_str(),
      "SANDBOXD_LOG_LEVEL");
  FromEnv(cmd.add_option("--store-timeout", c.store_timeout,
                         "longest store call; a slower or hung database fails it (503)")
              ->capture_default_str(),
          "SANDBOXD_STORE_TIMEOUT");
  FromEnv(cmd.add_option("--retain-history", c.retain_history,
                         "delete history rows older than this (0 keeps them)")
              ->capture_default_str(),
          "SANDBOXD_RETAIN_HISTORY");
  FromEnv(cmd.add_option("--retain-event-ids", c.retain_event_ids,
                         "forget processed webhook event ids older than this (0 keeps them)")
              ->capture_default_str(),
          "SANDBOXD_RETAIN_EVENT_IDS");
  FromEnv(cmd.add_option("--retain-job-runs", c.retain_job_runs,
                         "delete job runs older than this (0 keeps them)")
              ->capture_default_str(),
          "SANDBOXD_RETAIN_JOB_RUNS");
  FromEnv(cmd.add_option("--session-ttl", c.session_ttl,
                       "dashboard sign-ins (session cookies) end after this")
              ->capture_default_str(),
          "SANDBOXD_SESSION_TTL");
  FromEnv(cmd.add_flag("--secure-cookies", c.secure_cookies,
                     "mark the session cookie Secure (when a TLS proxy serves the dashboard)"),
          "SANDBOXD_SECURE_COOKIES");
  FromEnv(cmd.add_option("--idle-policy", c.idle_policy,
                         "idle policy of projects without their own: fixed | adaptive | warmup")
              ->capture_default_str(),
          "SANDBOXD_IDLE_POLICY");
  FromEnv(cmd.add_option("--policy-shadow", c.policy_shadow,
                         "a second idle policy that learns beside it without acting; the "
                         "policy report compares them"),
          "SANDBOXD_POLICY_SHADOW");
  AddPolicyBoundsFlags(cmd, c.idle_policy_min, c.idle_policy_max);
  FromEnv(cmd.add_option("--idle-policy-schedule", c.idle_policy_schedule,
                         "how often the idle policies learn from history and act: cron or "
                         "@every <duration>")
              ->capture_default_str(),
          "SANDBOXD_IDLE_POLICY_SCHEDULE");
}

// The flags of `migrate`.
void AddMigrateFlags(CLI::App& cmd, sbx::app::MigrateConfig& c) {
  AddOfflineStoreFlags(cmd, c.data_dir, c.store);
  cmd.add_option("--to", c.to, "schema version to reach (default: this binary's newest)")
      ->check(CLI::Range(1, 1000));
}

// The flags of `policy replay`.
void AddPolicyReplayFlags(CLI::App& cmd, sbx::app::PolicyReplayConfig& c) {
  AddOfflineStoreFlags(cmd, c.data_dir, c.store);
  cmd.add_option("--since", c.since, "how far back to replay (7d, 24h)")->capture_default_str();
  cmd.add_option("--policy", c.policies,
                 "policy to replay beside the baseline; repeat for several (default adaptive)");
  cmd.add_option("--baseline", c.baseline, "the policy the others are compared with")
      ->capture_default_str();
  FromEnv(cmd.add_option("--idle-timeout", c.idle_timeout, "the idle timeout policies start from")
              ->capture_default_str(),
          "SANDBOXD_IDLE_TIMEOUT");
  AddPolicyBoundsFlags(cmd, c.idle_policy_min, c.idle_policy_max);
  cmd.add_option("--regret-window", c.regret_window,
                 "a return within this of an idle pause is a regret wake")
      ->capture_default_str();
  cmd.add_flag("--json", c.json, "print one JSON object instead of the table");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sandboxd: event-driven lifecycle control plane for cloud sandboxes"};
  app.set_version_flag("--version", std::string("sandboxd ") + SBX_VERSION_LINE);
  app.require_subcommand(1);
  sbx::app::ServeConfig serve;
  CLI::App* s = app.add_subcommand("serve", "Run the control plane (REST API, enforcer, UI)");
  AddServeFlags(*s, serve);
  AddPreviewFlags(*s, serve);
  AddOperationFlags(*s, serve);
  sbx::app::RuntimeConfig runtime;
  CLI::App* r = app.add_subcommand(
      "runtime", "Run the local runtime behind an E2B-compatible API (with signed webhooks)");
  sbx::app::AddRuntimeFlags(*r, runtime);
  sbx::app::MigrateConfig migrate;
  CLI::App* m = app.add_subcommand(
      "migrate", "Bring the store's schema to a version, up or down (stop every sandboxd first)");
  AddMigrateFlags(*m, migrate);
  CLI::App* pol = app.add_subcommand("policy", "Idle policies: replay them over history");
  pol->require_subcommand(1);
  sbx::app::PolicyReplayConfig replay;
  CLI::App* pr = pol->add_subcommand(
      "replay", "Replay idle policies over the store's history and compare them (read only)");
  AddPolicyReplayFlags(*pr, replay);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and --version exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (s->parsed()) return sbx::app::Serve(serve);
  if (r->parsed()) return sbx::app::RunRuntime(runtime);
  if (m->parsed()) return sbx::app::Migrate(migrate);
  if (pr->parsed()) return sbx::app::PolicyReplay(replay);
  return 2;
}
