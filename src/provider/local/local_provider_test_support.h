// Shared by the LocalProvider tests: the LocalProviderTest fixture (FakeRunc,
// FakeSandboxHost, a FakeClock). Included only by this directory's *_test.cc files.
#pragma once

#include "provider/local/local_provider.h"

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "base/testing/fake_clock.h"
#include "provider/local/testing/fake_process_runner.h"
#include "provider/local/testing/fake_runc.h"
#include "provider/local/testing/fake_sandbox_host.h"

namespace sbx::provider::local {

using namespace std::chrono_literals;

class LocalProviderTest : public ::testing::Test {
 protected:
  LocalProviderTest()
      : root_(std::filesystem::path(::testing::TempDir()) /
              ("local_provider_test_" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()))),
        runc_(runner_, &host_) {
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "templates");
    std::filesystem::create_directories(root_ / "bin");
    WriteFile(root_ / "templates" / "hello.json", R"({
      "name": "hello", "command": ["sandbox-hello", "--quiet"], "readinessPath": "/state",
      "memoryLimitMiB": 64, "pidsLimit": 32, "startTimeoutMs": 1000, "diskLimitMiB": 16})");
    WriteFile(root_ / "templates" / "web.json", R"({
      "name": "web", "command": ["sandbox-hello"], "port": 3000, "egress": "internet",
      "cpuMillis": 250})");
    WriteFile(root_ / "bin" / "sandbox-hello", "#!/bin/sh\n");
    std::filesystem::permissions(root_ / "bin" / "sandbox-hello",
                                 std::filesystem::perms::owner_all);
    options_.runc_binary = "/usr/sbin/runc";
    options_.runc_root = root_ / "data" / "runc";
    options_.sandboxes_dir = root_ / "data" / "sandboxes";
    options_.templates_dir = root_ / "templates";
    options_.binary_dir = root_ / "bin";
    options_.netns_dir = root_ / "netns";
    options_.uid_claims_dir = root_ / "uid-claims";
    options_.readiness_timeout = 500ms;
    provider_ = std::make_unique<LocalProvider>(clock_, ids_, runner_, host_, options_);
  }
  ~LocalProviderTest() override { std::filesystem::remove_all(root_); }

  static void WriteFile(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  static std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::filesystem::path Bundle(const std::string& id) const { return options_.sandboxes_dir / id; }
  // The bundle directories in the sandboxes dir (the golden images are not).
  std::vector<std::string> Bundles() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(options_.sandboxes_dir, ec)) {
      if (IsValidSandboxId(e.path().filename().string())) {
        out.push_back(e.path().filename().string());
      }
    }
    return out;
  }
  bool NothingLeft() const {
    return Bundles().empty() && host_.netns().empty() && host_.mounts().empty() &&
           host_.processes().empty() && host_.loops().empty() &&
           (!std::filesystem::exists(options_.uid_claims_dir) ||
            std::filesystem::is_empty(options_.uid_claims_dir));
  }
  CreateRequest Hello(const std::string& project = "p1") const {
    return CreateRequest{
        .project_id = project, .template_name = "hello", .metadata = {{"projectId", project}}};
  }
  // The verbs ("run", "state", …) of the runc commands issued so far.
  std::vector<std::string> Verbs() const {
    std::vector<std::string> out;
    for (const auto& argv : runner_.commands()) {
      if (argv.empty() || argv[0] != options_.runc_binary || argv.size() < 4) continue;
      out.push_back(argv[3] == "--log" && argv.size() > 5 ? argv[5] : argv[3]);
    }
    return out;
  }
  bool Issued(const std::string& verb) const {
    auto verbs = Verbs();
    return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
  }
  // The non-runc commands whose program is `program`.
  std::vector<std::vector<std::string>> Commands(const std::string& program) const {
    std::vector<std::vector<std::string>> out;
    for (const auto& argv : runner_.commands()) {
      if (!argv.empty() && argv[0] == program) out.push_back(argv);
    }
    return out;
  }
  boost::json::value Config(const std::string& id) const {
    boost::system::error_code ec;
    boost::json::value config = boost::json::parse(ReadFile(Bundle(id) / "config.json"), ec);
    EXPECT_FALSE(ec);
    return config;
  }

  std::filesystem::path root_;
  FakeClock clock_;
  IdGenerator ids_{42};
  FakeProcessRunner runner_;
  FakeSandboxHost host_;
  FakeRunc runc_;
  LocalProviderOptions options_;
  std::unique_ptr<LocalProvider> provider_;
};

}  // namespace sbx::provider::local
