// LocalProvider against FakeRunc, FakeLoopbackNetwork and a FakeClock: no
// root, no runc, no sockets, no sleeping.
#include "provider/local/local_provider.h"

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "base/testing/fake_clock.h"
#include "provider/local/testing/fake_loopback_network.h"
#include "provider/local/testing/fake_process_runner.h"
#include "provider/local/testing/fake_runc.h"

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

class LocalProviderTest : public ::testing::Test {
 protected:
  LocalProviderTest()
      : root_(std::filesystem::path(::testing::TempDir()) /
              ("local_provider_test_" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()))),
        runc_(runner_) {
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "templates");
    std::filesystem::create_directories(root_ / "bin");
    WriteFile(root_ / "templates" / "hello.json", R"({
      "name": "hello", "command": ["sandbox-hello", "--quiet"], "readinessPath": "/state",
      "memoryLimitMiB": 64, "pidsLimit": 32, "startTimeoutMs": 1000})");
    WriteFile(root_ / "bin" / "sandbox-hello", "#!/bin/sh\n");
    std::filesystem::permissions(root_ / "bin" / "sandbox-hello",
                                 std::filesystem::perms::owner_all);
    options_.runc_binary = "/usr/sbin/runc";
    options_.runc_root = root_ / "data" / "runc";
    options_.sandboxes_dir = root_ / "data" / "sandboxes";
    options_.templates_dir = root_ / "templates";
    options_.binary_dir = root_ / "bin";
    options_.first_port = 42000;
    options_.last_port = 42004;
    options_.readiness_timeout = 500ms;
    provider_ =
        std::make_unique<LocalProvider>(clock_, ids_, runner_, network_, options_);
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
  CreateRequest Hello(const std::string& project = "p1") const {
    return CreateRequest{
        .project_id = project, .template_name = "hello", .metadata = {{"projectId", project}}};
  }
  // The verbs ("run", "state", …) of the runc commands issued so far.
  std::vector<std::string> Verbs() const {
    std::vector<std::string> out;
    for (const auto& argv : runner_.commands()) out.push_back(argv.size() > 3 ? argv[3] : "?");
    return out;
  }
  bool Issued(const std::string& verb) const {
    auto verbs = Verbs();
    return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
  }

  std::filesystem::path root_;
  FakeClock clock_;
  IdGenerator ids_{42};
  FakeProcessRunner runner_;
  FakeRunc runc_;
  FakeLoopbackNetwork network_;
  LocalProviderOptions options_;
  std::unique_ptr<LocalProvider> provider_;
};

TEST_F(LocalProviderTest, CreateStartsContainerAndWaitsUntilItServes) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  EXPECT_TRUE(s->sandbox_id.starts_with("sbx"));
  EXPECT_EQ(s->sandbox_id.size(), 20u);
  EXPECT_TRUE(IsValidSandboxId(s->sandbox_id));
  EXPECT_EQ(s->state, ProviderState::kRunning);
  EXPECT_EQ(s->url, "http://127.0.0.1:42000/");
  EXPECT_EQ(s->template_name, "hello");
  EXPECT_EQ(s->metadata, (core::Metadata{{"projectId", "p1"}}));
  EXPECT_EQ(s->started_at, FromUnixMillis(1'767'225'600'000));

  // runc run --detach on the bundle, stdio into the bundle's output log.
  const std::string id = s->sandbox_id;
  bool ran = false;
  const auto commands = runner_.commands();
  const auto run_options = runner_.run_options();
  for (size_t i = 0; i < commands.size(); ++i) {
    if (commands[i].size() > 3 && commands[i][3] == "run") {
      ran = true;
      EXPECT_EQ(commands[i],
                (std::vector<std::string>{"/usr/sbin/runc", "--root", options_.runc_root.string(),
                                          "run", "--detach", "--bundle", Bundle(id).string(), id}));
      EXPECT_EQ(run_options[i].output_file, Bundle(id) / "output.log");
    } else {
      EXPECT_FALSE(run_options[i].output_file.has_value()) << FormatCommand(commands[i]);
    }
  }
  EXPECT_TRUE(ran);
  EXPECT_EQ(network_.gets().front(), (std::pair<uint16_t, std::string>{42000, "/state"}));
}

