#include "lifecycle/policy_report.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <boost/json.hpp>

namespace sbx::lifecycle {
namespace {

using S = core::SandboxStatus;

double Minutes(SystemTime::duration d) {
  return static_cast<double>(std::chrono::duration_cast<Millis>(d).count()) / 60'000.0;
}

bool Running(std::optional<S> s) { return s == S::kStarting || s == S::kRunning; }

// The value below which `share` of `sorted` lies (nearest rank).
std::optional<int64_t> Percentile(const std::vector<int64_t>& sorted, double share) {
  if (sorted.empty()) return std::nullopt;
  const auto rank = static_cast<size_t>(share * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

}  // namespace

PolicyReport ReportPolicy(SystemTime from, SystemTime now, const OverviewInputs& in,
                          Millis regret_window, size_t top) {
  PolicyReport r;
  r.from = from;
  r.to = now;
  r.covered_from = CoveredFrom(from, in);
  r.truncated = in.truncated;
  r.regret_window = regret_window;
  const std::vector<store::HistoryRow>& rows = in.transitions;
  const std::vector<std::optional<S>> prev = StatusesBeforeEach(rows, in.before);
  struct State {
    PolicyTally tally;
    std::optional<SystemTime> idle_pause;  // the open idle pause's time
    std::optional<SystemTime> waking;      // the open resume's start
  };
  std::map<std::string, State> projects;
  std::vector<int64_t> waits_ms;
  auto end_pause = [&](State& s, SystemTime at) {
    if (!s.idle_pause) return;
    s.tally.saved_minutes += Minutes(at - *s.idle_pause);
    s.idle_pause.reset();
  };
  for (size_t i = rows.size(); i-- > 0;) {  // oldest first
    const store::HistoryRow& row = rows[i];
    const SystemTime at = row.recorded_at;
    const std::optional<S> before = prev[i];
    if (!row.status) continue;
    const Result<S> after = core::ParseStatus(*row.status);
    if (!after.ok()) continue;
    State& s = projects[row.project_id];
    if (*after == S::kPaused && before != S::kPaused) ++s.tally.pauses;
    if (row.source == "enforcer" && *after == S::kPausing && before == S::kRunning) {
      ++s.tally.idle_pauses;
      s.idle_pause = at;
    }
    if (Running(*after) && (before == S::kPausing || before == S::kPaused)) {
      ++s.tally.wakes;
      if (s.idle_pause && at - *s.idle_pause <= regret_window) ++s.tally.regret_wakes;
      end_pause(s, at);
      if (*after == S::kStarting) {
        ++s.tally.resume_waits;
        s.waking = at;
      }
    }
    if (*after == S::kRunning && before == S::kStarting && s.waking) {
      waits_ms.push_back(std::chrono::duration_cast<Millis>(at - *s.waking).count());
      s.waking.reset();
    }
    if (*after == S::kKilled) {
      end_pause(s, at);
      s.waking.reset();
    }
  }
  for (auto& [project, s] : projects) {
    end_pause(s, now);
    const PolicyTally& t = s.tally;
    if (t.idle_pauses == 0 && t.wakes == 0) continue;
    ++r.project_count;
    r.totals.pauses += t.pauses;
    r.totals.idle_pauses += t.idle_pauses;
    r.totals.wakes += t.wakes;
    r.totals.regret_wakes += t.regret_wakes;
    r.totals.resume_waits += t.resume_waits;
    r.totals.saved_minutes += t.saved_minutes;
    r.projects.push_back({project, t});
  }
  std::sort(r.projects.begin(), r.projects.end(),
            [](const ProjectPolicyTally& a, const ProjectPolicyTally& b) {
              return std::tie(b.tally.regret_wakes, b.tally.resume_waits, a.project_id) <
                     std::tie(a.tally.regret_wakes, a.tally.resume_waits, b.project_id);
            });
  if (r.projects.size() > top) r.projects.resize(top);
  std::sort(waits_ms.begin(), waits_ms.end());
  r.resume_wait_median_ms = Percentile(waits_ms, 0.5);
  r.resume_wait_p95_ms = Percentile(waits_ms, 0.95);
  return r;
}

namespace {

// What the decision saw of the record (apply.cc WithRecord), if stored: its
// lastActivityAt and idle timeout.
struct RecordSeen {
  std::optional<SystemTime> last_activity;
  Millis timeout{};
};
RecordSeen Seen(const std::string& inputs) {
  RecordSeen out;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(inputs, ec);
  if (ec || !v.is_object()) return out;
  const auto* record = v.get_object().if_contains("record");
  if (!record || !record->is_object()) return out;
  const boost::json::object& r = record->get_object();
  if (const auto* at = r.if_contains("lastActivityAt"); at && at->is_string()) {
    if (auto parsed = ParseRfc3339(at->get_string()); parsed.ok()) out.last_activity = *parsed;
  }
  if (const auto* t = r.if_contains("idleTimeoutSeconds"); t && t->is_int64()) {
    out.timeout = std::chrono::seconds(t->get_int64());
  }
  return out;
}

}  // namespace

std::vector<policy::Moment> MomentsFrom(const OverviewInputs& in) {
  using Kind = policy::Moment::Kind;
  const std::vector<store::HistoryRow>& rows = in.transitions;
  const std::vector<std::optional<S>> prev = StatusesBeforeEach(rows, in.before);
  std::vector<policy::Moment> out;
  for (size_t i = rows.size(); i-- > 0;) {  // oldest first
    const store::HistoryRow& row = rows[i];
    if (!row.status) continue;
    const Result<S> after = core::ParseStatus(*row.status);
    if (!after.ok()) continue;
    const std::optional<S> before = prev[i];
    policy::Moment m{.project = row.project_id, .at = row.recorded_at, .seq = row.seq};
    if (before == S::kRunning && (*after == S::kPausing || *after == S::kPaused)) {
      if (row.source == "enforcer" && *after == S::kPausing) {
        m.kind = Kind::kIdlePause;
        const RecordSeen seen = Seen(row.inputs);
        m.last_activity = seen.last_activity.value_or(row.recorded_at);
        m.timeout = seen.timeout;
      } else {
        m.kind = Kind::kPause;
      }
    } else if (Running(*after) && (before == S::kPausing || before == S::kPaused)) {
      m.kind = row.source == "policy" ? Kind::kPreWake : Kind::kReturn;
    } else if (*after == S::kKilled && before != S::kKilled) {
      m.kind = Kind::kEnd;
    } else {
      continue;
    }
    out.push_back(std::move(m));
  }
  return out;
}

PolicyReplay ReplayPolicies(const OverviewInputs& in, SystemTime now, Millis regret_window,
                            std::span<policy::Policy* const> policies) {
  const std::vector<policy::Moment> moments = MomentsFrom(in);
  PolicyReplay r;
  for (policy::Policy* p : policies) {
    r.policies.push_back(
        policy::Replay(*p, moments, {.until = now, .regret_window = regret_window}));
  }
  if (!r.policies.empty()) r.episodes = r.policies.front().episodes;
  return r;
}

}  // namespace sbx::lifecycle
