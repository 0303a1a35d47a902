#include "app/policy_replay.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "api/wire.h"
#include "app/startup.h"
#include "base/status.h"
#include "base/time.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/policy_report.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace sbx::app {
namespace {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;

Result<std::unique_ptr<store::Store>> OpenForReplay(const PolicyReplayConfig& c) {
  const std::string url = StoreUrl(c.data_dir, c.store);
  if (url.starts_with("sqlite://")) {
    const std::string path = url.substr(9);
    // Opening a missing file would make an empty database.
    if (!std::filesystem::exists(path)) {
      return NotFound(fmt::format("--store {}: no such database file", url));
    }
    SBX_ASSIGN_OR_RETURN(auto s,
                         store::SqliteStore::Open(path, {.timeout = std::chrono::seconds(30)}));
    return std::unique_ptr<store::Store>(std::move(s));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    SBX_ASSIGN_OR_RETURN(auto s, store::PostgresStore::Open(
                                     url, {.pool_size = 1,
                                           .statement_timeout = std::chrono::seconds(60),
                                           .borrow_timeout = std::chrono::seconds(60)}));
    return std::unique_ptr<store::Store>(std::move(s));
  }
  return UnknownStoreUrl(url);
}

Result<Millis> Flag(std::string_view flag, const std::string& text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.error().WithContext(flag);
  return *d;
}

double Hours(double minutes) { return minutes / 60.0; }

std::string Change(double base, double value) {
  if (base == 0) return value == 0 ? "" : "new";
  return fmt::format("{:+.1f} %", (value - base) / base * 100.0);
}

struct Run {
  lifecycle::PolicyReport recorded;
  lifecycle::PolicyReplay replay;
  size_t rows = 0;
  double read_s = 0;
  double replay_s = 0;
};

Result<Run> Replay(const PolicyReplayConfig& c, SystemTime now) {
  SBX_ASSIGN_OR_RETURN(Millis since, Flag("--since", c.since));
  if (since <= Millis::zero()) return InvalidArgument("--since must be above 0");
  SBX_ASSIGN_OR_RETURN(Millis regret, Flag("--regret-window", c.regret_window));
  policy::PolicyConfig config;
  SBX_ASSIGN_OR_RETURN(config.timeout, Flag("--idle-timeout", c.idle_timeout));
  SBX_ASSIGN_OR_RETURN(config.bounds.min, Flag("--idle-policy-min", c.idle_policy_min));
  SBX_ASSIGN_OR_RETURN(config.bounds.max, Flag("--idle-policy-max", c.idle_policy_max));
  std::vector<std::unique_ptr<policy::Policy>> owned;
  std::vector<std::string> names{c.baseline};
  for (const std::string& p : c.policies.empty() ? std::vector<std::string>{"adaptive"}
                                                 : c.policies) {
    names.push_back(p);
  }
  for (const std::string& name : names) {
    SBX_ASSIGN_OR_RETURN(auto p, policy::MakePolicy(name, config));
    owned.push_back(std::move(p));
  }
  SBX_ASSIGN_OR_RETURN(auto store, OpenForReplay(c));
  Run run;
  const auto t0 = Steady::now();
  lifecycle::OverviewInputs in;
  // The whole window, not the server's 200,000-row cap: an offline replay
  // may take its time; it says how many rows it read.
  constexpr int kMaxRows = 10'000'000;
  SBX_RETURN_IF_ERROR(lifecycle::ReadTransitions(*store, now - since, kMaxRows, in));
  const auto t1 = Steady::now();
  std::vector<policy::Policy*> policies;
  for (const auto& p : owned) policies.push_back(p.get());
  run.replay = lifecycle::ReplayPolicies(in, now, regret, policies);
  run.recorded = lifecycle::ReportPolicy(now - since, now, in, regret, 0);
  const auto t2 = Steady::now();
  run.rows = in.transitions.size();
  run.read_s = std::chrono::duration<double>(t1 - t0).count();
  run.replay_s = std::chrono::duration<double>(t2 - t1).count();
  return run;
}

void PrintTable(const Run& r, std::ostream& out) {
  const auto& t = r.recorded.totals;
  out << fmt::format(
      "{} idle episodes from {} to {} ({} history rows read in {:.2f} s, replayed in {:.2f} s)\n\n",
      r.replay.episodes, FormatRfc3339(r.recorded.from), FormatRfc3339(r.recorded.to), r.rows,
      r.read_s, r.replay_s);
  std::string header = fmt::format("{:<22}{:>12}", "", "recorded");
  for (const auto& p : r.replay.policies) header += fmt::format("{:>12}", p.policy);
  for (size_t i = 1; i < r.replay.policies.size(); ++i) {
    header += fmt::format("{:>18}", r.replay.policies[i].policy + " vs " +
                                        r.replay.policies[0].policy);
  }
  out << header << "\n";
  using T = policy::ReplayTally;
  // One metric: its recorded value (or ""), each policy's, and each change
  // against the first; `hours` values print with one decimal.
  auto row = [&](std::string_view name, std::string recorded, bool hours,
                 double (*value)(const T&)) {
    std::string line = fmt::format("{:<22}{:>12}", name, recorded);
    for (const auto& p : r.replay.policies) {
      line += hours ? fmt::format("{:>12.1f}", value(p)) : fmt::format("{:>12.0f}", value(p));
    }
    const double base = value(r.replay.policies[0]);
    for (size_t i = 1; i < r.replay.policies.size(); ++i) {
      line += fmt::format("{:>18}", Change(base, value(r.replay.policies[i])));
    }
    out << line << "\n";
  };
  row("idle pauses", std::to_string(t.idle_pauses), false,
      [](const T& p) { return static_cast<double>(p.idle_pauses); });
  row("regret wakes", std::to_string(t.regret_wakes), false,
      [](const T& p) { return static_cast<double>(p.regret_wakes); });
  row("resume waits", std::to_string(t.resume_waits), false,
      [](const T& p) { return static_cast<double>(p.resume_waits); });
  row("idle hours awake", "", true, [](const T& p) { return Hours(p.idle_minutes); });
  row("hours paused", fmt::format("{:.1f}", Hours(t.saved_minutes)), true,
      [](const T& p) { return Hours(p.saved_minutes); });
  row("timeout changes", "", false,
      [](const T& p) { return static_cast<double>(p.timeout_changes); });
  row("pre-wakes", "", false, [](const T& p) { return static_cast<double>(p.pre_wakes); });
  row("pre-wake hits", "", false,
      [](const T& p) { return static_cast<double>(p.pre_wake_hits); });

  out << "\n" << lifecycle::kReplayNote << "\n";
}

void PrintJson(const Run& r, std::ostream& out) {
  json::array policies;
  for (const auto& p : r.replay.policies) policies.push_back(api::ReplayTallyJson(p));
  const auto& t = r.recorded.totals;
  json::object o{{"from", FormatRfc3339(r.recorded.from)},
                 {"to", FormatRfc3339(r.recorded.to)},
                 {"rows", r.rows},
                 {"readSeconds", r.read_s},
                 {"replaySeconds", r.replay_s},
                 {"episodes", r.replay.episodes},
                 {"recorded", json::object{{"idlePauses", t.idle_pauses},
                                           {"regretWakes", t.regret_wakes},
                                           {"resumeWaits", t.resume_waits},
                                           {"savedMinutes", t.saved_minutes}}},
                 {"policies", std::move(policies)}};
  out << json::serialize(o) << "\n";
}

}  // namespace

int PolicyReplay(const PolicyReplayConfig& config) {
  const SystemTime now = TruncateToMillis(std::chrono::system_clock::now());
  auto run = Replay(config, now);
  if (!run.ok()) {
    std::cerr << "sandboxd policy replay: " << run.error().ToString() << "\n";
    return 1;
  }
  if (config.json) {
    PrintJson(*run, std::cout);
  } else {
    PrintTable(*run, std::cout);
  }
  return 0;
}

}  // namespace sbx::app
