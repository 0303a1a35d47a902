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
  std::string enforcer_schedule = "*/2 * * * *";
  std::string api_token;                   // default: <data-dir>/api-token, generated
  std::string templates_dir;               // default: templates/ beside the repo or cwd
  std::string port_range = "40000-40999";
  std::string e2b_api_key;                 // E2B_API_KEY (provider e2b)
  std::string e2b_api_url;                 // E2B_API_URL, default https://api.e2b.app
  std::string e2b_domain;                  // E2B_DOMAIN for preview URLs, default e2b.app
  std::string e2b_template;                // E2B template for new sandboxes, default "base"
  std::string web_dir;                     // built dashboard; default web/dashboard/dist
  std::string webhook_secrets;             // E2B_WEBHOOK_SECRET: comma-separated, for rotation
  std::string reconcile_schedule = "@every 60s";  // drift repair against the provider
  int max_event_streams = 2000;            // SSE streams per server; more get 503
  bool presence = true;                    // open event streams keep sandboxes awake
  std::string lease_ttl_text = "5s";       // PostgreSQL leader lease; failover within ~this
  std::string max_clock_skew = "5m";       // webhooks dated further ahead are refused
  std::string log_level = "info";
};

// Runs until SIGINT/SIGTERM. Returns the process exit code.
int Serve(const ServeConfig& config);

}  // namespace sbx::app