TEST_F(LocalProviderTest, CreateWritesBundleForTemplate) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  const std::filesystem::path bundle = Bundle(s->sandbox_id);
  EXPECT_TRUE(std::filesystem::is_directory(bundle / "rootfs"));
  EXPECT_TRUE(std::filesystem::is_directory(bundle / "home"));
  boost::system::error_code ec;
  boost::json::value config = boost::json::parse(ReadFile(bundle / "config.json"), ec);
  ASSERT_FALSE(ec);
  const auto& process = config.at("process");
  EXPECT_EQ(process.at("args"), (boost::json::array{"/opt/template/sandbox-hello", "--quiet"}));
  const auto& env = process.at("env").as_array();
  EXPECT_NE(std::find(env.begin(), env.end(), boost::json::value("PORT=42000")), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), boost::json::value("HOME=/home/sandbox")), env.end());
  const auto& linux_cfg = config.at("linux");
  EXPECT_EQ(linux_cfg.at("resources").at("memory").at("limit"), 64 * 1024 * 1024);
  EXPECT_EQ(linux_cfg.at("resources").at("pids").at("limit"), 32);
  EXPECT_EQ(linux_cfg.at("cgroupsPath"), boost::json::value(provider_->CgroupsPath(s->sandbox_id)));
  bool program_mounted = false;
  for (const auto& m : config.at("mounts").as_array()) {
    if (m.at("destination") == "/opt/template") {
      program_mounted = true;
      EXPECT_EQ(m.at("source"), boost::json::value((root_ / "bin").string()));
    }
  }
  EXPECT_TRUE(program_mounted);
  const auto& annotations = config.at("annotations");
  EXPECT_EQ(annotations.at("sandboxd.port"), "42000");
  EXPECT_EQ(annotations.at("sandboxd.project"), "p1");
  EXPECT_EQ(annotations.at("sandboxd.template"), "hello");
  EXPECT_EQ(annotations.at("sandboxd.meta.projectId"), "p1");
}

TEST_F(LocalProviderTest, CreateSkipsPortsInUse) {
  network_.SetBusy(42000, true);  // some other process listens there
  RuncContainer leftover{.id = "sbxold",
                         .pid = 7,
                         .status = RuncStatus::kPaused,
                         .bundle = Bundle("sbxold").string(),
                         .created = FromUnixMillis(0),
                         .annotations = {{"sandboxd.port", "42001"}}};
  runc_.Put(leftover);
  auto a = provider_->Create(Hello("p1"));
  ASSERT_TRUE(a.has_value()) << a.status().ToString();
  EXPECT_EQ(a->url, "http://127.0.0.1:42002/");
  auto b = provider_->Create(Hello("p2"));
  ASSERT_TRUE(b.has_value()) << b.status().ToString();
  EXPECT_EQ(b->url, "http://127.0.0.1:42003/");
  EXPECT_NE(a->sandbox_id, b->sandbox_id);
}

TEST_F(LocalProviderTest, ConcurrentCreatesGetDistinctPorts) {
  std::vector<Result<ProviderSandbox>> results(5, Result<ProviderSandbox>(Internal("unset")));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = provider_->Create(Hello("p" + std::to_string(i))); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> urls;
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value()) << r.status().ToString();
    urls.insert(*r->url);
  }
  EXPECT_EQ(urls.size(), 5u);
  // The range (5 ports) is now full.
  EXPECT_EQ(provider_->Create(Hello("p9")).status().code(), StatusCode::kUnavailable);
}

TEST_F(LocalProviderTest, CreateFailsWhenRangeIsExhausted) {
  for (uint16_t p = 42000; p <= 42004; ++p) network_.SetBusy(p, true);
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("42000-42004"), std::string::npos) << s.status().message();
  EXPECT_FALSE(Issued("run"));
  EXPECT_TRUE(std::filesystem::is_empty(options_.sandboxes_dir));
}

TEST_F(LocalProviderTest, CreateRejectsUnknownTemplateAndMissingProgram) {
  CreateRequest request = Hello();
  request.template_name = "nope";
  EXPECT_EQ(provider_->Create(request).status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove(root_ / "bin" / "sandbox-hello");
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("sandbox-hello"), std::string::npos);
  EXPECT_TRUE(runner_.commands().empty());
}

