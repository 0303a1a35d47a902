// LocalProvider runs sandboxes on this machine: each one is a template's
// process in a runc container (bundle under <sandboxes_dir>/<id>/, state under
// its own `runc --root`), isolated as bundle.h describes, in a network
// namespace sandboxd makes for it (pinned at <netns_dir>/sbx-<tag>-<id>) where
// it serves on its template's port; `internet` sandboxes get a slirp4netns
// uplink filtered by nftables (egress.h). Its home is a loop-mounted ext4
// image of the template's disk limit; its output goes through a FIFO to a
// sandbox-logger process that keeps at most output_log_max_bytes. Pause/resume
// use the cgroup freezer. Built by app/ for `--provider local` and by the
// `sandboxd runtime` server. Two instances with different runc roots and
// sandboxes dirs run side by side (everything they make carries their tag).
// Thread-safe; every call blocks on runc, helpers and readiness probes
// (bounded by the options' timeouts), so call it from a BlockingPool.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/ids.h"
#include "provider/local/process_runner.h"
#include "provider/local/runc.h"
#include "provider/local/sandbox_connector.h"
#include "provider/local/sandbox_host.h"
#include "provider/local/sweep.h"
#include "provider/local/template.h"
#include "provider/local/uid_slices.h"
#include "provider/provider.h"

