// LocalProvider runs sandboxes on this machine: each one is a template's
// process in a runc container (bundle under <sandboxes_dir>/<id>/, state under
// its own `runc --root`), serving on a port of 127.0.0.1 from a configured
// range; pause/resume use the cgroup freezer. Built by app/ for `--provider
// local` and by the `sandboxd runtime` server. Two instances with different
// runc roots, sandboxes dirs and port ranges run side by side. Thread-safe;
// every call blocks on runc and readiness probes (bounded by the options'
// timeouts), so call it from a BlockingPool.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/ids.h"
#include "provider/local/loopback_network.h"
#include "provider/local/process_runner.h"
#include "provider/local/runc.h"
#include "provider/provider.h"

namespace sbx::provider::local {

// Annotations every container carries, so that List/Get recover a sandbox's
// port, project and template after sandboxd restarts.
inline constexpr char kPortAnnotation[] = "sandboxd.port";
inline constexpr char kProjectAnnotation[] = "sandboxd.project";
inline constexpr char kTemplateAnnotation[] = "sandboxd.template";
// Prefix of the annotations holding CreateRequest::metadata entries.
inline constexpr char kMetadataAnnotationPrefix[] = "sandboxd.meta.";

struct LocalProviderOptions {
  // The runc executable: a name looked up in PATH, or a path.
  std::string runc_binary = "runc";
  // runc's state directory (`runc --root`), one per sandboxd instance:
  // usually <data-dir>/runc. Created on first use; made absolute.
  std::filesystem::path runc_root = "data/runc";
  // Parent of the sandboxes' bundle directories (<sandboxes_dir>/<id>/):
  // usually <data-dir>/sandboxes. Created on first use; made absolute.
  std::filesystem::path sandboxes_dir = "data/sandboxes";
  // Directory of the template files (<name>.json).
  std::filesystem::path templates_dir = "templates";
  // Directory against which relative template programs are resolved: the
  // directory of the sandboxd executable (the CMake build dir). Made absolute.
  std::filesystem::path binary_dir = ".";
  // Ports handed to sandboxes: first_port..last_port, both inclusive.
  uint16_t first_port = 40000;
  uint16_t last_port = 40999;
  // How long Resume waits for the sandbox to serve again, ms. Create waits
  // for the template's startTimeoutMs instead.
  std::chrono::milliseconds readiness_timeout{10'000};
  // Pause between two readiness probes, ms.
  std::chrono::milliseconds readiness_poll_interval{50};
  // Deadline of each runc invocation, ms; then SIGTERM, and SIGKILL after
  // command_kill_grace.
  std::chrono::milliseconds command_timeout{30'000};
  std::chrono::milliseconds command_kill_grace{2'000};
  // Host directories mounted read-only, at the same path, in every sandbox;
  // those missing on the host are skipped.
  std::vector<std::string> host_readonly_dirs = {"/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"};
};

// True for ids runc could hold and that cannot escape sandboxes_dir:
// 1-64 characters from [A-Za-z0-9_-]. Every id LocalProvider makes is
// "sbx" + 17 characters from [a-z0-9].
bool IsValidSandboxId(std::string_view id);

class LocalProvider final : public Provider {
 public:
  // All references must outlive the provider. `ids` makes sandbox ids.
  // `clock` gives deadlines and the wait between readiness probes.
  LocalProvider(Clock& clock, IdGenerator& ids, ProcessRunner& runner, LoopbackNetwork& network,
                LocalProviderOptions options);

  // Provider. Beyond its contract: Create answers kInvalidArgument for an
  // unknown template, kFailedPrecondition for a broken template file or a
  // missing program, kUnavailable when no port of the range is free or runc
  // fails, kDeadlineExceeded when the sandbox does not serve within the
  // template's start timeout (the container is then removed).
  Result<ProviderSandbox> Create(const CreateRequest& request) override;
  Status Pause(const std::string& sandbox_id) override;
  Result<ProviderSandbox> Resume(const std::string& sandbox_id) override;
  Status Kill(const std::string& sandbox_id) override;
  Status SetTimeout(const std::string& sandbox_id, std::chrono::seconds timeout) override;
  // Also deletes containers that have stopped (and their bundles).
  Result<ListResult> List() override;
  Result<ProviderSandbox> Get(const std::string& sandbox_id) override;
  // kInvalidArgument for an unknown or unusable template (the file is read).
  Status CheckTemplate(const std::string& template_name) override;

  const LocalProviderOptions& options() const { return options_; }
  // The cgroup path (relative to runc's own cgroup) of a sandbox of this
  // instance: "sandboxd-<hash of runc_root>-<id>".
  std::string CgroupsPath(const std::string& sandbox_id) const;

 private:
  // Runs one runc command with the command timeout.
  Result<ProcessResult> RunRunc(const std::vector<std::string>& argv,
                                const std::filesystem::path* output_file = nullptr);
  Result<RuncContainer> State(const std::string& id);
  Result<std::vector<RuncContainer>> ListContainers();
  // Picks a port that no container of this instance uses, no Create in
  // flight holds and that can be bound; marks it and `id` as in flight.
  Result<uint16_t> ReservePort(const std::string& id);
  void ReleaseReservation(const std::string& id, uint16_t port);
  bool InFlight(const std::string& id);
  // Polls GET <path> on the port until a 2xx answer or `deadline`.
  Status WaitReady(const std::string& id, uint16_t port, const std::string& path,
                   SteadyTime deadline);
  // Kills and deletes the container and removes its bundle; OK if absent.
  Status Remove(const std::string& id);
  ProviderSandbox ToProviderSandbox(const RuncContainer& c) const;
  std::filesystem::path BundleDir(const std::string& id) const;
  // The last bytes of the sandbox's output log, for error messages.
  std::string OutputTail(const std::string& id) const;

  Clock& clock_;
  IdGenerator& ids_;
  ProcessRunner& runner_;
  LoopbackNetwork& network_;
  const LocalProviderOptions options_;
  const RuncCommands runc_;
  const std::string instance_tag_;  // hash of runc_root, in cgroup paths

  // Held across `runc list` and the pick in ReservePort, so that two Creates
  // never judge a port from the same stale list. Taken before mu_.
  std::mutex reserve_mu_;
  std::mutex mu_;
  std::set<uint16_t> reserved_ports_;  // GUARDED_BY(mu_)
  std::set<std::string> in_flight_;    // ids being created; GUARDED_BY(mu_)
  uint16_t next_port_;                 // where the next port search starts; GUARDED_BY(mu_)
};

}  // namespace sbx::provider::local
