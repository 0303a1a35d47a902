#include "app/startup.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace sbx::app {
namespace fs = std::filesystem;

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

uint64_t RandomSeed() {
  uint64_t seed = 0;
  std::ifstream in("/dev/urandom", std::ios::binary);
  in.read(reinterpret_cast<char*>(&seed), sizeof(seed));
  return seed ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
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

fs::path FirstExisting(const std::vector<fs::path>& candidates) {
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) return c;
  }
  return candidates.front();
}

}  // namespace sbx::app
