// The operating-system adapters of the local runtime: PosixProcessRunner
// spawns real children (posix_spawn) and ThreadSleeper really sleeps. app/
// builds them and hands them to LocalProvider; unit tests use the fakes in
// provider/local/testing/. Both are thread-safe and block the calling thread.
#pragma once

#include "provider/local/process_runner.h"

namespace sbx::provider::local {

// Children get stdin from /dev/null, their own process group (so a timeout
// kill reaches helpers they started) and no file descriptors but 0, 1 and 2.
// Output is read until the child exits; whatever a surviving descendant keeps
// writing to an inherited pipe after that is not waited for.
class PosixProcessRunner final : public ProcessRunner {
 public:
  // ProcessRunner
  Result<ProcessResult> Run(const std::vector<std::string>& argv,
                            const RunOptions& options) override;
};

class ThreadSleeper final : public Sleeper {
 public:
  // Sleeper
  void Sleep(std::chrono::milliseconds d) override;
};

}  // namespace sbx::provider::local
