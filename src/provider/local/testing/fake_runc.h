// FakeRunc simulates the runc command line behind a FakeProcessRunner: it
// keeps a table of containers and answers run/pause/resume/kill/delete/state/
// list the way runc 1.1 does (same exit codes, same stderr messages, same
// JSON). `run` reads annotations from the bundle's config.json. Every other
// command (mkfs.ext4, cp, nft, …) succeeds; with a FakeSandboxHost, `mount`
// adds its target to the host's mounts and `setsid -f <program> …` adds a
// process running it. Lets LocalProvider be tested without root. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "provider/local/runc.h"
#include "provider/local/testing/fake_process_runner.h"
#include "provider/local/testing/fake_sandbox_host.h"

namespace sbx::provider::local {

class FakeRunc {
 public:
  // Installs itself as `runner`'s handler; `runner` must outlive it.
  explicit FakeRunc(FakeProcessRunner& runner, FakeSandboxHost* host = nullptr);

  std::map<std::string, RuncContainer> containers() const;
  // Adds or replaces a container (e.g. one left from a previous run).
  void Put(RuncContainer c);
  // Simulates the container's process exiting (status stopped, pid 0).
  void Stop(const std::string& id);
  // The next `run` fails with exit 1, writing runc's error line with `message`
  // to the output file (or stderr).
  void FailNextRun(std::string message);

  // runc's JSON for one container, as `runc state` prints it.
  static std::string StateJson(const RuncContainer& c);

 private:
  Result<ProcessResult> Handle(const std::vector<std::string>& argv, const RunOptions& options);
  ProcessResult HandleRun(const std::vector<std::string>& args, const RunOptions& options,
                          const std::optional<std::string>& log_file);
  ProcessResult HandleOther(const std::vector<std::string>& argv);

  FakeSandboxHost* host_;

  mutable std::mutex mu_;
  std::map<std::string, RuncContainer> containers_;
  std::optional<std::string> fail_next_run_;
  int64_t next_pid_ = 1000;
};

}  // namespace sbx::provider::local
