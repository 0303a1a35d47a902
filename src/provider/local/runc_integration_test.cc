// LocalProvider with real runc and the real sandbox-hello, as root. Labelled
// `runc;integration` (run: ctest -L runc). These tests fail, never skip, when
// not root or runc is missing. Every test removes its containers in TearDown,
// also when it fails.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"
#include "provider/local/runc.h"
#include "provider/local/socket_loopback_network.h"

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

constexpr char kHelloBinaryDir[] = SBX_HELLO_BINARY_DIR;
constexpr char kTemplatesDir[] = SBX_TEMPLATES_DIR;

struct HelloState {
  std::string started_at;
  int64_t requests = 0;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

uint16_t PortOf(const ProviderSandbox& s) {
  // "http://127.0.0.1:<port>/"
  const std::string& url = s.url.value_or("");
  const size_t colon = url.rfind(':');
  return static_cast<uint16_t>(std::stoi(url.substr(colon + 1)));
}

class RuncIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u)
        << "sbx_local_runc_tests drive real runc containers and must run as root "
           "(exclude them with `ctest -LE runc`)";
    auto version = runner_.Run({"runc", "--version"}, {.timeout = 10s});
    ASSERT_TRUE(version.has_value() && version->ok())
        << "runc is not installed or not in PATH (apt-get install runc): "
        << (version.has_value() ? version->err : version.status().ToString());
    ASSERT_EQ(::access((std::filesystem::path(kHelloBinaryDir) / "sandbox-hello").c_str(), X_OK), 0)
        << "sandbox-hello is not built in " << kHelloBinaryDir;
    std::string tmpl = (std::filesystem::temp_directory_path() / "sbx-runc-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    // Independent of LocalProvider, so that cleanup works even if it is broken.
    for (const auto& root : roots_) {
      RuncCommands runc{.binary = "runc", .root = root.string()};
      auto listed = runner_.Run(runc.List(), {.timeout = 30s});
      if (!listed.has_value() || !listed->ok()) continue;
      auto containers = ParseRuncList(listed->out);
      if (!containers.has_value()) continue;
      for (const auto& c : *containers) {
        (void)runner_.Run(runc.Kill(c.id), {.timeout = 30s});
        auto deleted = runner_.Run(runc.ForceDelete(c.id), {.timeout = 30s});
        EXPECT_TRUE(deleted.has_value() && deleted->ok()) << "could not delete container " << c.id;
      }
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A provider with its own data dir (<tmp>/<name>/) and port range.
  std::unique_ptr<LocalProvider> MakeProvider(const std::string& name, uint16_t first_port,
                                              uint16_t last_port, IdGenerator& ids) {
    LocalProviderOptions options;
    options.runc_root = dir_ / name / "runc";
    options.sandboxes_dir = dir_ / name / "sandboxes";
    options.templates_dir = kTemplatesDir;
    options.binary_dir = kHelloBinaryDir;
    options.first_port = first_port;
    options.last_port = last_port;
    options.command_timeout = 60s;
    roots_.push_back(options.runc_root);
    return std::make_unique<LocalProvider>(clock_, ids, runner_, network_, options);
  }

  static CreateRequest Hello(const std::string& project) {
    return CreateRequest{
        .project_id = project, .template_name = "hello", .metadata = {{"projectId", project}}};
  }

  // GET /state of a running hello sandbox.
  HelloState GetState(uint16_t port) {
    auto r = network_.HttpGet(port, "/state", 5s);
    EXPECT_TRUE(r.has_value()) << r.status().ToString();
    if (!r.has_value()) return {};
    EXPECT_EQ(r->status, 200);
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r->body, ec);
    EXPECT_FALSE(ec) << r->body;
    if (ec || !v.is_object()) return {};
    HelloState s;
    if (auto* started = v.as_object().if_contains("startedAt"); started && started->is_string()) {
      s.started_at = std::string(started->get_string());
    }
    if (auto* requests = v.as_object().if_contains("requests"); requests) {
      s.requests = requests->to_number<int64_t>(ec);
    }
    return s;
  }

  Result<RuncContainer> RuncState(const std::filesystem::path& root, const std::string& id) {
    RuncCommands runc{.binary = "runc", .root = root.string()};
    SBX_ASSIGN_OR_RETURN(ProcessResult r, runner_.Run(runc.State(id), {.timeout = 30s}));
    if (!r.ok()) return NotFound(r.err);
    return ParseRuncState(r.out);
  }

  SystemClock clock_;
  IdGenerator ids_{20261127};
  PosixProcessRunner runner_;
  SocketLoopbackNetwork network_{clock_};
  std::filesystem::path dir_;
  std::vector<std::filesystem::path> roots_;
};