namespace sbx::provider::local {

// Annotations every container carries, so that List/Get recover a sandbox's
// port, project, template and egress after sandboxd restarts.
inline constexpr char kPortAnnotation[] = "sandboxd.port";
inline constexpr char kProjectAnnotation[] = "sandboxd.project";
inline constexpr char kTemplateAnnotation[] = "sandboxd.template";
inline constexpr char kEgressAnnotation[] = "sandboxd.egress";
// Prefix of the annotations holding CreateRequest::metadata entries.
inline constexpr char kMetadataAnnotationPrefix[] = "sandboxd.meta.";
// Files of a bundle: the sandbox's output (newest half and older half) in
// <bundle>/log/, the home image, and the FIFO the container writes into.
inline constexpr char kOutputLog[] = "output.log";
inline constexpr char kOutputLogOld[] = "output.log.1";
inline constexpr char kHomeImage[] = "home.img";

struct LocalProviderOptions {
  // The runc executable: a name looked up in PATH, or a path.
  std::string runc_binary = "runc";
  // runc's state directory (`runc --root`), one per sandboxd instance:
  // usually <data-dir>/runc. Created on first use; made absolute. Its hash is
  // the instance's tag.
  std::filesystem::path runc_root = "data/runc";
  // Parent of the sandboxes' bundle directories (<sandboxes_dir>/<id>/):
  // usually <data-dir>/sandboxes. Created on first use (mode 0711, so the
  // sandboxes' mapped users can reach their mount points); made absolute.
  std::filesystem::path sandboxes_dir = "data/sandboxes";
  // Directory of the template files (<name>.json).
  std::filesystem::path templates_dir = "templates";
  // Directory against which relative template programs and sandbox-logger
  // are resolved: the directory of the sandboxd executable (the CMake build
  // dir). Made absolute.
  std::filesystem::path binary_dir = ".";
  // Where network namespaces are pinned: /run/netns makes them visible to
  // `ip netns`.
  std::filesystem::path netns_dir = "/run/netns";
  // Host ids for the sandboxes' user namespaces: slices of uid_slice_size ids
  // out of uid_range_first..+uid_range_count, claimed in uid_claims_dir
  // (host-wide, so instances sharing it never share ids). The default,
  // 1879048192+268435456, holds 4096 slices above every id Debian hands out.
  uint32_t uid_range_first = 0x7000'0000;
  uint32_t uid_range_count = 0x1000'0000;
  uint32_t uid_slice_size = 65536;
  std::filesystem::path uid_claims_dir = "/run/sandboxd/uid-slices";
  // Helpers: names looked up in PATH, or paths. sandbox_logger: relative to
  // binary_dir unless absolute.
  std::string sandbox_logger = "sandbox-logger";
  std::string slirp4netns_binary = "slirp4netns";
  std::string nft_binary = "nft";
  std::string nsenter_binary = "nsenter";
  std::string mkfs_binary = "mkfs.ext4";
  std::string mount_binary = "mount";
  std::string cp_binary = "cp";
  std::string setsid_binary = "setsid";
  std::string unshare_binary = "unshare";
  // Output kept per sandbox, bytes (two files of half each; newest kept).
  int64_t output_log_max_bytes = 8 << 20;
  // How long Resume waits for the sandbox to serve again, ms. Create waits
  // for the template's startTimeoutMs instead.
  std::chrono::milliseconds readiness_timeout{10'000};
  // Pause between two readiness probes, ms.
  std::chrono::milliseconds readiness_poll_interval{5};
  // How long Create waits for a helper (logger, slirp4netns) to be ready, ms.
  std::chrono::milliseconds helper_start_timeout{5'000};
  // Deadline of each runc invocation, ms; then SIGTERM, and SIGKILL after
  // command_kill_grace.
  std::chrono::milliseconds command_timeout{30'000};
  std::chrono::milliseconds command_kill_grace{2'000};
  // Host directories mounted read-only, at the same path, in every sandbox;
  // those missing on the host are skipped.
  std::vector<std::string> host_readonly_dirs = {"/usr", "/lib", "/lib64", "/bin", "/sbin"};
  // Host entries under /etc mounted read-only over the generated /etc; those
  // missing on the host are skipped.
  std::vector<std::string> host_readonly_etc = {"/etc/ssl/certs", "/etc/ld.so.cache",
                                                "/etc/alternatives", "/etc/localtime"};
};

// True for ids runc could hold and that cannot escape sandboxes_dir:
// 1-64 characters from [A-Za-z0-9_-]. Every id LocalProvider makes is
// "sbx" + 25 characters from [a-z0-9] (129 bits from the CSPRNG).
bool IsValidSandboxId(std::string_view id);

class LocalProvider final : public Provider, public SandboxConnector {
 public:
  // All references must outlive the provider. `ids` makes sandbox ids.
  // `clock` gives deadlines and the wait between readiness probes. `host`
  // makes namespaces and finds leftovers.
  LocalProvider(Clock& clock, IdGenerator& ids, ProcessRunner& runner, SandboxHost& host,
                LocalProviderOptions options);

  // Provider. Beyond its contract: Create answers kInvalidArgument for an
  // unknown template, kFailedPrecondition for a broken template file, a
  // missing program or a bad uid range, kUnavailable when no uid slice is
  // free, runc or a helper fails, kDeadlineExceeded when the sandbox does not
  // serve within the template's start timeout. On any failure everything it
  // made is removed. request.allow_internet_access, when set, overrides the
  // template's egress.
  Result<ProviderSandbox> Create(const CreateRequest& request) override;
  Status Pause(const std::string& sandbox_id) override;
  Result<ProviderSandbox> Resume(const std::string& sandbox_id) override;
  Status Kill(const std::string& sandbox_id) override;
  Status SetTimeout(const std::string& sandbox_id, std::chrono::seconds timeout) override;
  // Also sweeps (see Sweep): so sandboxd's start-up reconcile cleans what a
  // crash left behind.
  Result<ListResult> List() override;
  Result<ProviderSandbox> Get(const std::string& sandbox_id) override;
  // kInvalidArgument for an unknown or unusable template (the file is read).
  Status CheckTemplate(const std::string& template_name) override;
  // From <bundle>/log (output_log.h); kNotFound for an unknown sandbox.
  Result<OutputChunk> ReadOutput(const std::string& sandbox_id, const OutputQuery& query) override;

  // SandboxConnector
  Result<int> SandboxSocket(const std::string& sandbox_id) override;
  Result<uint16_t> SandboxPort(const std::string& sandbox_id) override;

  // Removes everything of this instance that no live sandbox owns: stopped
  // or never-started containers, and the namespaces, mounts, loop devices,
  // helper processes, uid claims and bundles of sandboxes without a running
  // or paused container (a Create killed mid-way, a container deleted by
  // hand). Never touches a Create in flight or another instance's sandboxes.
  // Returns the first error, after trying every sandbox.
  Status Sweep();

  const LocalProviderOptions& options() const { return options_; }
  const SandboxNames& names() const { return names_; }
  // The cgroup path (relative to runc's own cgroup) of a sandbox of this
  // instance: "sandboxd-<tag>-<id>".
  std::string CgroupsPath(const std::string& sandbox_id) const;

 private:
  struct Plan;  // what Create makes, decided before anything is made

  Result<ProcessResult> Run(const std::vector<std::string>& argv,
                            const std::filesystem::path* output_file = nullptr);
  // Runs one runc command with the command timeout.
  Result<ProcessResult> RunRunc(const std::vector<std::string>& argv,
                                const std::filesystem::path* output_file = nullptr);
  Result<RuncContainer> State(const std::string& id);
  Result<std::vector<RuncContainer>> ListContainers();
  void SetInFlight(const std::string& id, bool in_flight);
  bool InFlight(const std::string& id);
  std::set<std::string> InFlightIds();

  // Create's steps (sandbox_setup.cc), in order.
  Status MakeBundle(const Plan& plan);
  Status MakeHome(const Plan& plan);
  Status MakeNetwork(const Plan& plan);
  Status StartLogger(const Plan& plan);
  Status WaitFor(const std::string& what, SteadyTime deadline, const std::function<bool()>& ready);
  // The formatted, empty ext4 image of `mib` MiB that homes are copied
  // from; made once per size and kept in <sandboxes_dir>/.images/.
  Result<std::filesystem::path> GoldenImage(int64_t mib);

  // Polls GET <path> on the port in the sandbox's namespace until a 2xx
  // answer or `deadline`.
  Status WaitReady(const std::string& id, uint16_t port, const std::string& path,
                   SteadyTime deadline);
  // Kills and deletes the container and removes everything it had (helpers,
  // mounts, loop devices, namespace, uid claim, bundle). OK if absent;
  // idempotent, so a failed Remove can simply be retried.
  Status Remove(const std::string& id);
  Result<Leftovers> GatherLeftovers();
  ProviderSandbox ToProviderSandbox(const RuncContainer& c) const;
  std::filesystem::path BundleDir(const std::string& id) const;
  // The last bytes of the sandbox's output log, for error messages.
  std::string OutputTail(const std::string& id) const;
  void RememberPort(const std::string& id, uint16_t port);

  Clock& clock_;
  IdGenerator& ids_;
  ProcessRunner& runner_;
  SandboxHost& host_;
  const LocalProviderOptions options_;
  const RuncCommands runc_;
  const std::string instance_tag_;  // hash of runc_root, in cgroup paths and tokens
  const SandboxNames names_;
  UidSlices uid_slices_;

  std::mutex mu_;
  std::set<std::string> in_flight_;       // ids being created; GUARDED_BY(mu_)
  std::map<std::string, uint16_t> ports_;  // known sandboxes' ports; GUARDED_BY(mu_)
  std::mutex image_mu_;                   // held while a golden image is made
};

}  // namespace sbx::provider::local
