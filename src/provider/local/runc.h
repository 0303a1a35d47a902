// The `runc` command line as data: argv builders for the commands the local
// runtime issues and parsers for what `runc state` / `runc list --format json`
// print. Pure functions and a value type; no I/O; thread-safe. LocalProvider
// runs the argv through a ProcessRunner.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/time.h"
#include "provider/local/process_runner.h"

namespace sbx::provider::local {

enum class RuncStatus { kCreating, kCreated, kRunning, kPaused, kStopped };

// "creating", "created", "running", "paused", "stopped" as runc prints them.
std::string_view RuncStatusName(RuncStatus s);
// kInvalidArgument for any other text.
Result<RuncStatus> ParseRuncStatus(std::string_view text);

// One container as `runc state` and `runc list --format json` describe it.
struct RuncContainer {
  std::string id;
  int64_t pid = 0;  // 0 once stopped
  RuncStatus status = RuncStatus::kStopped;
  std::string bundle;                              // absolute bundle directory
  std::optional<SystemTime> created;               // absent if runc printed none
  std::map<std::string, std::string> annotations;  // from the bundle's config.json
  friend bool operator==(const RuncContainer&, const RuncContainer&) = default;
};

// Parses the JSON object `runc state <id>` prints. kInvalidArgument (naming
// the offending field) for malformed output.
Result<RuncContainer> ParseRuncState(std::string_view json);
// Parses `runc list --format json`: an array of state objects, or `null` when
// the root holds no container. kInvalidArgument for malformed output.
Result<std::vector<RuncContainer>> ParseRuncList(std::string_view json);

// True when runc's stderr says the container does not exist
// (`msg="container does not exist"`).
bool RuncSaysNotExist(std::string_view stderr_text);
// The last `msg="..."` of runc's logfmt stderr, or the trimmed text when it
// has none: the part worth putting in an error message.
std::string RuncErrorMessage(std::string_view stderr_text);

// "exit 1: container not running" from a failed runc invocation.
std::string DescribeRuncFailure(const ProcessResult& r);

// Builds argv for one runc binary and state root. Every command starts with
// `<binary> --root <root>`.
struct RuncCommands {
  std::string binary = "runc";
  std::string root;  // runc's state directory (`--root`)

  // `runc --log <log_file> run --detach`: runc's own messages go to
  // `log_file` as well as stderr (which the container inherits).
  std::vector<std::string> Run(const std::string& bundle_dir, const std::string& id,
                               const std::string& log_file) const;
  std::vector<std::string> Pause(const std::string& id) const;
  std::vector<std::string> Resume(const std::string& id) const;
  std::vector<std::string> Kill(const std::string& id, const std::string& signal = "KILL") const;
  std::vector<std::string> ForceDelete(const std::string& id) const;
  std::vector<std::string> State(const std::string& id) const;
  std::vector<std::string> List() const;
};

}  // namespace sbx::provider::local