TEST_F(RuncIntegrationTest, HelloSurvivesPauseAndResume) {
  auto provider = MakeProvider("a", 42000, 42099, ids_);
  auto created = provider->Create(Hello("p1"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  const std::string id = created->sandbox_id;
  const uint16_t port = PortOf(*created);
  EXPECT_EQ(created->state, ProviderState::kRunning);
  EXPECT_GE(port, 42000);
  EXPECT_LE(port, 42099);
  EXPECT_EQ(created->url, "http://127.0.0.1:" + std::to_string(port) + "/");

  auto page = network_.HttpGet(port, "/", 5s);
  ASSERT_TRUE(page.has_value()) << page.status().ToString();
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("hello from sandbox"), std::string::npos) << page->body;

  const HelloState first = GetState(port);
  const HelloState second = GetState(port);
  EXPECT_FALSE(first.started_at.empty());
  EXPECT_EQ(second.requests, first.requests + 1);
  EXPECT_EQ(second.started_at, first.started_at);

  ASSERT_TRUE(provider->Pause(id).ok());
  ASSERT_TRUE(provider->Pause(id).ok()) << "pausing a paused sandbox is OK";
  auto frozen = network_.HttpGet(port, "/state", 300ms);
  EXPECT_EQ(frozen.status().code(), StatusCode::kDeadlineExceeded)
      << "a paused sandbox answered: " << (frozen.has_value() ? frozen->body : "");
  auto paused = provider->Get(id);
  ASSERT_TRUE(paused.has_value()) << paused.status().ToString();
  EXPECT_EQ(paused->state, ProviderState::kPaused);

  auto listed = provider->List();
  ASSERT_TRUE(listed.has_value()) << listed.status().ToString();
  EXPECT_TRUE(listed->complete);
  ASSERT_EQ(listed->sandboxes.size(), 1u);
  EXPECT_EQ(listed->sandboxes[0].sandbox_id, id);
  EXPECT_EQ(listed->sandboxes[0].state, ProviderState::kPaused);
  EXPECT_EQ(listed->sandboxes[0].url, created->url);
  EXPECT_EQ(listed->sandboxes[0].template_name, "hello");
  EXPECT_EQ(listed->sandboxes[0].metadata.at("projectId"), "p1");

  auto resumed = provider->Resume(id);
  ASSERT_TRUE(resumed.has_value()) << resumed.status().ToString();
  EXPECT_EQ(resumed->state, ProviderState::kRunning);
  const HelloState after = GetState(port);
  EXPECT_EQ(after.started_at, first.started_at) << "the process was restarted, not resumed";
  EXPECT_GT(after.requests, second.requests) << "the counter was reset";
  auto again = provider->Resume(id);
  ASSERT_TRUE(again.has_value()) << again.status().ToString();

  auto running = provider->List();
  ASSERT_TRUE(running.has_value()) << running.status().ToString();
  ASSERT_EQ(running->sandboxes.size(), 1u);
  EXPECT_EQ(running->sandboxes[0].state, ProviderState::kRunning);

  ASSERT_TRUE(provider->Kill(id).ok());
  EXPECT_EQ(RuncState(dir_ / "a" / "runc", id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a" / "sandboxes" / id));
  EXPECT_EQ(provider->Get(id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(provider->Kill(id).ok()) << "killing an absent sandbox is OK";
  auto empty = provider->List();
  ASSERT_TRUE(empty.has_value()) << empty.status().ToString();
  EXPECT_TRUE(empty->sandboxes.empty());
}

TEST_F(RuncIntegrationTest, CgroupLimitsApply) {
  auto provider = MakeProvider("a", 42000, 42099, ids_);
  auto created = provider->Create(Hello("p1"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  auto state = RuncState(dir_ / "a" / "runc", created->sandbox_id);
  ASSERT_TRUE(state.has_value()) << state.status().ToString();
  ASSERT_GT(state->pid, 0);

  // /proc/<pid>/cgroup: "4:memory:/<path>" (v1) or "0::/<path>" (v2).
  std::istringstream lines(ReadFile("/proc/" + std::to_string(state->pid) + "/cgroup"));
  std::string line;
  std::filesystem::path limit_file;
  std::string cgroup;
  while (std::getline(lines, line)) {
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (controllers == "memory") {
      limit_file = std::filesystem::path("/sys/fs/cgroup/memory" + path) / "memory.limit_in_bytes";
      cgroup = path;
    } else if (controllers.empty() && limit_file.empty() &&
               std::filesystem::exists("/sys/fs/cgroup" + path + "/memory.max")) {
      limit_file = std::filesystem::path("/sys/fs/cgroup" + path) / "memory.max";
      cgroup = path;
    }
  }
  ASSERT_FALSE(limit_file.empty()) << "no memory cgroup for pid " << state->pid;
  EXPECT_TRUE(cgroup.ends_with(provider->CgroupsPath(created->sandbox_id))) << cgroup;
  EXPECT_EQ(ReadFile(limit_file), std::to_string(64 * 1024 * 1024) + "\n")  // hello.json
      << limit_file;
}

TEST_F(RuncIntegrationTest, TwoInstancesRunSideBySide) {
  // Same id seed on purpose: both sandboxes get the same id, in different
  // runc roots and cgroups.
  IdGenerator ids_a(7);
  IdGenerator ids_b(7);
  auto a = MakeProvider("a", 42000, 42049, ids_a);
  auto b = MakeProvider("b", 42050, 42099, ids_b);
  auto in_a = a->Create(Hello("p1"));
  ASSERT_TRUE(in_a.has_value()) << in_a.status().ToString();
  auto in_b = b->Create(Hello("p1"));
  ASSERT_TRUE(in_b.has_value()) << in_b.status().ToString();
  EXPECT_EQ(in_a->sandbox_id, in_b->sandbox_id);
  EXPECT_NE(in_a->url, in_b->url);
  EXPECT_LT(PortOf(*in_a), 42050);
  EXPECT_GE(PortOf(*in_b), 42050);
  EXPECT_EQ(GetState(PortOf(*in_a)).requests, GetState(PortOf(*in_b)).requests);

  ASSERT_TRUE(a->Pause(in_a->sandbox_id).ok());
  auto b_state = b->Get(in_b->sandbox_id);
  ASSERT_TRUE(b_state.has_value()) << b_state.status().ToString();
  EXPECT_EQ(b_state->state, ProviderState::kRunning);
  ASSERT_TRUE(a->Kill(in_a->sandbox_id).ok());
  auto listed_b = b->List();
  ASSERT_TRUE(listed_b.has_value()) << listed_b.status().ToString();
  ASSERT_EQ(listed_b->sandboxes.size(), 1u);
  EXPECT_GT(GetState(PortOf(*in_b)).requests, 0);
  ASSERT_TRUE(b->Kill(in_b->sandbox_id).ok());
}

TEST_F(RuncIntegrationTest, ConcurrentCreatesServeOnDistinctPorts) {
  auto provider = MakeProvider("a", 42000, 42099, ids_);
  std::vector<Result<ProviderSandbox>> results(3, Result<ProviderSandbox>(Internal("unset")));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = provider->Create(Hello("p" + std::to_string(i))); });
  }
  for (auto& t : threads) t.join();
  std::set<uint16_t> ports;
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value()) << r.status().ToString();
    ports.insert(PortOf(*r));
    EXPECT_GT(GetState(PortOf(*r)).requests, 0);
  }
  EXPECT_EQ(ports.size(), 3u);
  auto listed = provider->List();
  ASSERT_TRUE(listed.has_value()) << listed.status().ToString();
  EXPECT_EQ(listed->sandboxes.size(), 3u);
}

TEST_F(RuncIntegrationTest, RestartedProviderRecoversAndKillsPausedSandbox) {
  auto first = MakeProvider("a", 42000, 42099, ids_);
  auto created = first->Create(Hello("p9"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  ASSERT_TRUE(first->Pause(created->sandbox_id).ok());
  first.reset();

  auto second = MakeProvider("a", 42000, 42099, ids_);
  auto listed = second->List();
  ASSERT_TRUE(listed.has_value()) << listed.status().ToString();
  ASSERT_EQ(listed->sandboxes.size(), 1u);
  EXPECT_EQ(listed->sandboxes[0].sandbox_id, created->sandbox_id);
  EXPECT_EQ(listed->sandboxes[0].state, ProviderState::kPaused);
  EXPECT_EQ(listed->sandboxes[0].url, created->url);
  EXPECT_EQ(listed->sandboxes[0].metadata.at("projectId"), "p9");

  // A new sandbox must not take the port the paused one holds.
  auto other = second->Create(Hello("p10"));
  ASSERT_TRUE(other.has_value()) << other.status().ToString();
  EXPECT_NE(other->url, created->url);

  ASSERT_TRUE(second->Kill(created->sandbox_id).ok());
  EXPECT_EQ(RuncState(dir_ / "a" / "runc", created->sandbox_id).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(second->Kill(other->sandbox_id).ok());
}

TEST_F(RuncIntegrationTest, CreateReportsProcessThatExitsAndCleansUp) {
  auto provider = MakeProvider("a", 42000, 42099, ids_);
  // A second templates dir with a template whose process dies at once.
  LocalProviderOptions options = provider->options();
  options.templates_dir = dir_ / "templates";
  std::filesystem::create_directories(options.templates_dir);
  std::ofstream(options.templates_dir / "crash.json")
      << R"({"name": "crash", "command": ["/bin/sh", "-c", "echo boom from crash >&2; exit 3"],
             "startTimeoutMs": 5000})";
  LocalProvider crashing(clock_, ids_, runner_, network_, options);
  CreateRequest request = Hello("p1");
  request.template_name = "crash";
  auto created = crashing.Create(request);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.status().code(), StatusCode::kUnavailable) << created.status().ToString();
  EXPECT_NE(created.status().message().find("boom from crash"), std::string::npos)
      << created.status().ToString();
  auto listed = crashing.List();
  ASSERT_TRUE(listed.has_value()) << listed.status().ToString();
  EXPECT_TRUE(listed->sandboxes.empty());
  EXPECT_TRUE(std::filesystem::is_empty(options.sandboxes_dir));
}

TEST_F(RuncIntegrationTest, CrashedSandboxIsDeletedByList) {
  auto provider = MakeProvider("a", 42000, 42099, ids_);
  auto created = provider->Create(Hello("p1"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  auto state = RuncState(dir_ / "a" / "runc", created->sandbox_id);
  ASSERT_TRUE(state.has_value()) << state.status().ToString();
  // Kill the process behind runc's back; wait (bounded) until runc sees it stopped.
  ASSERT_EQ(::kill(static_cast<pid_t>(state->pid), SIGKILL), 0);
  for (int i = 0; i < 100; ++i) {
    auto s = RuncState(dir_ / "a" / "runc", created->sandbox_id);
    if (s.has_value() && s->status == RuncStatus::kStopped) break;
    clock_.BlockingSleep(20ms);
  }
  auto listed = provider->List();
  ASSERT_TRUE(listed.has_value()) << listed.status().ToString();
  EXPECT_TRUE(listed->sandboxes.empty());
  EXPECT_EQ(RuncState(dir_ / "a" / "runc", created->sandbox_id).status().code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a" / "sandboxes" / created->sandbox_id));
}

}  // namespace
}  // namespace sbx::provider::local
