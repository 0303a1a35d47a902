#include "provider/local/sweep.h"

#include <algorithm>

#include "provider/local/local_provider.h"

namespace sbx::provider::local {

std::string SandboxNames::Token(const std::string& id) const { return TokenPrefix() + id; }

std::string SandboxNames::TokenPrefix() const { return "sbx-" + tag + "-"; }

std::filesystem::path SandboxNames::Netns(const std::string& id) const {
  return netns_dir / Token(id);
}

std::optional<std::string> SandboxNames::IdOfToken(std::string_view token) const {
  const std::string prefix = TokenPrefix();
  if (!token.starts_with(prefix)) return std::nullopt;
  std::string id(token.substr(prefix.size()));
  if (!IsValidSandboxId(id)) return std::nullopt;
  return id;
}

std::optional<std::string> SandboxNames::IdOfPath(const std::filesystem::path& path) const {
  const std::filesystem::path rel = path.lexically_normal().lexically_relative(sandboxes_dir);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  std::string id = rel.begin()->string();
  if (!IsValidSandboxId(id)) return std::nullopt;
  return id;
}

std::optional<std::string> SandboxNames::IdOfArgv(const std::vector<std::string>& argv) const {
  const std::string prefix = TokenPrefix();
  for (const auto& arg : argv) {
    // The token may be a whole argument or the last part of a path.
    const size_t at = arg.find(prefix);
    if (at == std::string::npos || (at > 0 && arg[at - 1] != '/')) continue;
    std::string_view rest = std::string_view(arg).substr(at);
    rest = rest.substr(0, rest.find('/'));
    if (auto id = IdOfToken(rest); id.has_value()) return id;
  }
  return std::nullopt;
}

std::vector<std::string> PlanSweep(const Leftovers& leftovers, const SandboxNames& names,
                                   const std::set<std::string>& in_flight) {
  std::set<std::string> live;
  std::set<std::string> found;
  for (const auto& c : leftovers.containers) {
    switch (c.status) {
      case RuncStatus::kRunning:
      case RuncStatus::kPaused:
      case RuncStatus::kCreating:
        live.insert(c.id);
        break;
      case RuncStatus::kCreated:
      case RuncStatus::kStopped:
        // Never started (its Create died between runc's create and start), or
        // its process exited: either way it will never serve again.
        found.insert(c.id);
        break;
    }
  }
  for (const auto& b : leftovers.bundles) {
    if (IsValidSandboxId(b)) found.insert(b);
  }
  for (const auto& n : leftovers.netns) {
    if (auto id = names.IdOfToken(n)) found.insert(*id);
  }
  for (const auto& m : leftovers.mounts) {
    if (auto id = names.IdOfPath(m)) found.insert(*id);
  }
  for (const auto& l : leftovers.loops) {
    if (auto id = names.IdOfPath(l.backing_file)) found.insert(*id);
  }
  for (const auto& p : leftovers.processes) {
    if (auto id = names.IdOfArgv(p.argv)) found.insert(*id);
  }
  for (const auto& t : leftovers.uid_claims) {
    if (auto id = names.IdOfToken(t)) found.insert(*id);
  }
  std::vector<std::string> out;
  for (const auto& id : found) {
    if (!live.contains(id) && !in_flight.contains(id)) out.push_back(id);
  }
  return out;
}

}  // namespace sbx::provider::local
