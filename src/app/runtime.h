// `sandboxd runtime`: the local runtime (real runc sandboxes) behind an
// E2B-compatible REST API with signed lifecycle webhooks
// (runtime_api::RuntimeServer). Configuration (flags, SANDBOXD_RUNTIME_* env
// vars, defaults) and the wiring of its objects. Its LocalProvider uses
// <data-dir>/runc and <data-dir>/sandboxes, so it runs beside `sandboxd serve`.
#pragma once

#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace sbx::app {

struct RuntimeConfig {
  std::string listen = "127.0.0.1:3000";
  std::string data_dir = "data-runtime";
  std::string api_key;               // default: <data-dir>/api-key, generated ("e2b_" + 40 hex)
  // Preview hosts are <port>-<id>.<domain>; empty = "localhost:<listen port>",
  // so preview URLs answer on this machine without DNS (*.localhost is
  // loopback) and the SDKs' getHost() names the runtime's own port.
  std::string domain;
  std::string templates_dir;         // default: templates/ beside the build dir or the cwd
  std::string port_range = "41000-41999";  // deprecated: parsed, unused
  std::string sandbox_uid_range = "1879048192-2147483647";
  std::string webhook_backoff = "10s";          // wait between webhook delivery attempts
  std::string webhook_timeout = "10s";          // per delivery attempt
  std::string webhook_signature = "base64url";  // e2b-signature alphabet: base64url | base64
  std::string max_timeout = "24h";              // longest sandbox timeout and life
  // Let webhooks target loopback and private addresses (link-local never).
  bool webhook_allow_private = false;
  std::string log_level = "info";
};

// Adds the runtime's flags to `cmd`, each with its SANDBOXD_RUNTIME_* env var:
// --listen --data-dir --api-key --domain --templates-dir --port-range
// --webhook-backoff --webhook-timeout --webhook-signature
// --webhook-allow-private --max-timeout --log-level.
void AddRuntimeFlags(CLI::App& cmd, RuntimeConfig& config);

// Runs until SIGINT/SIGTERM. The first stdout line is
// "sandboxd runtime listening on http://<host:port>/", the second
// "API key: <key>"; logs go to stderr. Returns the process exit code.
int RunRuntime(const RuntimeConfig& config);

}  // namespace sbx::app
