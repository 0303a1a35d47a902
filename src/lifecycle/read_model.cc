#include "lifecycle/read_model.h"

#include <mutex>

namespace sbx::lifecycle {

std::optional<core::Sandbox> ReadModel::Get(const std::string& project_id) const {
  std::shared_lock lock(mu_);
  auto it = by_project_.find(project_id);
  if (it == by_project_.end()) return std::nullopt;
  return it->second;
}

int64_t ReadModel::Version(const std::string& project_id) const {
  std::shared_lock lock(mu_);
  auto it = by_project_.find(project_id);
  return it == by_project_.end() ? 0 : it->second.version;
}

bool ReadModel::Unchanged(const std::string& project_id, int64_t version,
                          SystemTime updated_at) const {
  std::shared_lock lock(mu_);
  auto it = by_project_.find(project_id);
  return it != by_project_.end() && it->second.version == version &&
         it->second.updated_at == updated_at;
}

std::optional<std::string> ReadModel::ProjectOfSandbox(const std::string& sandbox_id) const {
  std::shared_lock lock(mu_);
  auto it = project_by_sandbox_.find(sandbox_id);
  if (it == project_by_sandbox_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> ReadModel::ProjectOfRetired(const std::string& sandbox_id) const {
  std::shared_lock lock(mu_);
  const std::string* project = retired_.Find(sandbox_id);
  if (project == nullptr) return std::nullopt;
  return *project;
}

void ReadModel::RetireLocked(const std::string& sandbox_id, const std::string& project_id) {
  if (sandbox_id.empty()) return;
  project_by_sandbox_.erase(sandbox_id);
  retired_.Put(sandbox_id, project_id);
}

bool OnTimer(const core::Sandbox& s) {
  auto at = core::PauseAt(s);
  if (!at) return false;
  return !(s.last_error && s.last_error->code == "pause_failed" && s.last_error->at >= *at);
}

bool ReadModel::Put(const core::Sandbox& s) {
  std::unique_lock lock(mu_);
  auto it = by_project_.find(s.project_id);
  if (it != by_project_.end()) {
    if (it->second.version >= s.version) return false;
    if (it->second.sandbox_id != s.sandbox_id) RetireLocked(it->second.sandbox_id, s.project_id);
    if (OnTimer(it->second)) timer_index_.erase({*core::PauseAt(it->second), s.project_id});
    it->second = s;
  } else {
    by_project_.emplace(s.project_id, s);
  }
  if (!s.sandbox_id.empty()) project_by_sandbox_[s.sandbox_id] = s.project_id;
  if (OnTimer(s)) timer_index_.insert({*core::PauseAt(s), s.project_id});
  return true;
}

bool ReadModel::Remove(const std::string& project_id, int64_t version) {
  std::unique_lock lock(mu_);
  auto it = by_project_.find(project_id);
  if (it == by_project_.end() || it->second.version >= version) return false;
  RetireLocked(it->second.sandbox_id, project_id);
  if (OnTimer(it->second)) timer_index_.erase({*core::PauseAt(it->second), project_id});
  by_project_.erase(it);
  return true;
}

std::optional<SystemTime> ReadModel::EarliestTimerDeadline() const {
  std::shared_lock lock(mu_);
  if (timer_index_.empty()) return std::nullopt;
  return timer_index_.begin()->first;
}

std::vector<std::string> ReadModel::TimerDue(SystemTime now) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [at, project] : timer_index_) {
    if (at > now) break;
    out.push_back(project);
  }
  return out;
}

void ReadModel::Reset(const std::vector<core::Sandbox>& all) {
  std::unique_lock lock(mu_);
  by_project_.clear();
  project_by_sandbox_.clear();
  timer_index_.clear();
  for (const auto& s : all) {
    by_project_[s.project_id] = s;
    if (!s.sandbox_id.empty()) project_by_sandbox_[s.sandbox_id] = s.project_id;
    if (OnTimer(s)) timer_index_.insert({*core::PauseAt(s), s.project_id});
  }
}

std::vector<core::Sandbox> ReadModel::List(std::optional<core::SandboxStatus> status,
                                           const std::string& after_project_id,
                                           size_t limit) const {
  std::shared_lock lock(mu_);
  std::vector<core::Sandbox> out;
  for (auto it = by_project_.upper_bound(after_project_id);
       it != by_project_.end() && out.size() < limit; ++it) {
    if (!status || it->second.status == *status) out.push_back(it->second);
  }
  return out;
}

std::vector<core::Sandbox> ReadModel::All() const {
  std::shared_lock lock(mu_);
  std::vector<core::Sandbox> out;
  out.reserve(by_project_.size());
  for (const auto& [k, v] : by_project_) out.push_back(v);
  return out;
}

std::map<core::SandboxStatus, int64_t> ReadModel::CountByStatus() const {
  std::shared_lock lock(mu_);
  std::map<core::SandboxStatus, int64_t> out;
  for (const auto& [k, v] : by_project_) ++out[v.status];
  return out;
}

std::map<core::SandboxStatus, SystemTime> ReadModel::OldestUpdateByStatus() const {
  std::shared_lock lock(mu_);
  std::map<core::SandboxStatus, SystemTime> out;
  for (const auto& [k, v] : by_project_) {
    auto [it, added] = out.try_emplace(v.status, v.updated_at);
    if (!added && v.updated_at < it->second) it->second = v.updated_at;
  }
  return out;
}

int64_t ReadModel::CountHolds(SystemTime now) const {
  std::shared_lock lock(mu_);
  int64_t n = 0;
  for (const auto& [k, v] : by_project_) {
    for (const auto& [name, expires] : v.holds) n += expires > now ? 1 : 0;
  }
  return n;
}

std::map<std::string, core::SandboxStatus> ReadModel::Statuses() const {
  std::shared_lock lock(mu_);
  std::map<std::string, core::SandboxStatus> out;
  for (const auto& [k, v] : by_project_) out.emplace_hint(out.end(), k, v.status);
  return out;
}

}  // namespace sbx::lifecycle
