// The operating-system adapter of the local runtime: PosixProcessRunner
// spawns real children (posix_spawn). app/ builds it and hands it to
// LocalProvider; unit tests use FakeProcessRunner (provider/local/testing/).
// Thread-safe; Run blocks the calling thread.
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

}  // namespace sbx::provider::local
