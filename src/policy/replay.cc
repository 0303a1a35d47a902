#include "policy/replay.h"

#include <algorithm>
#include <set>

namespace sbx::policy {
namespace {

using Kind = Moment::Kind;

double Minutes(SystemTime::duration d) {
  return static_cast<double>(std::chrono::duration_cast<Millis>(d).count()) / 60'000.0;
}

// One idle episode: the user left at `left` and came back at `end` (or did
// not: `returned` false, the episode just stops there).
struct Episode {
  std::string project;
  SystemTime left{};
  SystemTime end{};
  bool returned = false;
};

// What `policy` does over one episode, into `t`.
void Play(Policy& policy, const Episode& e, const ReplayOptions& options, ReplayTally& t) {
  ++t.episodes;
  const Millis timeout = policy.IdleTimeout(e.project);
  if (e.end <= e.left + timeout) {  // still up when the user came back (or at the end)
    t.idle_minutes += Minutes(e.end - e.left);
    return;
  }
  const SystemTime paused = e.left + timeout;
  ++t.idle_pauses;
  t.idle_minutes += Minutes(timeout);
  policy.OnIdlePause(e.project, paused);
  // A pre-wake runs it from `at` until the user comes (a hit) or its grace
  // ends (a miss): awake, idle, not saved.
  SystemTime::duration woken{};
  bool waited = e.returned;
  if (policy.PreWakeGrace() > Millis::zero()) {
    for (SystemTime at = paused + options.pre_wake_step; at < e.end;
         at += options.pre_wake_step) {
      if (!policy.PreWake(e.project, at, paused)) continue;
      ++t.pre_wakes;
      const SystemTime grace_end = at + policy.PreWakeGrace();
      const bool hit = e.returned && e.end <= grace_end;
      ++(hit ? t.pre_wake_hits : t.pre_wake_misses);
      woken = std::min(grace_end, e.end) - at;
      waited = !hit && e.returned;
      break;
    }
  }
  t.idle_minutes += Minutes(woken);
  t.saved_minutes += Minutes(e.end - paused - woken);
  if (waited) {
    ++t.resume_waits;
    if (e.end - paused <= options.regret_window) ++t.regret_wakes;
  }
  if (e.returned) policy.OnReturn(e.project, e.end, paused);
  t.timeout_changes += static_cast<int64_t>(policy.TakeChanges().size());
}

}  // namespace

void Teacher::Feed(const Moment& m, std::span<Policy* const> policies) {
  switch (m.kind) {
    case Kind::kIdlePause:
      paused_at_[m.project] = m.at;
      for (Policy* p : policies) p->OnIdlePause(m.project, m.at);
      break;
    case Kind::kPause:
      paused_at_[m.project] = m.at;
      break;
    case Kind::kReturn: {
      auto it = paused_at_.find(m.project);
      if (it == paused_at_.end()) break;
      const SystemTime paused_at = it->second;
      paused_at_.erase(it);
      for (Policy* p : policies) p->OnReturn(m.project, m.at, paused_at);
      break;
    }
    case Kind::kPreWake:
    case Kind::kEnd:
      paused_at_.erase(m.project);
      break;
  }
}

std::optional<SystemTime> Teacher::PausedAt(const std::string& project) const {
  auto it = paused_at_.find(project);
  if (it == paused_at_.end()) return std::nullopt;
  return it->second;
}

ReplayTally Replay(Policy& policy, std::span<const Moment> moments,
                   const ReplayOptions& options) {
  ReplayTally t;
  t.policy = std::string(policy.name());
  std::map<std::string, Episode> open;  // by project: since its idle pause
  std::set<std::string> seen;            // projects whose timeout was adopted
  auto close = [&](const std::string& project, SystemTime at, bool returned) {
    auto it = open.find(project);
    if (it == open.end()) return;
    Episode e = std::move(it->second);
    open.erase(it);
    e.end = std::max(at, e.left);
    e.returned = returned;
    Play(policy, e, options, t);
  };
  for (const Moment& m : moments) {
    switch (m.kind) {
      case Kind::kIdlePause:
        close(m.project, m.at, false);
        if (seen.insert(m.project).second && m.timeout > Millis::zero()) {
          policy.Adopt(m.project, m.timeout);
        }
        open[m.project] = {.project = m.project, .left = std::min(m.last_activity, m.at)};
        break;
      case Kind::kReturn:
        close(m.project, m.at, true);
        break;
      case Kind::kPause:
      case Kind::kPreWake:
      case Kind::kEnd:
        close(m.project, m.at, false);
        break;
    }
  }
  while (!open.empty()) {
    const std::string project = open.begin()->first;
    close(project, options.until, false);
  }
  return t;
}

}  // namespace sbx::policy
