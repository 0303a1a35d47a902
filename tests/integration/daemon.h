// Daemon runs the real build/sandboxd for one integration test: a fresh temp
// data dir (mkdtemp under /tmp), its own port range for sandboxes, SQLite and
// runc state inside the data dir. It knows the listening URL and the API
// token, drives the API (Beast client) and sandboxctl, and looks at runc
// directly. The destructor leaves nothing behind: it stops the daemon, kills
// and deletes every container in its runc root and removes the temp dir.
// Not thread-safe: one thread per Daemon (separate Daemons may run side by side).
#pragma once

#include <gtest/gtest.h>

#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "integration/http_client.h"
#include "integration/process.h"
#include "integration/support.h"

namespace sbx::integration {

// Fails with a clear message unless we are root, runc works and the binaries
// under test are built. The runc tests never skip.
::testing::AssertionResult CheckPrerequisites();

struct DaemonOptions {
  int first_port = 0;  // sandbox port range: first_port .. first_port + 99
  std::string idle_timeout = "2s";
  std::string enforcer_schedule = "@every 1s";
  std::string api_token;  // empty: sandboxd generates one into <data-dir>/api-token
  // More `serve` flags (e.g. --store postgres://…, --provider e2b) and
  // environment variables ("NAME=value", e.g. E2B_API_KEY=…) for the daemon.
  std::vector<std::string> extra_args;
  std::vector<std::string> env;
  // Names the daemon in the output printed when a test fails ("replica 2").
  std::string name = "sandboxd";
  // How many of the last stderr lines are printed when a test fails.
  size_t log_lines_on_failure = 150;
  // > 0: the daemon runs under this RLIMIT_NOFILE (soft and hard, through
  // prlimit(1)), so that its connection caps are small.
  int file_limit = 0;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Spawns sandboxd on 127.0.0.1:0 (and its preview gateway on 127.0.0.1:0,
  // unless extra_args name --preview-listen) with the data dir (created on the
  // first call) and waits up to 30 s for the URL, token and preview lines on
  // its stdout.
  ::testing::AssertionResult Start();
  // SIGTERM; expects a clean exit (status 0) within 20 s.
  ::testing::AssertionResult Stop();
  // SIGKILL: a crash. Containers stay.
  ::testing::AssertionResult Kill9();
  // Stops (if running) and starts again on the same data dir; the port may change.
  ::testing::AssertionResult Restart();

  // The API with this daemon's token.
  HttpResponse Call(boost::beast::http::verb method, const std::string& target,
                    const std::string& body = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // The API with exactly these headers (no token unless given).
  HttpResponse CallWithHeaders(boost::beast::http::verb method, const std::string& target,
                               std::vector<std::pair<std::string, std::string>> headers,
                               const std::string& body = "") const;
  // GET /api/projects/{project}/sandbox, parsed; nullopt if not 200 (see `why`).
  std::optional<SandboxView> Get(const std::string& project, std::string* why = nullptr) const;
  // The status of the project's sandbox, or "<HTTP …>" when there is none.
  std::string StatusOf(const std::string& project) const;
  std::optional<std::vector<HistoryEvent>> History(const std::string& project,
                                                   std::string* why = nullptr) const;

  // sandboxctl's argv with this daemon's --url and --token, then `args`.
  std::vector<std::string> CtlArgv(const std::vector<std::string>& args) const;
  // build/sandboxctl --url <this daemon> --token <token> args…
  CommandResult Ctl(const std::vector<std::string>& args) const;

  // Container ids in this daemon's runc root.
  std::vector<std::string> RuncList() const;
  // "running", "paused", … from `runc state`, or "" when it does not exist.
  std::string RuncStatus(const std::string& container_id) const;

  // Whether the daemon process is running (reaps it if it has exited).
  bool Running() { return process_.Poll(); }
  pid_t pid() const { return process_.pid(); }
  const std::string& url() const { return url_; }
  uint16_t port() const { return port_; }
  // The preview gateway: 127.0.0.1:<preview_port()>, previews under
  // <port>-<sandboxId>.<preview_domain()>.
  uint16_t preview_port() const { return preview_port_; }
  const std::string& preview_domain() const { return preview_domain_; }
  const std::string& token() const { return token_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::filesystem::path runc_root() const { return data_dir_ / "runc"; }
  std::filesystem::path sandboxes_dir() const { return data_dir_ / "sandboxes"; }
  int first_port() const { return options_.first_port; }
  int last_port() const { return options_.first_port + 99; }
  // Everything the current (or last) run printed on stdout.
  std::string Stdout() const;
  // The last `lines` lines of sandboxd's stderr (all runs of this Daemon).
  std::string LogTail(size_t lines = 80) const;

 private:
  void CleanUp();

  DaemonOptions options_;
  std::filesystem::path root_;         // the mkdtemp dir; empty until Start()
  std::filesystem::path data_dir_;     // root_/data
  std::filesystem::path log_;          // root_/sandboxd.log: stderr of every run
  std::filesystem::path stdout_path_;  // root_/stdout-<n>.txt: stdout of run n
  int starts_ = 0;
  ChildProcess process_;
  std::string url_;
  uint16_t port_ = 0;
  std::string token_;
  uint16_t preview_port_ = 0;
  std::string preview_domain_;
};

// Runs `runc --root <root> args…`.
CommandResult Runc(const std::filesystem::path& root, const std::vector<std::string>& args);
// The ids of the containers under a runc state root.
std::vector<std::string> RuncIds(const std::filesystem::path& root);
// Kills and deletes every container under `root`, without sandboxd (so it
// works when sandboxd is broken); a container it cannot remove fails the test.
void RemoveAllContainers(const std::filesystem::path& root);
// The whole text of `path` ("" when it cannot be read), and its last `lines` lines.
std::string ReadFile(const std::filesystem::path& path);
std::string TailOfFile(const std::filesystem::path& path, size_t lines);

// GET <sandbox url>/state with a deadline; `why` explains a nullopt. A
// preview URL goes through the gateway (so it is activity, and wakes a
// paused sandbox); a plain http://host:port/ URL goes straight there.
std::optional<HelloState> GetHelloState(
    const std::string& url, std::string* why = nullptr,
    std::chrono::milliseconds timeout = std::chrono::seconds(5));
// GET /state of the sandbox itself (127.0.0.1:<its port>, never through the
// gateway, so it wakes nothing) with a short deadline: a paused sandbox
// accepts the connection and never answers.
HttpResponse ProbeSandbox(const std::string& url,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

}  // namespace sbx::integration
