// FakeSandboxHost: a SandboxHost for unit tests. Keeps network namespaces,
// mounts, loop devices, processes and FIFO readers as plain sets the test can
// inspect and seed; HTTP GETs answer 200 "ok" unless a handler says otherwise;
// interfaces are ready at once. Records every probe. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "provider/local/sandbox_host.h"

namespace sbx::provider::local {

class FakeSandboxHost final : public SandboxHost {
 public:
  using Handler = std::function<Result<HttpResponse>(const std::filesystem::path& netns,
                                                     uint16_t port, const std::string& path)>;

  void SetHttpHandler(Handler handler);
  // (netns, port, path) of every HttpGet so far.
  struct Get {
    std::filesystem::path netns;
    uint16_t port = 0;
    std::string path;
  };
  std::vector<Get> gets() const;

  std::set<std::filesystem::path> netns() const;
  std::set<std::filesystem::path> mounts() const;
  void AddMount(const std::filesystem::path& target);
  void AddLoop(LoopDevice loop);
  std::vector<LoopDevice> loops() const;
  void AddProcess(HostProcess p);
  std::vector<HostProcess> processes() const;
  std::vector<int> killed() const;
  // (path, uid, gid) of every Chown.
  std::vector<std::tuple<std::filesystem::path, uint32_t, uint32_t>> chowns() const;
  // When false, FIFOs never get a reader (the logger "fails to start").
  void SetFifoReaders(bool present);
  void SetHostAddresses(std::vector<std::string> addresses);
  // The next CreateNetns fails with `error`.
  void FailNextCreateNetns(Status error);

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
  mutable std::mutex mu_;
  Handler handler_;
  std::vector<Get> gets_;
  std::set<std::filesystem::path> netns_;
  std::set<std::filesystem::path> mounts_;
  std::vector<LoopDevice> loops_;
  std::vector<HostProcess> processes_;
  std::vector<int> killed_;
  std::vector<std::tuple<std::filesystem::path, uint32_t, uint32_t>> chowns_;
  bool fifo_readers_ = true;
  std::vector<std::string> host_addresses_ = {"127.0.0.1", "::1"};
  std::optional<Status> fail_next_netns_;
};

}  // namespace sbx::provider::local
