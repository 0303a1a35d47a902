// policy_sim: compares the idle policies (src/policy) on synthetic users, for
// bench/policy.sh. Deterministic for a seed. Prints a markdown table.
//
// The generator (per project, from its own seeded stream):
//   - 70 % office workers: on 92 % of weekdays they start around their own
//     hour (08:00–09:30, ±10 min a day) and work 7.5–9 h: bursts of activity
//     of 5–40 min separated by gaps: mostly short (30 s–2.5 min), breaks
//     (a call, coffee, reading) and 5 % meetings (20–50 min), and a lunch of
//     30–60 min after noon. Breaks are personal habits: each user takes them
//     after 10–40 % of bursts, lasting between their own b and b + 4 min, b
//     from 2 to 12 min. 10 % of weekends see one 30–90 min session.
//   - 20 % evening hobbyists: half of the weekday evenings (start 19:00–21:00,
//     30–150 min) and 60 % of weekend afternoons (13:00–17:00, 1–4 h), with
//     the office gaps.
//   - 10 % bursty users: 0–4 sessions a day at random times (07:00–23:00) of
//     5–30 min, with the office gaps.
// A project's sandbox is made at its first activity and runs while active;
// after activity stops it runs for the policy's idle timeout and is paused.
// A user who comes back to a paused sandbox waits for a resume: a resume wait.
// A resume wait within 10 min of the idle pause is a regret wake. A pre-wake
// (warmup) resumes the sandbox; if the user comes back within its grace it is
// a hit (no wait), else the sandbox is paused again after the grace (a miss).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "policy/policy.h"

namespace {

using namespace std::chrono_literals;
using sbx::Millis;
using sbx::SystemTime;
namespace policy = sbx::policy;

struct Interval {
  SystemTime start;
  SystemTime end;
};

class Generator {
 public:
  Generator(uint64_t seed, int project) : rng_(seed * 1'000'003 + static_cast<uint64_t>(project)) {}

