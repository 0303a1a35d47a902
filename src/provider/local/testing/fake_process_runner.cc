#include "provider/local/testing/fake_process_runner.h"

namespace sbx::provider::local {

void FakeProcessRunner::PushResult(Result<ProcessResult> result) {
  std::lock_guard lock(mu_);
  queued_.push_back(std::move(result));
}

void FakeProcessRunner::SetHandler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

std::vector<std::vector<std::string>> FakeProcessRunner::commands() const {
  std::lock_guard lock(mu_);
  return commands_;
}

std::vector<RunOptions> FakeProcessRunner::run_options() const {
  std::lock_guard lock(mu_);
  return options_;
}

std::vector<std::string> FakeProcessRunner::command_lines() const {
  std::vector<std::string> out;
  for (const auto& argv : commands()) out.push_back(FormatCommand(argv));
  return out;
}

void FakeProcessRunner::ClearCommands() {
  std::lock_guard lock(mu_);
  commands_.clear();
  options_.clear();
}

Result<ProcessResult> FakeProcessRunner::Run(const std::vector<std::string>& argv,
                                             const RunOptions& options) {
  Handler handler;
  {
    std::lock_guard lock(mu_);
    commands_.push_back(argv);
    options_.push_back(options);
    if (!queued_.empty()) {
      Result<ProcessResult> r = std::move(queued_.front());
      queued_.pop_front();
      return r;
    }
    handler = handler_;
  }
  // Called without the lock, so a handler may inspect the runner.
  if (handler) return handler(argv, options);
  return ProcessResult{};
}

}  // namespace sbx::provider::local
