// OCI bundles for local sandboxes: the config.json runc runs (BuildOciConfig,
// pure) and the bundle directory around it (WriteBundle). A sandbox sees an
// empty read-only root with the host's /usr, /lib*, /bin, /sbin and /etc
// mounted read-only, its template's program directory read-only at
// kProgramMountPoint, a private writable home and tmpfs /tmp; it has its own
// PID, IPC, UTS and mount namespaces but shares the host network, so it serves
// on 127.0.0.1:<port>. Used by LocalProvider. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace sbx::provider::local {

// Where the sandbox's writable home is mounted, and its working directory.
inline constexpr char kSandboxHome[] = "/home/sandbox";
// Where the directory holding the template's program is mounted.
inline constexpr char kProgramMountPoint[] = "/opt/template";

struct BundleSpec {
  std::string hostname;
  std::vector<std::string> args;  // argv inside the container (paths as seen inside)
  std::vector<std::string> env;   // "KEY=VALUE" entries, in order
  // Host directories bind-mounted read-only at the same path: /usr, /lib, …
  // Only those that exist on the host belong here.
  std::vector<std::string> host_readonly_dirs;
  std::string program_dir;         // host directory mounted read-only at kProgramMountPoint
  std::string home_dir;            // host directory mounted read-write at kSandboxHome
  int64_t memory_limit_bytes = 0;  // cgroup memory limit, bytes
  int64_t pids_limit = 0;          // cgroup pids limit
  std::string cgroups_path;        // linux.cgroupsPath, relative to runc's own cgroup
  std::map<std::string, std::string> annotations;
};

// The bundle's config.json text (OCI runtime spec 1.0.2, as `runc spec`
// shapes it): root "rootfs" read-only, process as uid 0 with a small
// capability set, noNewPrivileges, no terminal.
std::string BuildOciConfig(const BundleSpec& spec);

// Creates `dir` with an empty `rootfs/`, an empty `home/` and `config.json`
// holding `config_json`. kAlreadyExists if `dir` exists; kInternal for file
// system errors (nothing is cleaned up: the caller removes `dir`).
Status WriteBundle(const std::filesystem::path& dir, const std::string& config_json);

}  // namespace sbx::provider::local
