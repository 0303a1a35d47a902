// The fixture of the real-runc tests (sbx_local_runc_tests): root and runc
// are required (the tests fail, never skip, without them), every test gets a
// temporary directory and providers with their own data dirs, and TearDown
// removes every sandbox they made (through a fresh provider's sweep, then by
// hand through runc), also when a test fails. Test-only.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "provider/local/http_probe.h"
#include "provider/local/linux_sandbox_host.h"
#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"
#include "provider/local/runc.h"

namespace sbx::provider::local {

inline constexpr char kBuildDir[] = SBX_HELLO_BINARY_DIR;
inline constexpr char kTemplatesDir[] = SBX_TEMPLATES_DIR;

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline boost::json::value ParseJson(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v;
}

class RuncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    using namespace std::chrono_literals;
    ASSERT_EQ(::geteuid(), 0u)
        << "sbx_local_runc_tests drive real runc containers and must run as root "
           "(exclude them with `ctest -LE runc`)";
    for (const char* tool : {"runc", "slirp4netns", "nft", "mkfs.ext4", "nsenter", "setsid"}) {
      auto found = runner_.Run({tool, "--version"}, {.timeout = 10s});
      ASSERT_TRUE(found.has_value())
          << tool << " is not installed or not in PATH (make deps): " << found.status().ToString();
    }
    for (const char* program : {"sandbox-hello", "sandbox-logger", "sandbox-probe"}) {
      ASSERT_EQ(::access((std::filesystem::path(kBuildDir) / program).c_str(), X_OK), 0)
          << program << " is not built in " << kBuildDir;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "sbx-runc-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // The sandboxes' mapped users must reach their bundles' mount points.
    ::chmod(dir_.c_str(), 0711);
  }

  void TearDown() override {
    using namespace std::chrono_literals;
    for (const auto& options : made_) {
      // A fresh provider sweeps everything of its instance with no live
      // container; kill the live ones first, by hand, in case Kill is broken.
      RuncCommands runc{.binary = "runc", .root = options.runc_root.string()};
      auto listed = runner_.Run(runc.List(), {.timeout = 30s});
      if (listed.has_value() && listed->ok()) {
        auto parsed = ParseRuncList(listed->out);
        const std::vector<RuncContainer> containers =
            parsed.has_value() ? *parsed : std::vector<RuncContainer>{};
        for (const auto& c : containers) {
          (void)runner_.Run(runc.Kill(c.id), {.timeout = 30s});
          auto deleted = runner_.Run(runc.ForceDelete(c.id), {.timeout = 30s});
          EXPECT_TRUE(deleted.has_value() && deleted->ok()) << "could not delete " << c.id;
        }
      }
      LocalProvider sweeper(clock_, ids_, runner_, host_, options);
      EXPECT_TRUE(sweeper.Sweep().ok());
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  LocalProviderOptions Options(const std::string& name) {
    LocalProviderOptions options;
    options.runc_root = dir_ / name / "runc";
    options.sandboxes_dir = dir_ / name / "sandboxes";
    options.templates_dir = kTemplatesDir;
    options.binary_dir = kBuildDir;
    options.command_timeout = std::chrono::seconds(60);
    return options;
  }

  // A provider on `options` (its data dir usually from Options(name)).
  std::unique_ptr<LocalProvider> MakeProvider(IdGenerator& ids, LocalProviderOptions options) {
    made_.push_back(options);
    return std::make_unique<LocalProvider>(clock_, ids, runner_, host_, std::move(options));
  }
  // A provider with its own data dir (<tmp>/<name>/).
  std::unique_ptr<LocalProvider> MakeProvider(const std::string& name) {
    return MakeProvider(ids_, Options(name));
  }

  static CreateRequest Request(const std::string& project, const std::string& template_name) {
    return CreateRequest{.project_id = project,
                         .template_name = template_name,
                         .metadata = {{"projectId", project}}};
  }

  // GET <path> of a sandbox, through a socket in its namespace.
  Result<HttpResponse> Get(LocalProvider& provider, const std::string& id, const std::string& path,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    SBX_ASSIGN_OR_RETURN(uint16_t port, provider.SandboxPort(id));
    SBX_ASSIGN_OR_RETURN(int fd, provider.SandboxSocket(id));
    return HttpGetOn(clock_, fd, port, path, timeout);
  }

  Result<RuncContainer> RuncState(const std::filesystem::path& root, const std::string& id) {
    using namespace std::chrono_literals;
    RuncCommands runc{.binary = "runc", .root = root.string()};
    SBX_ASSIGN_OR_RETURN(ProcessResult r, runner_.Run(runc.State(id), {.timeout = 30s}));
    if (!r.ok()) return NotFound(r.err);
    return ParseRuncState(r.out);
  }

  SystemClock clock_;
  IdGenerator ids_{20261127};
  PosixProcessRunner runner_;
  LinuxSandboxHost host_{clock_};
  std::filesystem::path dir_;
  std::vector<LocalProviderOptions> made_;
};

}  // namespace sbx::provider::local