TEST_F(LocalProviderTest, CreateCleansUpWhenRuncRunFails) {
  runc_.FailNextRun("unable to start container process: exec: no such file");
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("unable to start container process"), std::string::npos)
      << s.status().message();
  EXPECT_TRUE(Issued("delete"));
  EXPECT_TRUE(std::filesystem::is_empty(options_.sandboxes_dir));
  // The port is free again.
  auto again = provider_->Create(Hello());
  ASSERT_TRUE(again.has_value()) << again.status().ToString();
}

TEST_F(LocalProviderTest, CreateTimesOutAndRemovesSandboxThatNeverServes) {
  network_.SetHttpHandler([](uint16_t, const std::string&) -> Result<HttpResponse> {
    return Unavailable("connect: Connection refused");
  });
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.status().message().find("Connection refused"), std::string::npos)
      << s.status().message();
  EXPECT_EQ(clock_.total_blocking_sleep(), 1000ms);  // the template's startTimeoutMs, 50 ms at a time
  EXPECT_TRUE(runc_.containers().empty());
  EXPECT_TRUE(std::filesystem::is_empty(options_.sandboxes_dir));
}

TEST_F(LocalProviderTest, CreateNon2xxIsNotReady) {
  network_.SetHttpHandler([](uint16_t, const std::string&) -> Result<HttpResponse> {
    return HttpResponse{.status = 500, .body = "boom"};
  });
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.status().message().find("HTTP 500"), std::string::npos) << s.status().message();
}

TEST_F(LocalProviderTest, CreateFailsEarlyWhenProcessExits) {
  network_.SetHttpHandler([this](uint16_t, const std::string&) -> Result<HttpResponse> {
    for (const auto& [id, c] : runc_.containers()) runc_.Stop(id);
    return Unavailable("connect: Connection refused");
  });
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("exited before serving"), std::string::npos)
      << s.status().message();
  EXPECT_LT(clock_.total_blocking_sleep(), 1000ms);
  EXPECT_TRUE(runc_.containers().empty());
}

TEST_F(LocalProviderTest, PauseAndResumeAreIdempotent) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  const std::string id = s->sandbox_id;

  ASSERT_TRUE(provider_->Pause(id).ok());
  EXPECT_EQ(runc_.containers().at(id).status, RuncStatus::kPaused);
  EXPECT_TRUE(provider_->Pause(id).ok());  // already paused
  auto paused = provider_->Get(id);
  ASSERT_TRUE(paused.has_value());
  EXPECT_EQ(paused->state, ProviderState::kPaused);

  const size_t probes_before = network_.gets().size();
  auto resumed = provider_->Resume(id);
  ASSERT_TRUE(resumed.has_value()) << resumed.status().ToString();
  EXPECT_EQ(resumed->state, ProviderState::kRunning);
  EXPECT_EQ(resumed->url, s->url);
  EXPECT_GT(network_.gets().size(), probes_before);  // waited for it to serve again
  auto again = provider_->Resume(id);                // already running
  ASSERT_TRUE(again.has_value()) << again.status().ToString();
  EXPECT_EQ(again->state, ProviderState::kRunning);
}

TEST_F(LocalProviderTest, ResumeTimesOutWhenSandboxDoesNotServe) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  ASSERT_TRUE(provider_->Pause(s->sandbox_id).ok());
  network_.SetHttpHandler([](uint16_t, const std::string&) -> Result<HttpResponse> {
    return DeadlineExceeded("no answer");
  });
  auto r = provider_->Resume(s->sandbox_id);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
}

