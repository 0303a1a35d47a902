// LinuxSandboxHost: SandboxHost over Linux system calls. Network namespaces
// are made and entered on short-lived threads (unshare/setns affect only the
// calling thread, and a thread that ends cannot leak its namespace into a
// pool); sockets keep the namespace they were made in. Needs root (it mounts,
// unshares and chowns). Thread-safe; every call blocks briefly, HttpGet for at
// most its timeout.
#pragma once

#include "base/clock.h"
#include "provider/local/sandbox_host.h"

namespace sbx::provider::local {

class LinuxSandboxHost final : public SandboxHost {
 public:
  // `clock` measures HttpGet's timeout.
  explicit LinuxSandboxHost(Clock& clock) : clock_(clock) {}

  // SandboxHost
  Status CreateNetns(const std::filesystem::path& path) override;
  Status DeleteNetns(const std::filesystem::path& path) override;
  Result<std::vector<std::string>> ListNetns(const std::filesystem::path& dir) override;
  Result<int> SocketIn(const std::filesystem::path& netns) override;
  Result<bool> InterfaceReady(const std::filesystem::path& netns, const std::string& name) override;
  Result<HttpResponse> HttpGet(const std::filesystem::path& netns, uint16_t port,
                               const std::string& path, std::chrono::milliseconds timeout) override;
  Result<std::vector<std::filesystem::path>> MountsUnder(const std::filesystem::path& dir) override;
  Status Unmount(const std::filesystem::path& target) override;
  Result<std::vector<LoopDevice>> LoopDevicesUnder(const std::filesystem::path& dir) override;
  Status DetachLoop(const std::string& device) override;
  Result<std::vector<HostProcess>> FindProcesses(std::string_view token) override;
  Status KillProcess(int pid) override;
  Status Chown(const std::filesystem::path& path, uint32_t uid, uint32_t gid) override;
  Status MakeFifo(const std::filesystem::path& path) override;
  bool FifoHasReader(const std::filesystem::path& path) override;
  std::vector<std::string> HostAddresses() override;

 private:
  Clock& clock_;
};

}  // namespace sbx::provider::local
