// Child processes for the integration tests: run a command to completion and
// capture its output (sandboxctl, runc), or spawn one that keeps running
// (sandboxd). posix_spawn with an argv vector, never a shell.
// Not thread-safe per object; separate objects may be used from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace sbx::integration {

struct CommandResult {
  int exit_code = -1;      // -1 when it did not exit normally (signal, timeout, spawn error)
  bool timed_out = false;  // killed with SIGKILL at the deadline
  std::string out;
  std::string err;  // stderr, or why the command could not be started
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null and captures
// stdout and stderr. Kills it with SIGKILL at `timeout`. Blocks.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// "runc --root R list", "sandboxctl create demo": for failure messages.
std::string JoinArgv(const std::vector<std::string>& argv);

// A long-running child (sandboxd) with stdout and stderr appended to files, so
// that it can never block on a full pipe, whatever it prints.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // SIGKILLs and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Returns "" on success, else why it could not be started. `extra_env`
  // ("NAME=value") is added to the child's environment.
  std::string Spawn(const std::vector<std::string>& argv, const std::string& stdout_path,
                    const std::string& stderr_path, const std::vector<std::string>& extra_env = {});
  // The child's pid while it runs, else -1.
  pid_t pid() const { return pid_; }
  // Reaps the child if it has exited; returns whether it still runs.
  bool Poll();
  // Sends `sig`, then waits up to `timeout` for the exit. Returns the wait
  // status, or -1 if it did not exit in time (it is then still running).
  int SignalAndWait(int sig, std::chrono::milliseconds timeout);
  bool running() const { return pid_ > 0; }
  // The wait status of the last exit, or -1.
  int exit_status() const { return exit_status_; }

 private:
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

}  // namespace sbx::integration
