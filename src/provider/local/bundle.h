// OCI bundles for local sandboxes: the config.json runc runs (BuildOciConfig,
// pure), the generated /etc (EtcFiles, pure) and the bundle directory around
// them (WriteBundle). A sandbox sees an empty read-only root with the host's
// /usr, /lib*, /bin and /sbin mounted read-only, a generated /etc (plus the
// host's CA certificates, read-only), its template's program directory
// read-only at kProgramMountPoint, a private writable home and tmpfs /tmp. It
// has its own user (root mapped to an unprivileged host range), PID, IPC, UTS,
// mount and cgroup namespaces, joins the network namespace sandboxd made for
// it, runs as kSandboxUid with no capabilities, noNewPrivileges and the
// seccomp filter of seccomp.h, under cgroup memory, pids and CPU limits.
// Used by LocalProvider. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sbx::provider::local {

// Where the sandbox's writable home is mounted, and its working directory.
inline constexpr char kSandboxHome[] = "/home/sandbox";
// Where the directory holding the template's program is mounted.
inline constexpr char kProgramMountPoint[] = "/opt/template";
// The user the template's process runs as, inside the sandbox.
inline constexpr char kSandboxUser[] = "sandbox";
inline constexpr uint32_t kSandboxUid = 1000;
inline constexpr uint32_t kSandboxGid = 1000;

// A user namespace mapping: ids 0..size-1 inside are host_id..host_id+size-1
// outside. The same mapping serves uids and gids.
struct IdMapping {
  uint32_t host_id = 0;
  uint32_t size = 0;
  friend bool operator==(const IdMapping&, const IdMapping&) = default;
};

struct BundleSpec {
  std::string hostname;
  std::vector<std::string> args;  // argv inside the container (paths as seen inside)
  std::vector<std::string> env;   // "KEY=VALUE" entries, in order
  // Host directories bind-mounted read-only at the same path: /usr, /lib, …
  // Only those that exist on the host belong here.
  std::vector<std::string> host_readonly_dirs;
  // Host entries under /etc bind-mounted read-only at the same path over the
  // generated /etc (CA certificates, the loader cache). Only existing ones.
  std::vector<std::string> host_readonly_etc;
  std::string program_dir;  // host directory mounted read-only at kProgramMountPoint
  std::string home_dir;     // host directory mounted read-write at kSandboxHome
  std::string etc_dir;      // host directory (generated) mounted read-only at /etc
  std::string netns_path;   // the network namespace to join, e.g. /run/netns/<name>
  IdMapping ids;            // user namespace mapping of uids and gids
  int64_t memory_limit_bytes = 0;  // cgroup memory limit, bytes
  int64_t pids_limit = 0;          // cgroup pids limit
  int64_t cpu_quota_us = 0;        // CPU time per period, µs; 0 = unlimited
  int64_t cpu_period_us = 100'000;
  std::string cgroups_path;  // linux.cgroupsPath, relative to runc's own cgroup
  std::map<std::string, std::string> annotations;
};

// The bundle's config.json text (OCI runtime spec 1.0.2, as `runc spec`
// shapes it).
std::string BuildOciConfig(const BundleSpec& spec);

// The generated /etc of a sandbox, as (file name, contents): passwd and group
// (root and kSandboxUser), hosts, hostname, nsswitch.conf and resolv.conf
// (slirp's resolver when `dns`, else none).
std::vector<std::pair<std::string, std::string>> EtcFiles(const std::string& hostname, bool dns);

// Creates `dir` with `config.json` holding `config_json`, `rootfs/` holding
// only the mount points `spec` needs, an empty `home/`, `log/`, and `etc/`
// holding `etc_files` plus mount points for spec.host_readonly_etc.
// kAlreadyExists if `dir` exists; kInternal for file system errors (nothing is
// cleaned up: the caller removes `dir`).
Status WriteBundle(const std::filesystem::path& dir, const BundleSpec& spec,
                   const std::string& config_json,
                   const std::vector<std::pair<std::string, std::string>>& etc_files);

}  // namespace sbx::provider::local
