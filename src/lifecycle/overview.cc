#include "lifecycle/overview.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace sbx::lifecycle {
namespace {

using S = core::SandboxStatus;
using namespace std::chrono_literals;

std::optional<S> StatusOf(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  auto s = core::ParseStatus(*name);
  if (!s.ok()) return std::nullopt;
  return *s;
}

double Ms(SystemTime::duration d) {
  return static_cast<double>(std::chrono::duration_cast<Millis>(d).count());
}

bool Running(std::optional<S> s) { return s == S::kStarting || s == S::kRunning; }

// An idle enforcer decision's lateness: the clock when it was taken minus
// the pauseAt of the record it saw (apply.cc WithRecord writes both).
std::optional<int64_t> Lateness(const std::string& inputs) {
  namespace json = boost::json;
  if (inputs.empty()) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(inputs, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  const json::value* now = o.if_contains("now");
  const json::value* record = o.if_contains("record");
  if (!now || !now->is_string() || !record || !record->is_object()) return std::nullopt;
  const json::value* pause_at = record->get_object().if_contains("pauseAt");
  if (!pause_at || !pause_at->is_string()) return std::nullopt;
  auto decided = ParseRfc3339(now->get_string());
  auto due = ParseRfc3339(pause_at->get_string());
  if (!decided.ok() || !due.ok()) return std::nullopt;
  return std::chrono::duration_cast<Millis>(*decided - *due).count();
}

}  // namespace

Result<OverviewWindow> ParseOverviewWindow(std::string_view name) {
  if (name == "1h") return OverviewWindow{"1h", 1h, 1min};
  if (name == "24h") return OverviewWindow{"24h", 24h, 15min};
  return InvalidArgument(fmt::format("window must be 1h or 24h, not \"{}\"", name));
}

SystemTime OverviewFrom(const OverviewWindow& window, SystemTime now) {
  const int64_t width = window.bucket.count();
  const int64_t end = (ToUnixMillis(now) / width + 1) * width;  // of the bucket holding now
  return FromUnixMillis(end - window.length.count());
}

std::optional<int64_t> Median(std::vector<int64_t> values) {
  if (values.empty()) return std::nullopt;
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>((values.size() - 1) / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

std::vector<std::optional<S>> StatusesBeforeEach(const std::vector<store::HistoryRow>& rows,
                                                 const std::map<std::string, std::string>& before) {
  std::vector<std::optional<S>> prev(rows.size());
  std::map<std::string, std::optional<S>> last;
  for (size_t i = rows.size(); i-- > 0;) {
    auto it = last.find(rows[i].project_id);
    if (it == last.end()) {
      auto b = before.find(rows[i].project_id);
      it = last.emplace(rows[i].project_id, b == before.end() ? std::nullopt : StatusOf(b->second))
               .first;
    }
    prev[i] = it->second;
    it->second = StatusOf(rows[i].status);
  }
  return prev;
}

SystemTime CoveredFrom(SystemTime from, const OverviewInputs& in) {
  if (!in.truncated || in.transitions.empty()) return from;
  return std::max(from, in.transitions.back().recorded_at);
}

// Over 80 lines on purpose: one backward replay that keeps the counts, the
// buckets and the hours in step; split, each piece would need all of them.
Overview Summarize(const OverviewWindow& window, SystemTime now, const OverviewInputs& in) {
  Overview o;
  o.window = window;
  o.to = now;
  o.from = OverviewFrom(window, now);
  const auto n = static_cast<size_t>(window.length / window.bucket);
  o.buckets.resize(n);
  for (size_t i = 0; i < n; ++i) {
    o.buckets[i].start = o.from + window.bucket * static_cast<int64_t>(i);
    o.buckets[i].end = std::min(o.buckets[i].start + window.bucket, now);
  }
  for (const auto& [project, status] : in.current) ++o.current[status];
  auto bucket_of = [&](SystemTime t) -> OverviewBucket* {
    if (t < o.from) return nullptr;
    const auto i = static_cast<size_t>((t - o.from) / window.bucket);
    return &o.buckets[std::min(i, n - 1)];
  };

  const std::vector<store::HistoryRow>& rows = in.transitions;
  const std::vector<std::optional<S>> prev = StatusesBeforeEach(rows, in.before);
  o.truncated = in.truncated;
  o.covered_from = CoveredFrom(o.from, in);

  // Backwards from now: undo one row at a time, sampling each bucket's end
  // before the first row older than it is undone.
  std::map<S, int64_t> counts = o.current;
  std::map<std::string, std::optional<S>> status;  // each project's, as replayed
  auto status_of = [&](const std::string& project) -> std::optional<S>& {
    auto it = status.find(project);
    if (it != status.end()) return it->second;
    auto now_it = in.current.find(project);
    return status[project] = now_it == in.current.end() ? std::nullopt
                                                        : std::optional<S>(now_it->second);
  };
  auto awake = [&] { return counts[S::kStarting] + counts[S::kRunning] + counts[S::kPausing]; };
  std::map<std::string, SystemTime> next_up;  // when each project next ran or was killed
  double awake_ms = 0;
  double saved_ms = 0;
  SystemTime t = now;
  size_t unsampled = n;  // buckets [0, unsampled) still need their sample
  auto sample_after = [&](SystemTime at) {
    while (unsampled > 0 && o.buckets[unsampled - 1].end > at) {
      o.buckets[--unsampled].statuses = counts;
    }
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const store::HistoryRow& r = rows[i];
    sample_after(r.recorded_at);
    const SystemTime at = std::max(std::min(r.recorded_at, t), o.covered_from);
    awake_ms += static_cast<double>(awake()) * Ms(t - at);
    t = at;
    std::optional<S>& current = status_of(r.project_id);
    if (current) --counts[*current];
    if (prev[i]) ++counts[*prev[i]];
    current = prev[i];

    const std::optional<S> after = StatusOf(r.status);
    const std::optional<S> before = prev[i];
    const bool idle_pause = r.source == "enforcer" && after == S::kPausing;
    if (OverviewBucket* b = bucket_of(r.recorded_at)) {
      if (Running(after) && (!before || before == S::kKilled)) ++b->creates;
      if (Running(after) && (before == S::kPausing || before == S::kPaused)) ++b->wakes;
      if (after == S::kPaused && before != S::kPaused) ++b->pauses;
      if (after == S::kKilled && before != S::kKilled) ++b->kills;
      if (idle_pause) {
        if (auto late = Lateness(r.inputs)) b->lateness_ms.push_back(*late);
      }
    }
    if (idle_pause && before == S::kRunning) {
      ++o.idle_pauses;
      auto up = next_up.find(r.project_id);
      const SystemTime until = up == next_up.end() ? now : up->second;
      saved_ms += Ms(until - r.recorded_at);
    }
    if (Running(after) || after == S::kKilled) next_up[r.project_id] = r.recorded_at;
  }
  sample_after(SystemTime::min());
  if (t > o.covered_from) {
    awake_ms += static_cast<double>(awake()) * Ms(t - o.covered_from);
  }
  for (const store::HistoryCount& c : in.counts) {
    if (c.source != "webhook" || c.bucket < 0 || static_cast<size_t>(c.bucket) >= n) continue;
    o.buckets[static_cast<size_t>(c.bucket)].webhooks[c.outcome] += c.count;
  }
  constexpr double kMsPerHour = 3600.0 * 1000.0;
  o.running_hours = awake_ms / kMsPerHour;
  o.without_idle_pauses_hours = (awake_ms + saved_ms) / kMsPerHour;
  return o;
}

Status ReadTransitions(store::Store& store, SystemTime from, int limit, OverviewInputs& in) {
  SBX_ASSIGN_OR_RETURN(in.transitions, store.ListTransitions(from, limit));
  in.truncated = in.transitions.size() >= static_cast<size_t>(limit);
  // Every row of a project older than the oldest read is older than all of
  // them: one seq bounds the lookups of every project.
  int64_t oldest = std::numeric_limits<int64_t>::max();
  std::set<std::string> projects;
  for (const store::HistoryRow& r : in.transitions) {
    oldest = std::min(oldest, r.seq);
    projects.insert(r.project_id);
  }
  constexpr size_t kChunk = 1000;
  std::vector<std::string> chunk;
  for (auto it = projects.begin(); it != projects.end();) {
    chunk.clear();
    while (it != projects.end() && chunk.size() < kChunk) chunk.push_back(*it++);
    SBX_ASSIGN_OR_RETURN(auto before, store.StatusesBefore(chunk, oldest));
    in.before.merge(before);
  }
  return OkStatus();
}

}  // namespace sbx::lifecycle
