// `sandboxd policy replay`: replays idle policies over a store's history,
// offline, and prints how each compares with what was recorded: idle pauses,
// regret wakes, resume waits, idle and paused sandbox-hours, timeout changes,
// pre-wakes (lifecycle::ReplayPolicies, policy/replay.h). Reads the store
// only (SQLite or PostgreSQL; a running sandboxd may keep serving it). Blocks;
// one call per process.
#pragma once

#include <string>
#include <vector>

namespace sbx::app {

struct PolicyReplayConfig {
  std::string data_dir = "data";
  std::string store;  // as for serve: default sqlite://<data-dir>/sandboxd.db
  std::string since = "7d";
  std::vector<std::string> policies;  // replayed beside the baseline; default adaptive
  std::string baseline = "fixed";
  std::string idle_timeout = "3m";  // what every policy starts from
  std::string idle_policy_min = "1m";
  std::string idle_policy_max = "1h";
  std::string regret_window = "10m";
  bool json = false;  // one JSON object instead of the table
};

// Prints the comparison and returns 0, or prints the error and returns 1.
int PolicyReplay(const PolicyReplayConfig& config);

}  // namespace sbx::app
