// SandboxHost is what LocalProvider needs of the host beyond running commands:
// network namespaces (made, entered for a socket or a readiness probe,
// removed), the mounts, loop devices and helper processes a sandbox leaves
// behind, file ownership, FIFOs and the host's own addresses. LinuxSandboxHost
// (linux_sandbox_host.h) does it with system calls, as root; unit tests use
// FakeSandboxHost (provider/local/testing/). Implementations are thread-safe;
// calls block (briefly, or at most their timeout), so run them on a
// BlockingPool.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sbx::provider::local {

struct HttpResponse {
  int status = 0;    // e.g. 200
  std::string body;  // at most 1 MiB
};

// A loop device and the file behind it.
struct LoopDevice {
  std::string device;                  // "/dev/loop3"
  std::filesystem::path backing_file;  // as the kernel reports it
  friend bool operator==(const LoopDevice&, const LoopDevice&) = default;
};

// A process found by its command line.
struct HostProcess {
  int pid = 0;
  std::string exe_name;           // file name of /proc/<pid>/exe ("slirp4netns")
  std::vector<std::string> argv;  // /proc/<pid>/cmdline
  friend bool operator==(const HostProcess&, const HostProcess&) = default;
};

class SandboxHost {
 public:
  virtual ~SandboxHost() = default;

  // Makes a new network namespace, owned by the host's user namespace, with
  // `lo` up and every port bindable by any user, and pins it at `path` (a
  // bind mount, like `ip netns add`). kAlreadyExists if `path` exists;
  // kInternal otherwise (nothing is left behind).
  virtual Status CreateNetns(const std::filesystem::path& path) = 0;
  // Unpins and removes `path`; the namespace dies with its last user. OK if
  // absent. kInternal when it cannot be removed.
  virtual Status DeleteNetns(const std::filesystem::path& path) = 0;
  // File names in `dir` (the namespaces pinned there); empty if `dir` is missing.
  virtual Result<std::vector<std::string>> ListNetns(const std::filesystem::path& dir) = 0;
  // An unconnected, close-on-exec TCP/IPv4 socket that lives in the namespace
  // pinned at `netns`; the caller owns it. kNotFound: no such namespace.
  virtual Result<int> SocketIn(const std::filesystem::path& netns) = 0;
  // True once interface `name` in the namespace is up and has an address.
  virtual Result<bool> InterfaceReady(const std::filesystem::path& netns,
                                      const std::string& name) = 0;
  // GET http://127.0.0.1:<port><path> inside the namespace (Connection:
  // close). kUnavailable: refused, reset or not HTTP. kDeadlineExceeded: no
  // complete answer within `timeout`. kNotFound: no such namespace.
  virtual Result<HttpResponse> HttpGet(const std::filesystem::path& netns, uint16_t port,
                                       const std::string& path,
                                       std::chrono::milliseconds timeout) = 0;

  // Mount points at or below `dir`, deepest first.
  virtual Result<std::vector<std::filesystem::path>> MountsUnder(
      const std::filesystem::path& dir) = 0;
  // Detaches the mount at `target` (lazily, so it never fails as busy). OK if
  // nothing is mounted there.
  virtual Status Unmount(const std::filesystem::path& target) = 0;
  // Loop devices whose backing file is at or below `dir`.
  virtual Result<std::vector<LoopDevice>> LoopDevicesUnder(const std::filesystem::path& dir) = 0;
  // Detaches a loop device from its file. OK if it is already free.
  virtual Status DetachLoop(const std::string& device) = 0;

  // Processes one of whose arguments contains `token`.
  virtual Result<std::vector<HostProcess>> FindProcesses(std::string_view token) = 0;
  // SIGKILL, then waits (bounded) until the process has exited. OK if the
  // process is gone.
  virtual Status KillProcess(int pid) = 0;

  virtual Status Chown(const std::filesystem::path& path, uint32_t uid, uint32_t gid) = 0;
  // Makes a FIFO (mode 0600). kInternal on failure.
  virtual Status MakeFifo(const std::filesystem::path& path) = 0;
  // True once some process has the FIFO open for reading.
  virtual bool FifoHasReader(const std::filesystem::path& path) = 0;
  // Every IPv4 and IPv6 address of the host's interfaces, as literals.
  virtual std::vector<std::string> HostAddresses() = 0;
};

}  // namespace sbx::provider::local
