#include "app/startup.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace sbx::app {
namespace fs = std::filesystem;

std::string StoreUrl(const std::filesystem::path& data_dir, const std::string& store) {
  return store.empty() ? "sqlite://" + (data_dir / "sandboxd.db").string() : store;
}

Status UnknownStoreUrl(const std::string& url) {
  return InvalidArgument(
      fmt::format("--store {}: use sqlite://<path> or postgres://<user>@<host>/<db>", url));
}

Status SetUpLogging(const std::string& name, const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    return InvalidArgument(
        fmt::format("--log-level \"{}\": use debug, info, warn or error", level));
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt(name));
  spdlog::set_level(parsed);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  return OkStatus();
}

uint64_t RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

size_t ConnectionBudget(size_t wanted, uint64_t file_limit) {
  // Database connections, runc children's pipes, log files, the listener…
  constexpr uint64_t kReserved = 256;
  const uint64_t budget = file_limit > 2 * kReserved ? file_limit - kReserved : file_limit / 2;
  return static_cast<size_t>(std::min<uint64_t>(wanted, budget));
}

Result<DataDirLock> DataDirLock::Acquire(const fs::path& data_dir) {
  const fs::path path = data_dir / "lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable(fmt::format("open {}: {}", path.string(), std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    (void)::pread(fd, pid, sizeof(pid) - 1, 0);
    ::close(fd);
    std::string holder(pid);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return FailedPrecondition(fmt::format(
        "data dir {} is in use by another sandboxd (pid {}); stop it or use another --data-dir",
        data_dir.string(), holder.empty() ? "unknown" : holder));
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)::pwrite(fd, me.data(), me.size(), 0);
  return DataDirLock(fd);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

std::string RandomHex(size_t bytes) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string raw(bytes, '\0');
  if (!in.read(raw.data(), static_cast<std::streamsize>(bytes))) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : raw) {
    out += kHex[ch >> 4];
    out += kHex[ch & 15];
  }
  return out;
}

Result<std::string> LoadOrCreateSecret(const fs::path& path, const std::string& prefix) {
  if (std::ifstream in(path); in) {
    std::string secret;
    std::getline(in, secret);
    if (!secret.empty()) return secret;
  }
  const std::string hex = RandomHex(20);
  if (hex.empty()) return Unavailable("cannot read /dev/urandom for " + path.string());
  const std::string secret = prefix + hex;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable(fmt::format("cannot write {}", path.string()));
  const std::string line = secret + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) return Unavailable(fmt::format("cannot write {}", path.string()));
  return secret;
}

Result<std::pair<uint16_t, uint16_t>> ParsePortRange(const std::string& s) {
  const auto dash = s.find('-');
  int a = 0, b = 0;
  auto bad = InvalidArgument(fmt::format("--port-range \"{}\" must look like 40000-40999", s));
  if (dash == std::string::npos) return bad;
  auto r1 = std::from_chars(s.data(), s.data() + dash, a);
  auto r2 = std::from_chars(s.data() + dash + 1, s.data() + s.size(), b);
  if (r1.ec != std::errc() || r1.ptr != s.data() + dash || r2.ec != std::errc() ||
      r2.ptr != s.data() + s.size() || a < 1 || b > 65535 || a > b) {
    return bad;
  }
  return std::make_pair(static_cast<uint16_t>(a), static_cast<uint16_t>(b));
}

Result<UidRangeSetting> ParseUidRange(const std::string& s) {
  constexpr uint64_t kSlice = 65536;
  const auto dash = s.find('-');
  uint64_t a = 0, b = 0;
  auto bad = InvalidArgument(fmt::format(
      "--sandbox-uid-range \"{}\" must look like 1879048192-2147483647: host ids from 65536 "
      "up, at least 65536 of them",
      s));
  if (dash == std::string::npos) return bad;
  auto r1 = std::from_chars(s.data(), s.data() + dash, a);
  auto r2 = std::from_chars(s.data() + dash + 1, s.data() + s.size(), b);
  if (r1.ec != std::errc() || r1.ptr != s.data() + dash || r2.ec != std::errc() ||
      r2.ptr != s.data() + s.size() || a < kSlice || b >= 0xFFFF'FFFFull || a > b ||
      b - a + 1 < kSlice) {
    return bad;
  }
  return UidRangeSetting{.first = static_cast<uint32_t>(a), .count = static_cast<uint32_t>(b - a + 1)};
}

provider::local::LocalProviderOptions LocalRuntimeOptions(const fs::path& data_dir,
                                                          const std::string& templates_dir,
                                                          const fs::path& exe_dir,
                                                          const UidRangeSetting& uids) {
  provider::local::LocalProviderOptions o;
  o.runc_root = data_dir / "runc";
  o.sandboxes_dir = data_dir / "sandboxes";
  o.templates_dir = templates_dir.empty()
                        ? FirstExisting({exe_dir.parent_path() / "templates", "templates"})
                        : fs::path(templates_dir);
  o.binary_dir = exe_dir;
  o.uid_range_first = uids.first;
  o.uid_range_count = uids.count;
  return o;
}

fs::path FirstExisting(const std::vector<fs::path>& candidates) {
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) return c;
  }
  return candidates.front();
}

}  // namespace sbx::app
