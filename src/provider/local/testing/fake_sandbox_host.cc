#include "provider/local/testing/fake_sandbox_host.h"

#include <sys/socket.h>

#include <algorithm>
#include <fstream>

namespace sbx::provider::local {
namespace {

bool IsAtOrBelow(const std::filesystem::path& p, const std::filesystem::path& dir) {
  const std::string a = p.lexically_normal().string();
  const std::string d = dir.lexically_normal().string();
  return a == d || a.starts_with(d.ends_with("/") ? d : d + "/");
}

}  // namespace

void FakeSandboxHost::SetHttpHandler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

std::vector<FakeSandboxHost::Get> FakeSandboxHost::gets() const {
  std::lock_guard lock(mu_);
  return gets_;
}

std::set<std::filesystem::path> FakeSandboxHost::netns() const {
  std::lock_guard lock(mu_);
  return netns_;
}

std::set<std::filesystem::path> FakeSandboxHost::mounts() const {
  std::lock_guard lock(mu_);
  return mounts_;
}

void FakeSandboxHost::AddMount(const std::filesystem::path& target) {
  std::lock_guard lock(mu_);
  mounts_.insert(target);
}

void FakeSandboxHost::AddLoop(LoopDevice loop) {
  std::lock_guard lock(mu_);
  loops_.push_back(std::move(loop));
}

std::vector<LoopDevice> FakeSandboxHost::loops() const {
  std::lock_guard lock(mu_);
  return loops_;
}

void FakeSandboxHost::AddProcess(HostProcess p) {
  std::lock_guard lock(mu_);
  processes_.push_back(std::move(p));
}

std::vector<HostProcess> FakeSandboxHost::processes() const {
  std::lock_guard lock(mu_);
  return processes_;
}

std::vector<int> FakeSandboxHost::killed() const {
  std::lock_guard lock(mu_);
  return killed_;
}

std::vector<std::tuple<std::filesystem::path, uint32_t, uint32_t>> FakeSandboxHost::chowns()
    const {
  std::lock_guard lock(mu_);
  return chowns_;
}

void FakeSandboxHost::SetFifoReaders(bool present) {
  std::lock_guard lock(mu_);
  fifo_readers_ = present;
}

void FakeSandboxHost::SetHostAddresses(std::vector<std::string> addresses) {
  std::lock_guard lock(mu_);
  host_addresses_ = std::move(addresses);
}

void FakeSandboxHost::FailNextCreateNetns(Status error) {
  std::lock_guard lock(mu_);
  fail_next_netns_ = std::move(error);
}

Status FakeSandboxHost::CreateNetns(const std::filesystem::path& path) {
  std::lock_guard lock(mu_);
  if (fail_next_netns_.has_value()) {
    Status error = std::move(*fail_next_netns_);
    fail_next_netns_.reset();
    return error;
  }
  if (!netns_.insert(path).second) return AlreadyExists(path.string() + " exists");
  return OkStatus();
}

Status FakeSandboxHost::DeleteNetns(const std::filesystem::path& path) {
  std::lock_guard lock(mu_);
  netns_.erase(path);
  return OkStatus();
}

Result<std::vector<std::string>> FakeSandboxHost::ListNetns(const std::filesystem::path& dir) {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& p : netns_) {
    if (p.parent_path() == dir) out.push_back(p.filename().string());
  }
  return out;
}

Result<int> FakeSandboxHost::SocketIn(const std::filesystem::path& netns) {
  {
    std::lock_guard lock(mu_);
    if (!netns_.contains(netns)) return NotFound(netns.string() + " does not exist");
  }
  // A real (unconnected) socket of the test's own namespace.
  return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

Result<bool> FakeSandboxHost::InterfaceReady(const std::filesystem::path& netns,
                                             const std::string& /*name*/) {
  std::lock_guard lock(mu_);
  return netns_.contains(netns);
}

Result<HttpResponse> FakeSandboxHost::HttpGet(const std::filesystem::path& netns, uint16_t port,
                                              const std::string& path,
                                              std::chrono::milliseconds /*timeout*/) {
  Handler handler;
  {
    std::lock_guard lock(mu_);
    gets_.push_back(Get{.netns = netns, .port = port, .path = path});
    if (!netns_.contains(netns)) return NotFound(netns.string() + " does not exist");
    handler = handler_;
  }
  if (handler) return handler(netns, port, path);
  return HttpResponse{.status = 200, .body = "ok"};
}

Result<std::vector<std::filesystem::path>> FakeSandboxHost::MountsUnder(
    const std::filesystem::path& dir) {
  std::lock_guard lock(mu_);
  std::vector<std::filesystem::path> out;
  for (const auto& m : mounts_) {
    if (IsAtOrBelow(m, dir)) out.push_back(m);
  }
  return out;
}

Status FakeSandboxHost::Unmount(const std::filesystem::path& target) {
  std::lock_guard lock(mu_);
  mounts_.erase(target);
  return OkStatus();
}

Result<std::vector<LoopDevice>> FakeSandboxHost::LoopDevicesUnder(
    const std::filesystem::path& dir) {
  std::lock_guard lock(mu_);
  std::vector<LoopDevice> out;
  for (const auto& l : loops_) {
    if (IsAtOrBelow(l.backing_file, dir)) out.push_back(l);
  }
  return out;
}

Status FakeSandboxHost::DetachLoop(const std::string& device) {
  std::lock_guard lock(mu_);
  std::erase_if(loops_, [&](const LoopDevice& l) { return l.device == device; });
  return OkStatus();
}

Result<std::vector<HostProcess>> FakeSandboxHost::FindProcesses(std::string_view token) {
  std::lock_guard lock(mu_);
  std::vector<HostProcess> out;
  for (const auto& p : processes_) {
    if (std::any_of(p.argv.begin(), p.argv.end(),
                    [&](const std::string& a) { return a.find(token) != std::string::npos; })) {
      out.push_back(p);
    }
  }
  return out;
}

Status FakeSandboxHost::KillProcess(int pid) {
  std::lock_guard lock(mu_);
  killed_.push_back(pid);
  std::erase_if(processes_, [&](const HostProcess& p) { return p.pid == pid; });
  return OkStatus();
}

Status FakeSandboxHost::Chown(const std::filesystem::path& path, uint32_t uid, uint32_t gid) {
  std::lock_guard lock(mu_);
  chowns_.emplace_back(path, uid, gid);
  return OkStatus();
}

Status FakeSandboxHost::MakeFifo(const std::filesystem::path& path) {
  // A plain file stands in for the FIFO.
  std::ofstream out(path);
  if (!out) return Internal("cannot create " + path.string());
  return OkStatus();
}

bool FakeSandboxHost::FifoHasReader(const std::filesystem::path& /*path*/) {
  std::lock_guard lock(mu_);
  return fifo_readers_;
}

std::vector<std::string> FakeSandboxHost::HostAddresses() {
  std::lock_guard lock(mu_);
  return host_addresses_;
}

}  // namespace sbx::provider::local
