// Templates of the local runtime: one JSON file per template in the templates
// directory (`--templates-dir`, default `templates/`), e.g. templates/hello.json:
//   {"name": "hello", "command": ["sandbox-hello"], "port": 8080, "portEnv": "PORT",
//    "readinessPath": "/", "memoryLimitMiB": 64, "pidsLimit": 64, "cpuMillis": 1000,
//    "diskLimitMiB": 1024, "egress": "none", "startTimeoutMs": 10000,
//    "env": {"GREETING": "hi"}}
// Only "name" (equal to the file name without .json) and "command" are
// required. LocalProvider loads the template on every Create, so edits apply to
// the next sandbox. Functions are thread-safe; LoadTemplate reads a file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sbx::provider::local {

// What a sandbox may reach beyond its own network namespace.
enum class Egress {
  kNone,      // nothing: the namespace has only `lo`
  kInternet,  // public addresses only (no host, private, loopback, link-local)
};

// "none" or "internet".
std::string_view EgressName(Egress e);

struct Template {
  std::string name;
  // argv of the sandbox's process. A relative program is resolved against
  // LocalProviderOptions::binary_dir (see ResolveProgram).
  std::vector<std::string> command;
  // The port the process serves on, inside its own network namespace: the
  // same in every sandbox of the template.
  uint16_t port = 8080;
  // Environment variable through which the process learns its port.
  std::string port_env = "PORT";
  // Path answered with a 2xx once the process serves.
  std::string readiness_path = "/";
  int64_t memory_limit_mib = 256;  // cgroup memory limit, MiB
  int64_t pids_limit = 128;        // cgroup pids limit, processes + threads
  int64_t cpu_millis = 1000;       // CPU time per second of wall time, ms (1000 = one CPU)
  int64_t disk_limit_mib = 1024;   // size of the writable home, MiB
  Egress egress = Egress::kNone;   // default egress policy; a create request may override it
  // How long Create waits for readiness before giving up.
  std::chrono::milliseconds start_timeout{10'000};
  std::map<std::string, std::string> env;  // extra environment of the process

  friend bool operator==(const Template&, const Template&) = default;
};

// True for names of 1-64 characters from [a-z0-9_-] starting with [a-z0-9]:
// names that can never escape the templates directory.
bool IsValidTemplateName(std::string_view name);

// Parses one template file's contents. `name` is the name the file is loaded
// under; the file's "name" must equal it. kFailedPrecondition (naming the
// field) for malformed JSON, unknown or mistyped fields and out-of-range values.
Result<Template> ParseTemplate(std::string_view json_text, std::string_view name);

// Reads and parses `<dir>/<name>.json`. kInvalidArgument for an invalid name
// or a template that does not exist; kFailedPrecondition for a file that
// cannot be read or parsed. Messages name the file.
Result<Template> LoadTemplate(const std::filesystem::path& dir, std::string_view name);

// Names of the templates in `dir` (files `*.json` with a valid name), sorted.
// kFailedPrecondition if the directory cannot be read.
Result<std::vector<std::string>> ListTemplates(const std::filesystem::path& dir);

// The host path of the template's program: command[0] when it is absolute,
// else `binary_dir / command[0]`.
// REQUIRES: !t.command.empty().
std::filesystem::path ResolveProgram(const Template& t, const std::filesystem::path& binary_dir);

}  // namespace sbx::provider::local
