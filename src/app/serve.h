// `sandboxd serve`: configuration (flags, SANDBOXD_* env vars, defaults) and
// the wiring of every object of the control plane. The only place that names
// concrete types (SqliteStore, LocalProvider, SystemClock…).
#pragma once

#include <chrono>
#include <string>

#include "base/status.h"

namespace sbx::app {

struct ServeConfig {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "data";
  std::string store;                       // default sqlite://<data-dir>/sandboxd.db
  std::string provider = "local";          // local | e2b
  std::string idle_timeout = "3m";
  std::string max_hold_ttl = "24h";        // the longest a busy hold may be placed for
  std::string enforcer_schedule = "*/2 * * * *";
  std::string api_token;                   // default: <data-dir>/api-token, generated
  std::string templates_dir;               // default: templates/ beside the repo or cwd
  std::string port_range = "40000-40999";  // deprecated: parsed, unused
  std::string sandbox_uid_range = "1879048192-2147483647";  // user namespaces' host ids
  std::string e2b_api_key;                 // E2B_API_KEY (provider e2b)
  std::string e2b_api_url;                 // E2B_API_URL, default https://api.e2b.app
  std::string e2b_domain;                  // E2B_DOMAIN for preview URLs, default e2b.app
  std::string e2b_template;                // E2B template for new sandboxes, default "base"
  std::string web_dir;                     // built dashboard; default web/dashboard/dist
  std::string webhook_secrets;             // E2B_WEBHOOK_SECRET: comma-separated, for rotation
  std::string reconcile_schedule = "@every 60s";  // drift repair against the provider
  int max_event_streams = 2000;            // SSE streams per server; more get 503
  bool presence = true;                    // open event streams keep sandboxes awake
  std::string pause_warning = "30s";       // SSE pause_pending this long before pauseAt; 0 = none
  std::string lease_ttl_text = "5s";       // PostgreSQL leader lease; failover within ~this
  std::string max_clock_skew = "5m";       // webhooks dated further ahead are refused
  std::string log_level = "info";
  // The preview gateway: <port>-<sandboxId>.<preview domain> on its own listener.
  std::string preview_listen = "127.0.0.1:8081";
  std::string preview_domain;              // default localhost:<preview listen port>
  std::string preview_wake_timeout = "30s";  // longest hold of a request before 503
  std::string preview_auth = "none";       // none | token (per-sandbox traffic token)
  std::string preview_secret;              // token key; default <data-dir>/preview-secret
  int preview_max_body_mib = 64;           // larger request bodies get 413
  std::string store_timeout = "5s";        // deadline of one store call (PostgreSQL: statements)
  std::string retain_history = "720h";     // history rows older than this are deleted; 0 keeps
  std::string retain_event_ids = "168h";   // processed webhook ids; keep past provider retries
  std::string retain_job_runs = "168h";    // job runs (the enforcer's sweeps)
  std::string session_ttl = "168h";        // dashboard sign-ins end after this
  bool secure_cookies = false;             // `Secure` session cookie (HTTPS, a TLS proxy in front)
  std::string idle_policy = "fixed";       // fixed | adaptive | warmup: projects without their own
  std::string policy_shadow;               // a policy run beside it without acting; empty: none
  std::string idle_policy_min = "1m";      // the range policies keep idle timeouts in
  std::string idle_policy_max = "1h";
  std::string idle_policy_schedule = "@every 30s";  // how often the policies learn and act
};

// Runs until SIGINT/SIGTERM. Returns the process exit code.
int Serve(const ServeConfig& config);

}  // namespace sbx::app
