#include "core/sandbox.h"

#include <algorithm>

#include <fmt/format.h>

namespace sbx::core {

std::string_view StatusName(SandboxStatus s) {
  switch (s) {
    case SandboxStatus::kStarting: return "STARTING";
    case SandboxStatus::kRunning: return "RUNNING";
    case SandboxStatus::kPausing: return "PAUSING";
    case SandboxStatus::kPaused: return "PAUSED";
    case SandboxStatus::kKilled: return "KILLED";
  }
  return "KILLED";
}

Result<SandboxStatus> ParseStatus(std::string_view name) {
  for (auto s : {SandboxStatus::kStarting, SandboxStatus::kRunning, SandboxStatus::kPausing,
                 SandboxStatus::kPaused, SandboxStatus::kKilled}) {
    if (StatusName(s) == name) return s;
  }
  return InvalidArgument(fmt::format(
      "unknown status \"{}\" (want STARTING, RUNNING, PAUSING, PAUSED or KILLED)", name));
}

std::optional<SystemTime> PauseAt(const Sandbox& s) {
  if (s.status != SandboxStatus::kRunning) return std::nullopt;
  SystemTime at = s.last_activity_at + std::chrono::seconds(s.idle_timeout_s);
  for (const auto& [name, expires_at] : s.holds) at = std::max(at, expires_at);
  return at;
}

bool IsIdleDue(const Sandbox& s, SystemTime now) {
  auto at = PauseAt(s);
  return at.has_value() && now >= *at;
}

}  // namespace sbx::core