TEST_F(LocalProviderTest, UnknownSandboxIsNotFoundButKillIsOk) {
  EXPECT_EQ(provider_->Pause("sbxmissing").code(), StatusCode::kNotFound);
  EXPECT_EQ(provider_->Resume("sbxmissing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(provider_->Get("sbxmissing").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(provider_->Kill("sbxmissing").ok());
  // Ids that could escape the sandboxes dir never reach runc.
  runner_.ClearCommands();
  EXPECT_EQ(provider_->Get("../etc").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(provider_->Kill("../etc").ok());
  EXPECT_TRUE(runner_.commands().empty());
}

TEST_F(LocalProviderTest, KillRemovesContainerAndBundleEvenWhenPaused) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  ASSERT_TRUE(provider_->Pause(s->sandbox_id).ok());
  ASSERT_TRUE(provider_->Kill(s->sandbox_id).ok());
  EXPECT_TRUE(runc_.containers().empty());
  EXPECT_FALSE(std::filesystem::exists(Bundle(s->sandbox_id)));
  EXPECT_TRUE(provider_->Kill(s->sandbox_id).ok());  // again: absent is fine
}

TEST_F(LocalProviderTest, ListReturnsRunningAndPausedAndDeletesStopped) {
  auto a = provider_->Create(Hello("p1"));
  auto b = provider_->Create(Hello("p2"));
  auto c = provider_->Create(Hello("p3"));
  ASSERT_TRUE(a.has_value() && b.has_value() && c.has_value());
  ASSERT_TRUE(provider_->Pause(b->sandbox_id).ok());
  runc_.Stop(c->sandbox_id);

  auto list = provider_->List();
  ASSERT_TRUE(list.has_value()) << list.status().ToString();
  EXPECT_TRUE(list->complete);
  std::map<std::string, ProviderSandbox> by_id;
  for (const auto& s : list->sandboxes) by_id[s.sandbox_id] = s;
  ASSERT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id.at(a->sandbox_id).state, ProviderState::kRunning);
  EXPECT_EQ(by_id.at(a->sandbox_id).url, a->url);
  EXPECT_EQ(by_id.at(a->sandbox_id).metadata.at("projectId"), "p1");
  EXPECT_EQ(by_id.at(b->sandbox_id).state, ProviderState::kPaused);
  EXPECT_FALSE(runc_.containers().contains(c->sandbox_id));
  EXPECT_FALSE(std::filesystem::exists(Bundle(c->sandbox_id)));
}

TEST_F(LocalProviderTest, ListFailsWhenRuncFails) {
  ProcessResult failed;
  failed.exit_code = 1;
  failed.err = "time=\"t\" level=error msg=\"open /data/runc: permission denied\"\n";
  runner_.PushResult(failed);
  auto list = provider_->List();
  EXPECT_EQ(list.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(list.status().message().find("permission denied"), std::string::npos);
}

TEST_F(LocalProviderTest, RuncTimeoutPropagates) {
  runner_.PushResult(DeadlineExceeded("runc --root /r pause x: timed out after 30000ms"));
  EXPECT_EQ(provider_->Pause("x").code(), StatusCode::kDeadlineExceeded);
}

TEST_F(LocalProviderTest, GetRecoversSandboxFromAnnotations) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  // A fresh provider (sandboxd restarted) knows it from runc alone.
  LocalProvider restarted(clock_, ids_, runner_, network_, options_);
  auto got = restarted.Get(s->sandbox_id);
  ASSERT_TRUE(got.has_value()) << got.status().ToString();
  EXPECT_EQ(got->url, s->url);
  EXPECT_EQ(got->template_name, "hello");
  EXPECT_EQ(got->metadata, s->metadata);
  runc_.Stop(s->sandbox_id);
  EXPECT_EQ(restarted.Get(s->sandbox_id).status().code(), StatusCode::kNotFound);
}

TEST_F(LocalProviderTest, SetTimeoutIsANoOp) {
  EXPECT_TRUE(provider_->SetTimeout("sbxany", 60s).ok());
  EXPECT_TRUE(runner_.commands().empty());
}

TEST_F(LocalProviderTest, CgroupPathsDifferPerRuncRoot) {
  LocalProviderOptions other = options_;
  other.runc_root = root_ / "other" / "runc";
  LocalProvider second(clock_, ids_, runner_, network_, other);
  EXPECT_NE(provider_->CgroupsPath("sbx1"), second.CgroupsPath("sbx1"));
  EXPECT_TRUE(provider_->CgroupsPath("sbx1").starts_with("sandboxd-"));
  EXPECT_TRUE(provider_->CgroupsPath("sbx1").ends_with("-sbx1"));
}

}  // namespace
}  // namespace sbx::provider::local
