#include "provider/local/uid_slices.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

namespace sbx::provider::local {
namespace {

constexpr uint32_t kMinSliceSize = 65536;

std::optional<uint32_t> ParseIndex(const std::string& name) {
  if (name.empty() || name.size() > 9) return std::nullopt;
  uint32_t n = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

}  // namespace

Status CheckUidRange(const UidRange& range) {
  if (range.slice_size < kMinSliceSize) {
    return InvalidArgument(
        fmt::format("uid range: slices of {} ids; need at least {}", range.slice_size,
                    kMinSliceSize));
  }
  if (range.first < kMinSliceSize) {
    return InvalidArgument(fmt::format("uid range: starts at {}, inside the host's own ids (< {})",
                                       range.first, kMinSliceSize));
  }
  if (range.slices() == 0) {
    return InvalidArgument(fmt::format("uid range: {} ids hold no slice of {}", range.count,
                                       range.slice_size));
  }
  if (uint64_t{range.first} + range.count > std::numeric_limits<uint32_t>::max()) {
    return InvalidArgument(fmt::format("uid range: {}+{} ends past the last valid id", range.first,
                                       range.count));
  }
  return OkStatus();
}

UidSlices::UidSlices(std::filesystem::path dir, UidRange range)
    : dir_(std::move(dir)), range_(range) {}

Result<IdMapping> UidSlices::Claim(const std::string& token) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Internal("uid slices: mkdir " + dir_.string() + ": " + ec.message());
  const uint32_t slices = range_.slices();
  std::lock_guard lock(mu_);
  for (uint32_t i = 0; i < slices; ++i) {
    const uint32_t slice = (next_ + i) % slices;
    const std::filesystem::path file = dir_ / std::to_string(slice);
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return Internal(fmt::format("uid slices: create {}: {}", file.string(), std::strerror(errno)));
    }
    const bool written = ::write(fd, token.data(), token.size()) == static_cast<ssize_t>(token.size());
    ::close(fd);
    if (!written) {
      ::unlink(file.c_str());
      return Internal("uid slices: write " + file.string());
    }
    // Round robin: a slice just freed is not reused at once.
    next_ = (slice + 1) % slices;
    return IdMapping{.host_id = range_.first + slice * range_.slice_size,
                     .size = range_.slice_size};
  }
  return Unavailable(fmt::format("uid slices: all {} slices of {}+{} are taken", slices,
                                 range_.first, range_.count));
}

Status UidSlices::Release(const std::string& token) {
  SBX_ASSIGN_OR_RETURN(auto claims, Claims());
  for (const auto& [slice, holder] : claims) {
    if (holder != token) continue;
    std::error_code ec;
    std::filesystem::remove(dir_ / std::to_string(slice), ec);
    if (ec) return Internal("uid slices: remove claim " + std::to_string(slice) + ": " + ec.message());
  }
  return OkStatus();
}

Result<std::vector<std::pair<uint32_t, std::string>>> UidSlices::Claims() {
  std::vector<std::pair<uint32_t, std::string>> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  if (ec == std::errc::no_such_file_or_directory) return out;
  if (ec) return Internal("uid slices: list " + dir_.string() + ": " + ec.message());
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    auto slice = ParseIndex(it->path().filename().string());
    if (!slice.has_value()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    out.emplace_back(*slice, text.str());
  }
  if (ec) return Internal("uid slices: list " + dir_.string() + ": " + ec.message());
  return out;
}

}  // namespace sbx::provider::local
