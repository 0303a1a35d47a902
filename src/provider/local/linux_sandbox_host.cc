#include "provider/local/linux_sandbox_host.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/loop.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "base/fd.h"
#include "provider/local/http_probe.h"

namespace sbx::provider::local {
namespace {

std::string Errno(int err) { return std::strerror(err); }

// Owns one file descriptor.
// Runs `body` on a new thread (so that namespace changes die with it) and
// returns what it returned.
Status OnOwnThread(const std::function<Status()>& body) {
  Status result = Internal("thread did not run");
  std::thread t([&] { result = body(); });
  t.join();
  return result;
}

// Runs `body` on a new thread that first joins the network namespace pinned
// at `netns`.
Status InNetns(const std::filesystem::path& netns, const std::function<Status()>& body) {
  Fd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
  if (ns.get() < 0) {
    if (errno == ENOENT) return NotFound("network namespace " + netns.string() + " does not exist");
    return Internal("open " + netns.string() + ": " + Errno(errno));
  }
  return OnOwnThread([&]() -> Status {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      return Internal("setns " + netns.string() + ": " + Errno(errno));
    }
    return body();
  });
}

Status WriteProcFile(const char* path, const std::string& text) {
  Fd fd(::open(path, O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return Internal(fmt::format("open {}: {}", path, Errno(errno)));
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return Internal(fmt::format("write {}: {}", path, Errno(errno)));
  }
  return OkStatus();
}

// Brings `lo` of the calling thread's network namespace up.
Status LoopbackUp() {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) return Internal("socket: " + Errno(errno));
  ifreq req{};
  std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &req) != 0) return Internal("SIOCGIFFLAGS lo: " + Errno(errno));
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &req) != 0) return Internal("SIOCSIFFLAGS lo: " + Errno(errno));
  return OkStatus();
}

// Makes `dir` a shared mount point, as `ip netns add` does for /run/netns, so
// that namespaces pinned in it are seen by every mount namespace.
Status MakeSharedMountDir(const std::filesystem::path& dir) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("mkdir " + dir.string() + ": " + ec.message());
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return OkStatus();
  if (errno != EINVAL) return Internal("mount --make-shared " + dir.string() + ": " + Errno(errno));
  // Not a mount point yet: bind it onto itself first.
  if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
    return Internal("mount --bind " + dir.string() + ": " + Errno(errno));
  }
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    return Internal("mount --make-shared " + dir.string() + ": " + Errno(errno));
  }
  return OkStatus();
}

// Undoes the octal escapes of /proc/self/mountinfo ("\040" is a space).
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string_view oct = s.substr(i + 1, 3);
      if (oct.size() == 3 && std::all_of(oct.begin(), oct.end(),
                                         [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool IsAtOrBelow(const std::filesystem::path& p, const std::filesystem::path& dir) {
  const std::string a = p.lexically_normal().string();
  std::string d = dir.lexically_normal().string();
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return a == d || a.starts_with(d + "/");
}

std::string ReadSmallFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Status LinuxSandboxHost::CreateNetns(const std::filesystem::path& path) {
  SBX_RETURN_IF_ERROR(MakeSharedMountDir(path.parent_path()));
  Fd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (file.get() < 0) {
    if (errno == EEXIST) return AlreadyExists("network namespace " + path.string() + " exists");
    return Internal("create " + path.string() + ": " + Errno(errno));
  }
  Status made = OnOwnThread([&]() -> Status {
    if (::unshare(CLONE_NEWNET) != 0) return Internal("unshare(CLONE_NEWNET): " + Errno(errno));
    SBX_RETURN_IF_ERROR(LoopbackUp());
    // The namespace is the sandbox's alone: let its unprivileged user serve on
    // any port its template names, 80 included.
    SBX_RETURN_IF_ERROR(WriteProcFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0"));
    if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
      return Internal("pin network namespace at " + path.string() + ": " + Errno(errno));
    }
    return OkStatus();
  });
  if (!made.ok()) {
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
  }
  return made;
}

Status LinuxSandboxHost::DeleteNetns(const std::filesystem::path& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return Internal("unmount " + path.string() + ": " + Errno(errno));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Internal("remove " + path.string() + ": " + Errno(errno));
  }
  return OkStatus();
}

Result<std::vector<std::string>> LinuxSandboxHost::ListNetns(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return names;
  if (ec) return Internal("list " + dir.string() + ": " + ec.message());
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    names.push_back(it->path().filename().string());
  }
  if (ec) return Internal("list " + dir.string() + ": " + ec.message());
  return names;
}

Result<int> LinuxSandboxHost::SocketIn(const std::filesystem::path& netns) {
  int fd = -1;
  SBX_RETURN_IF_ERROR(InNetns(netns, [&]() -> Status {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Internal("socket in " + netns.string() + ": " + Errno(errno));
    return OkStatus();
  }));
  return fd;
}

Result<bool> LinuxSandboxHost::InterfaceReady(const std::filesystem::path& netns,
                                              const std::string& name) {
  bool ready = false;
  SBX_RETURN_IF_ERROR(InNetns(netns, [&]() -> Status {
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (s.get() < 0) return Internal("socket: " + Errno(errno));
    ifreq req{};
    std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(s.get(), SIOCGIFFLAGS, &req) != 0) return OkStatus();  // not there yet
    if ((req.ifr_flags & IFF_UP) == 0) return OkStatus();
    ready = ::ioctl(s.get(), SIOCGIFADDR, &req) == 0;
    return OkStatus();
  }));
  return ready;
}

