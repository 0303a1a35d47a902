// Small helpers shared by the integration tests: polling with a deadline,
// typed views of sandboxd's JSON (sandbox object, history, enforcer runs) and
// of the hello template's /state. Parsing never throws: a missing or mistyped
// field makes the view nullopt, with the reason in `*why`.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"

namespace sbx::integration {

// Prints a measurement as a "[  REPORT  ]" line of the test output.
void Report(const std::string& line);

// "/api/projects/<project>/sandbox".
std::string SandboxPath(const std::string& project);
// Whole milliseconds of `d`.
int64_t Ms(std::chrono::nanoseconds d);
// Environment variable `name`, "" when unset.
std::string Env(const char* name);

// Polls `predicate` every `poll` until it returns true (-> true) or `timeout`
// passes (-> false). Real time: these tests run a real daemon.
bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds poll = std::chrono::milliseconds(50));

// Blocks the calling thread for `d` (integration tests only).
void SleepFor(std::chrono::milliseconds d);

SystemTime WallNow();

// The sandbox object of DESIGN.md §7.
struct SandboxView {
  std::string project_id;
  std::string sandbox_id;
  std::string status;
  std::string url;  // "" when null
  std::string template_name;
  int64_t idle_timeout_s = 0;
  SystemTime last_activity_at{};
  std::optional<SystemTime> pause_at;
  SystemTime created_at{};
  SystemTime updated_at{};
  int64_t version = 0;
  bool has_last_error = false;
};
std::optional<SandboxView> ParseSandbox(const boost::json::value& v, std::string* why = nullptr);
std::optional<SandboxView> ParseSandbox(const std::string& body, std::string* why = nullptr);

// One row of GET …/history.
struct HistoryEvent {
  std::string id;
  std::string type;
  std::string source;
  std::string outcome;
  std::string status;  // "" when null
  std::string sandbox_id;
  std::string detail;
  SystemTime at{};
};
// {"events":[…]}, newest first.
std::optional<std::vector<HistoryEvent>> ParseHistory(const std::string& body,
                                                      std::string* why = nullptr);

// One row of GET /api/jobs/idle-enforcer/runs.
struct EnforcerRun {
  std::string trigger;
  SystemTime started_at{};
  SystemTime finished_at{};
  int64_t checked = 0;
  int64_t paused = 0;
  int64_t failed = 0;
  size_t errors = 0;
};
std::optional<std::vector<EnforcerRun>> ParseRuns(const std::string& body,
                                                  std::string* why = nullptr);

// The hello template's GET /state.
struct HelloState {
  std::string started_at;
  int64_t requests = 0;
};
std::optional<HelloState> ParseHelloState(const std::string& body, std::string* why = nullptr);

// "2026-…Z" for failure messages.
std::string Show(SystemTime t);
std::string Show(const std::optional<SystemTime>& t);

}  // namespace sbx::integration