  double U(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  bool P(double p) { return U(0, 1) < p; }
  Millis Min(double lo, double hi) { return Millis(static_cast<int64_t>(U(lo, hi) * 60'000)); }

  // Bursts of activity from `start` until `until`, with the office gaps;
  // `lunch` (if given) is taken once after it.
  void Work(SystemTime start, SystemTime until, std::vector<Interval>& out,
            std::optional<SystemTime> lunch = std::nullopt) {
    if (break_share_ == 0) {  // this user's habits, drawn once
      break_share_ = U(0.10, 0.40);
      break_from_ = U(2, 12);
    }
    SystemTime t = start;
    bool lunched = !lunch;
    while (t < until) {
      const SystemTime end = std::min(until, t + Min(5, 40));
      out.push_back({t, end});
      t = end;
      if (!lunched && t >= *lunch) {
        t += Min(30, 60);
        lunched = true;
        continue;
      }
      const double r = U(0, 1);
      if (r < break_share_) t += Min(break_from_, break_from_ + 4);
      else if (r < break_share_ + 0.05) t += Min(20, 50);
      else t += Min(0.5, 2.5);
    }
  }

  std::vector<Interval> Project(SystemTime begin, int days) {
    std::vector<Interval> out;
    const double kind = U(0, 1);
    const double own_start = U(8.0, 9.5);  // office: the hour this user starts
    for (int d = 0; d < days; ++d) {
      const SystemTime day = begin + std::chrono::hours(24 * d);
      const bool weekend = d % 7 >= 5;  // the simulation starts on a Monday
      auto at = [&](double hour) {
        return day + Millis(static_cast<int64_t>(hour * 3'600'000));
      };
      if (kind < 0.70) {
        if (weekend) {
          if (P(0.10)) {
            const SystemTime s = at(U(10, 20));
            Work(s, s + Min(30, 90), out);
          }
          continue;
        }
        if (!P(0.92)) continue;
        const SystemTime s = at(own_start) + Min(-10, 10);
        Work(s, s + Min(450, 540), out, at(12.0) + Min(0, 60));
      } else if (kind < 0.90) {
        if (!weekend && P(0.5)) {
          const SystemTime s = at(U(19, 21));
          Work(s, s + Min(30, 150), out);
        } else if (weekend && P(0.6)) {
          const SystemTime s = at(U(13, 17));
          Work(s, s + Min(60, 240), out);
        }
      } else {
        const int sessions = std::uniform_int_distribution<int>(0, 4)(rng_);
        for (int i = 0; i < sessions; ++i) {
          const SystemTime s = at(U(7, 23));
          Work(s, s + Min(5, 30), out);
        }
      }
    }
    std::sort(out.begin(), out.end(),
              [](const Interval& a, const Interval& b) { return a.start < b.start; });
    // Overlapping sessions (bursty users) are one stretch of activity.
    std::vector<Interval> merged;
    for (const Interval& i : out) {
      if (!merged.empty() && i.start <= merged.back().end) {
        merged.back().end = std::max(merged.back().end, i.end);
      } else {
        merged.push_back(i);
      }
    }
    return merged;
  }

 private:
  std::mt19937_64 rng_;
  double break_share_ = 0;
  double break_from_ = 0;
};

struct Totals {
  double running_min = 0;
  int64_t waits = 0;
  int64_t regret_waits = 0;
  int64_t idle_pauses = 0;
  int64_t prewake_hits = 0;
  int64_t prewake_misses = 0;
  int64_t changes = 0;
};

double Minutes(SystemTime::duration d) {
  return static_cast<double>(std::chrono::duration_cast<Millis>(d).count()) / 60'000.0;
}

// Runs one project's activity against `p`, adding to `t`.
void Simulate(const std::string& project, const std::vector<Interval>& activity,
              SystemTime horizon, bool pre_wakes, policy::Policy& p, Totals& t) {
  constexpr auto kRegretWindow = 10min;
  for (size_t i = 0; i < activity.size(); ++i) {
    const Interval& a = activity[i];
    t.running_min += Minutes(a.end - a.start);
    const SystemTime next = i + 1 < activity.size() ? activity[i + 1].start : horizon;
    const Millis timeout = p.IdleTimeout(project);
    if (next - a.end <= timeout) {
      t.running_min += Minutes(next - a.end);
      continue;
    }
    const SystemTime paused_at = a.end + timeout;
    t.running_min += Minutes(timeout);
    p.OnIdlePause(project, paused_at);
    ++t.idle_pauses;
    bool awake = false;
    if (pre_wakes) {
      for (SystemTime now = paused_at + 1min; now < next; now += 1min) {
        if (!p.PreWake(project, now, paused_at)) continue;
        const Millis grace = p.PreWakeGrace();
        if (next <= now + grace) {
          t.running_min += Minutes(next - now);
          ++t.prewake_hits;
          awake = true;
        } else {
          t.running_min += Minutes(grace);
          ++t.prewake_misses;
        }
        break;  // a policy pre-wakes once a pause
      }
    }
    if (i + 1 == activity.size()) break;
    if (!awake) {
      ++t.waits;
      if (next - paused_at <= kRegretWindow) ++t.regret_waits;
    }
    p.OnReturn(project, next, paused_at);
    t.changes += static_cast<int64_t>(p.TakeChanges().size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  int projects = 1000;
  int weeks = 4;
  uint64_t seed = 1;
  policy::AdaptiveOptions adaptive;
  std::vector<Millis> more_fixed;  // fixed timeouts to compare with, besides 3m
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    auto minutes = [&] { return Millis(static_cast<int64_t>(std::atof(argv[i + 1]) * 60'000)); };
    if (flag == "--projects") projects = std::atoi(argv[i + 1]);
    else if (flag == "--regret-window") adaptive.regret_window = minutes();
    else if (flag == "--increase") adaptive.increase = std::atof(argv[i + 1]);
    else if (flag == "--long-idle") adaptive.long_idle = minutes();
    else if (flag == "--decrease") adaptive.decrease = minutes();
    else if (flag == "--fixed") more_fixed.push_back(minutes());
    else if (flag == "--cover-only") adaptive.cover_only = std::atoi(argv[i + 1]) != 0;
    else if (flag == "--weeks") weeks = std::atoi(argv[i + 1]);
    else if (flag == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr,
                   "usage: policy_sim [--projects N] [--weeks W] [--seed S] [--regret-window MIN] "
                   "[--increase X] [--long-idle MIN] [--decrease MIN]\n");
      return 2;
    }
  }
  // A Monday, 00:00 UTC.
  const SystemTime begin = *sbx::ParseRfc3339("2026-11-02T00:00:00Z");
  const SystemTime horizon = begin + std::chrono::hours(24 * 7 * weeks);
  std::vector<std::vector<Interval>> activity;
  for (int p = 0; p < projects; ++p) {
    activity.push_back(Generator(seed, p).Project(begin, 7 * weeks));
  }
  struct Run {
    std::string label;
    std::unique_ptr<policy::Policy> policy;
  };
  std::vector<Run> runs;
  runs.push_back({"fixed 3m", policy::MakeFixed(3min)});
  runs.push_back({fmt::format("adaptive (3m, ×{} on a return within {}{}, −{} after {} away, "
                              "1m–1h)",
                              adaptive.increase, sbx::FormatDuration(adaptive.regret_window),
                              adaptive.cover_only ? " but at most to cover it" : "",
                              sbx::FormatDuration(adaptive.decrease),
                              sbx::FormatDuration(adaptive.long_idle)),
                  policy::MakeAdaptive(adaptive)});
  // Projects are simulated one after another, not interleaved in time, so
  // the fleet-wide hourly cap (a safety net, PolicyTest covers it) is off.
  runs.push_back({"warmup (3m, pre-wake 10m ahead, 25m grace)",
                  policy::MakeWarmup({.max_per_hour = std::numeric_limits<int>::max()})});
  for (Millis m : more_fixed) {
    runs.push_back({fmt::format("fixed {}", sbx::FormatDuration(m)), policy::MakeFixed(m)});
  }
  std::vector<Totals> totals(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    const bool pre_wakes = runs[r].policy->name() == "warmup";
    for (int p = 0; p < projects; ++p) {
      Simulate(fmt::format("p{}", p), activity[static_cast<size_t>(p)], horizon, pre_wakes,
               *runs[r].policy, totals[r]);
    }
  }
  const Totals& base = totals[0];
  fmt::print("| policy | sandbox-hours | vs fixed | resume waits | vs fixed | regret wakes | "
             "pre-wakes hit / miss | idle pauses | decisions recorded |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  for (size_t r = 0; r < runs.size(); ++r) {
    const Totals& t = totals[r];
    fmt::print("| {} | {:.0f} | {:+.1f} % | {} | {:+.1f} % | {} | {} / {} | {} | {} |\n",
               runs[r].label, t.running_min / 60, 100.0 * (t.running_min / base.running_min - 1),
               t.waits, 100.0 * (static_cast<double>(t.waits) / static_cast<double>(base.waits) - 1),
               t.regret_waits, t.prewake_hits, t.prewake_misses, t.idle_pauses, t.changes);
  }
  return 0;
}
