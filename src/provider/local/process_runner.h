// ProcessRunner runs a child process from an argv vector (never a shell) and
// reports how it ended. LocalProvider drives `runc` through it; tests use
// FakeProcessRunner (provider/local/testing/). Implementations are
// thread-safe; Run blocks until the child exits or its deadline passes, so call
// it from a BlockingPool, never an I/O thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace sbx::provider::local {

struct RunOptions {
  // Wall time the child may run before it is sent SIGTERM.
  std::chrono::milliseconds timeout{30'000};
  // Time between SIGTERM and SIGKILL once the timeout has passed.
  std::chrono::milliseconds kill_grace{2'000};
  // Bytes of stdout and of stderr kept (each); the rest is read and dropped.
  size_t max_output_bytes = 64 * 1024;
  // Variables added to (or replacing those of) the parent's environment.
  std::map<std::string, std::string> env;
  // When set, the child's stdout and stderr are appended to this file instead
  // of being captured. Use it for commands whose descendants outlive them and
  // inherit their stdio (`runc run --detach`): a pipe would never see EOF.
  std::optional<std::filesystem::path> output_file;
};

struct ProcessResult {
  // The exit status; 128 + signal number when the child was killed by a signal.
  int exit_code = 0;
  std::string out;  // captured stdout (empty with RunOptions::output_file)
  std::string err;  // captured stderr (empty with RunOptions::output_file)
  bool out_truncated = false;
  bool err_truncated = false;

  bool ok() const { return exit_code == 0; }
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;

  // Runs argv[0] (looked up in PATH if it has no slash) with argv as its
  // arguments, stdin from /dev/null. Returns the result whatever the exit
  // code: a non-zero exit is the caller's to interpret.
  // kInvalidArgument: empty argv. kNotFound: the program cannot be executed.
  // kDeadlineExceeded: the child outlived options.timeout and was killed (the
  // message names the command). kInternal: pipes, files or waiting failed.
  virtual Result<ProcessResult> Run(const std::vector<std::string>& argv,
                                    const RunOptions& options) = 0;
};

// "runc --root /x pause sbx1" for messages; arguments are not quoted.
std::string FormatCommand(const std::vector<std::string>& argv);

}  // namespace sbx::provider::local
