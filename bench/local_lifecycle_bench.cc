// local_lifecycle_bench: the local runtime's lifecycle at the provider level,
// on real runc (as root): create→serving, pause, resume→serving and kill of
// the `hello` template, N times, with the time each external command took
// (runc, mkfs, mount, …) so the medians can be explained. Run by
// bench/status.sh; prints a Markdown table.
//   local_lifecycle_bench <templates-dir> <build-dir> [runs]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/ids.h"
#include "provider/local/http_probe.h"
#include "provider/local/linux_sandbox_host.h"
#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"

#include "percentile.h"

namespace {

using namespace sbx;
using namespace sbx::provider::local;
using Steady = std::chrono::steady_clock;

double Median(const std::vector<double>& v) { return sbx::bench::Percentile(v, 50); }

// Times every command by its program name ("runc run", "mount", …).
class TimingRunner final : public ProcessRunner {
 public:
  Result<ProcessResult> Run(const std::vector<std::string>& argv,
                            const RunOptions& options) override {
    const auto t0 = Steady::now();
    auto r = inner_.Run(argv, options);
    const double ms = sbx::bench::Ms(Steady::now() - t0);
    std::string name = std::filesystem::path(argv[0]).filename().string();
    if (name == "runc") {
      // runc --root R [--log L] <verb>
      name += " " + (argv.size() > 3 && argv[3] == "--log" ? argv[5] : argv[3]);
    } else if (name == "setsid") {
      name = "start " + std::filesystem::path(argv.back() == "tap0" ? "slirp4netns" : argv[2])
                            .filename()
                            .string();
    }
    std::lock_guard lock(mu_);
    current_[name] += ms;
    return r;
  }
  // The per-command totals since the last call, then reset.
  std::map<std::string, double> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(current_, {});
  }

 private:
  PosixProcessRunner inner_;
  std::mutex mu_;
  std::map<std::string, double> current_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: local_lifecycle_bench <templates-dir> <build-dir> [runs]\n");
    return 2;
  }
  const int runs = argc > 3 ? std::atoi(argv[3]) : 15;
  const std::filesystem::path work = std::filesystem::temp_directory_path() / "sbx-lifecycle-bench";
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  std::filesystem::permissions(work, std::filesystem::perms::owner_all |
                                         std::filesystem::perms::group_exec |
                                         std::filesystem::perms::others_exec);
  SystemClock clock;
  IdGenerator ids(12345);
  TimingRunner runner;
  LinuxSandboxHost host(clock);
  LocalProviderOptions options;
  options.runc_root = work / "runc";
  options.sandboxes_dir = work / "sandboxes";
  options.templates_dir = argv[1];
  options.binary_dir = argv[2];
  LocalProvider provider(clock, ids, runner, host, options);

  std::map<std::string, std::vector<double>> steps;
  std::map<std::string, std::map<std::string, std::vector<double>>> commands;
  auto record = [&](const std::string& step, Steady::time_point t0) {
    steps[step].push_back(sbx::bench::Ms(Steady::now() - t0));
    for (const auto& [name, ms] : runner.Take()) commands[step][name].push_back(ms);
  };
  int failures = 0;
  for (int i = 0; i <= runs; ++i) {  // run 0 warms up (makes the golden image)
    provider::CreateRequest request{.project_id = "bench", .template_name = "hello"};
    auto t0 = Steady::now();
    auto created = provider.Create(request);
    if (!created.has_value()) {
      std::fprintf(stderr, "create: %s\n", created.status().ToString().c_str());
      ++failures;
      continue;
    }
    const std::string id = created->sandbox_id;
    if (i == 0) {
      runner.Take();
      (void)provider.Kill(id);
      runner.Take();
      continue;
    }
    record("create → serving", t0);
    t0 = Steady::now();
    if (!provider.Pause(id).ok()) ++failures;
    record("pause", t0);
    t0 = Steady::now();
    auto resumed = provider.Resume(id);  // returns once GET /state answers 2xx
    if (!resumed.has_value()) ++failures;
    record("resume → serving", t0);
    t0 = Steady::now();
    if (!provider.Kill(id).ok()) ++failures;
    record("kill", t0);
  }
  std::printf("| step | median | of which external commands (median ms) |\n|---|---:|---|\n");
  for (const char* step : {"create → serving", "pause", "resume → serving", "kill"}) {
    std::string detail;
    for (const auto& [name, ms] : commands[step]) {
      detail += fmt::format("{}{} {:.1f}", detail.empty() ? "" : ", ", name, Median(ms));
    }
    std::printf("| %s | %.1f ms | %s |\n", step, Median(steps[step]), detail.c_str());
  }
  std::filesystem::remove_all(work);
  return failures == 0 ? 0 : 1;
}
