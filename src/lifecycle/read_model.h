// ReadModel: the in-memory copy of every sandbox record, which answers status
// reads without I/O (invariant 1). Lifecycle::Apply updates it after each
// commit; it never goes backwards (an older version is ignored). Thread-safe;
// never blocks on I/O.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/bounded_map.h"
#include "core/sandbox.h"

namespace sbx::lifecycle {

class ReadModel {
 public:
  std::optional<core::Sandbox> Get(const std::string& project_id) const;
  // The stored version of the project's record, or 0 if none: lets readers
  // reuse what they derived from an unchanged record without copying it.
  int64_t Version(const std::string& project_id) const;
  // True when the project's record is still the one `held` was copied from:
  // the same version and the same updatedAt (a project forgotten and made
  // again starts its versions over, so the version alone can repeat).
  bool Unchanged(const std::string& project_id, int64_t version, SystemTime updated_at) const;
  // The project whose current sandbox has this provider id.
  std::optional<std::string> ProjectOfSandbox(const std::string& sandbox_id) const;
  // The project that had this sandbox before another one replaced it (or
  // before it was forgotten), for the newest kRetiredKept such sandboxes
  // seen since start: its preview URL says "gone", not "no such sandbox".
  std::optional<std::string> ProjectOfRetired(const std::string& sandbox_id) const;
  static constexpr size_t kRetiredKept = 10'000;
  // Stores `s` unless a newer version is already held. Returns true if stored.
  bool Put(const core::Sandbox& s);
  // Drops the project's record if the held version is below `version`
  // (forgotten, ForgetSandbox). Returns true if dropped.
  bool Remove(const std::string& project_id, int64_t version);
  // Replaces everything (start-up load, resync after a lost notification).
  void Reset(const std::vector<core::Sandbox>& all);
  // Sorted by project id, after `after_project_id`, optionally one status.
  std::vector<core::Sandbox> List(std::optional<core::SandboxStatus> status,
                                  const std::string& after_project_id, size_t limit) const;
  std::vector<core::Sandbox> All() const;
  std::map<core::SandboxStatus, int64_t> CountByStatus() const;
  // Per status, the oldest updatedAt of its records (statuses with none are
  // absent): how long the longest STARTING or PAUSING has been so.
  std::map<core::SandboxStatus, SystemTime> OldestUpdateByStatus() const;
  // Busy holds unexpired at `now`, over every record.
  int64_t CountHolds(SystemTime now) const;
  // Every record's status, by project.
  std::map<std::string, core::SandboxStatus> Statuses() const;

  // The enforcer's timer index, kept in pauseAt order: RUNNING sandboxes,
  // except those whose last pause failed after their deadline (the sweep
  // retries those, so the timer does not spin on them).
  std::optional<SystemTime> EarliestTimerDeadline() const;
  // Projects in the timer index whose pauseAt <= now, earliest first.
  std::vector<std::string> TimerDue(SystemTime now) const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, core::Sandbox> by_project_;
  std::unordered_map<std::string, std::string> project_by_sandbox_;
  BoundedMap<std::string, std::string> retired_{kRetiredKept};  // sandbox id -> its project
  void RetireLocked(const std::string& sandbox_id, const std::string& project_id);
  std::set<std::pair<SystemTime, std::string>> timer_index_;
};

// Whether the enforcer's timer should act on `s` (see EarliestTimerDeadline).
bool OnTimer(const core::Sandbox& s);

}  // namespace sbx::lifecycle