Result<HttpResponse> LinuxSandboxHost::HttpGet(const std::filesystem::path& netns, uint16_t port,
                                               const std::string& path,
                                               std::chrono::milliseconds timeout) {
  SBX_ASSIGN_OR_RETURN(int fd, SocketIn(netns));
  return HttpGetOn(clock_, fd, port, path, timeout);
}

Result<std::vector<std::filesystem::path>> LinuxSandboxHost::MountsUnder(
    const std::filesystem::path& dir) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return Internal("read /proc/self/mountinfo");
  std::vector<std::filesystem::path> out;
  std::string line;
  while (std::getline(in, line)) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": field 5.
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    std::filesystem::path p = Unescape(mount_point);
    if (IsAtOrBelow(p, dir)) out.push_back(std::move(p));
  }
  // Deepest first, so that unmounting in order never hides a mount.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.string().size() > b.string().size();
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status LinuxSandboxHost::Unmount(const std::filesystem::path& target) {
  if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT) {
    return Internal("unmount " + target.string() + ": " + Errno(errno));
  }
  return OkStatus();
}

Result<std::vector<LoopDevice>> LinuxSandboxHost::LoopDevicesUnder(
    const std::filesystem::path& dir) {
  std::vector<LoopDevice> out;
  std::error_code ec;
  std::filesystem::directory_iterator it("/sys/block", ec);
  if (ec) return out;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (!name.starts_with("loop")) continue;
    std::string backing = ReadSmallFile(it->path() / "loop" / "backing_file");
    while (!backing.empty() && backing.back() == '\n') backing.pop_back();
    // A deleted backing file reads "<path> (deleted)".
    constexpr std::string_view kDeleted = " (deleted)";
    if (backing.ends_with(kDeleted)) backing.resize(backing.size() - kDeleted.size());
    if (!backing.empty() && IsAtOrBelow(backing, dir)) {
      out.push_back(LoopDevice{.device = "/dev/" + name, .backing_file = backing});
    }
  }
  return out;
}

Status LinuxSandboxHost::DetachLoop(const std::string& device) {
  Fd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ENXIO) return OkStatus();
    return Internal("open " + device + ": " + Errno(errno));
  }
  if (::ioctl(fd.get(), LOOP_CLR_FD, 0) != 0 && errno != ENXIO) {
    return Internal("detach " + device + ": " + Errno(errno));
  }
  return OkStatus();
}

Result<std::vector<HostProcess>> LinuxSandboxHost::FindProcesses(std::string_view token) {
  std::vector<HostProcess> out;
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc", ec);
  if (ec) return Internal("list /proc: " + ec.message());
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const std::string cmdline = ReadSmallFile(it->path() / "cmdline");
    if (cmdline.find(token) == std::string::npos) continue;
    HostProcess p;
    p.pid = std::stoi(name);
    for (size_t start = 0; start < cmdline.size();) {
      size_t end = cmdline.find('\0', start);
      if (end == std::string::npos) end = cmdline.size();
      p.argv.push_back(cmdline.substr(start, end - start));
      start = end + 1;
    }
    std::error_code link_ec;
    p.exe_name = std::filesystem::read_symlink(it->path() / "exe", link_ec).filename().string();
    out.push_back(std::move(p));
  }
  return out;
}

Status LinuxSandboxHost::KillProcess(int pid) {
  if (pid <= 1) return InvalidArgument(fmt::format("refusing to kill pid {}", pid));
  // Through a pidfd: the signal cannot reach a process that reused the pid,
  // and the pidfd turns readable once the process has exited, so the caller
  // never sees a killed helper still listed (exit takes a while on a busy
  // host).
  // (Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C".)
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd.get() < 0) {
    if (errno == ESRCH) return OkStatus();
    return Internal(fmt::format("pidfd_open {}: {}", pid, Errno(errno)));
  }
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0 && errno != ESRCH) {
    return Internal(fmt::format("kill {}: {}", pid, Errno(errno)));
  }
  pollfd exited{.fd = pidfd.get(), .events = POLLIN, .revents = 0};
  constexpr int kExitWaitMs = 10'000;
  int ready = 0;
  do {
    ready = ::poll(&exited, 1, kExitWaitMs);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return Internal(fmt::format("wait for pid {}: {}", pid, Errno(errno)));
  if (ready == 0) return Unavailable(fmt::format("pid {} did not exit after SIGKILL", pid));
  return OkStatus();
}

Status LinuxSandboxHost::Chown(const std::filesystem::path& path, uint32_t uid, uint32_t gid) {
  if (::lchown(path.c_str(), uid, gid) != 0) {
    return Internal(fmt::format("chown {}:{} {}: {}", uid, gid, path.string(), Errno(errno)));
  }
  return OkStatus();
}

Status LinuxSandboxHost::MakeFifo(const std::filesystem::path& path) {
  if (::mkfifo(path.c_str(), 0600) != 0) {
    return Internal("mkfifo " + path.string() + ": " + Errno(errno));
  }
  return OkStatus();
}

bool LinuxSandboxHost::FifoHasReader(const std::filesystem::path& path) {
  // A non-blocking open for writing fails with ENXIO while nobody reads.
  Fd fd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  return fd.get() >= 0;
}

std::vector<std::string> LinuxSandboxHost::HostAddresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
      if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) != nullptr) out.push_back(text);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr);
      if (::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)) != nullptr) {
        out.push_back(text);
      }
    }
  }
  ::freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace sbx::provider::local
