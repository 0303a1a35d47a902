// `sandboxd serve`: configuration (flags, SANDBOXD_* env vars, defaults) and
// the wiring of every object of the control plane. The only place that names
// concrete types (SqliteStore, LocalProvider, SystemClock…).
#pragma once

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
  std::string web_dir;                     // built dashboard; default web/dashboard/dist
  std::string webhook_secrets;             // E2B_WEBHOOK_SECRET: comma-separated, for rotation
  std::string reconcile_schedule = "@every 60s";  // drift repair against the provider
  int max_event_streams = 2000;            // SSE streams per server; more get 503
  bool presence = true;                    // open event streams keep sandboxes awake
  std::string log_level = "info";
};

// Runs until SIGINT/SIGTERM. Returns the process exit code.
int Serve(const ServeConfig& config);

}  // namespace sbx::app
