// FakeProcessRunner: a ProcessRunner for unit tests that records every
// command and answers from a script (queued results, then a handler, then
// "exit 0, no output"). Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/testing/fake_clock.h"
#include "provider/local/process_runner.h"

namespace sbx::provider::local {

class FakeProcessRunner final : public ProcessRunner {
 public:
  using Handler = std::function<Result<ProcessResult>(const std::vector<std::string>& argv,
                                                      const RunOptions& options)>;

  // The next call returns `result` (queued in order, ahead of the handler).
  void PushResult(Result<ProcessResult> result);
  // Answers calls once the queue is empty.
  void SetHandler(Handler handler);
  // Every argv run so far, oldest first, and the options each was run with.
  std::vector<std::vector<std::string>> commands() const;
  std::vector<RunOptions> run_options() const;
  // The commands as "runc --root /r pause x" strings.
  std::vector<std::string> command_lines() const;
  void ClearCommands();

  // ProcessRunner
  Result<ProcessResult> Run(const std::vector<std::string>& argv,
                            const RunOptions& options) override;

 private:
  mutable std::mutex mu_;
  std::deque<Result<ProcessResult>> queued_;
  Handler handler_;
  std::vector<std::vector<std::string>> commands_;
  std::vector<RunOptions> options_;
};

}  // namespace sbx::provider::local
