// Logging: spdlog with one process-wide default logger configured by app/.
// Use SBX_LOG_INFO("sandbox {} paused", id). Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

#define SBX_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define SBX_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define SBX_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define SBX_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)

namespace sbx {

// At most one line per `every`, for what any client can cause at will (a
// delivery with a wrong signature): logged once per request, it would flood
// the log. The caller says how many lines it held back. Thread-safe.
class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::steady_clock::duration every) : every_(every) {}
  // Whether to write the line at `now`: nullopt to hold it back, else how
  // many were held back since the last one written.
  std::optional<int64_t> Allow(std::chrono::steady_clock::time_point now) {
    std::lock_guard lock(mu_);
    if (written_ && now - last_ < every_) {
      ++held_;
      return std::nullopt;
    }
    written_ = true;
    last_ = now;
    return std::exchange(held_, 0);
  }

 private:
  const std::chrono::steady_clock::duration every_;
  std::mutex mu_;
  bool written_ = false;                        // guarded by mu_
  std::chrono::steady_clock::time_point last_;  // guarded by mu_
  int64_t held_ = 0;                            // guarded by mu_
};

}  // namespace sbx
