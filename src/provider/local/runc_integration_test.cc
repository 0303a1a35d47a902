// LocalProvider with real runc and the real sandbox-hello, as root. Labelled
// `runc;integration` (run: ctest -L runc). These tests fail, never skip, when
// not root or a tool is missing. See runc_test_env.h for the fixture.
#include <signal.h>
#include <sys/stat.h>

#include <set>
#include <thread>

#include "provider/local/runc_test_env.h"

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

struct HelloState {
  std::string started_at;
  int64_t requests = 0;
};

class RuncIntegrationTest : public RuncTest {
 protected:
  static CreateRequest Hello(const std::string& project) { return Request(project, "hello"); }

  // GET /state of a running hello sandbox.
  HelloState GetState(LocalProvider& provider, const std::string& id) {
    auto r = Get(provider, id, "/state");
    EXPECT_TRUE(r.has_value()) << r.status().ToString();
    if (!r.has_value()) return {};
    EXPECT_EQ(r->status, 200);
    boost::json::value v = ParseJson(r->body);
    if (!v.is_object()) return {};
    HelloState s;
    if (auto* started = v.as_object().if_contains("startedAt"); started && started->is_string()) {
      s.started_at = std::string(started->get_string());
    }
    if (auto* requests = v.as_object().if_contains("requests"); requests) {
      boost::system::error_code ec;
      s.requests = requests->to_number<int64_t>(ec);
    }
    return s;
  }

  // "Uid:\t<real>\t<effective>…" of /proc/<pid>/status, as host ids.
  static std::vector<int64_t> HostIds(int64_t pid, std::string_view field) {
    std::istringstream lines(ReadFile("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    std::vector<int64_t> out;
    while (std::getline(lines, line)) {
      if (!line.starts_with(field)) continue;
      std::istringstream values(line.substr(field.size()));
      int64_t v = 0;
      while (values >> v) out.push_back(v);
    }
    return out;
  }
};

TEST_F(RuncIntegrationTest, HelloSurvivesPauseAndResume) {
  auto provider = MakeProvider("a");
  auto created = provider->Create(Hello("p1"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  const std::string id = created->sandbox_id;
  EXPECT_EQ(created->state, ProviderState::kRunning);
  EXPECT_EQ(created->url, "http://8080-" + id + ".sandbox.internal/");
  EXPECT_EQ(*provider->SandboxPort(id), 8080);

  auto page = Get(*provider, id, "/");
  ASSERT_TRUE(page.has_value()) << page.status().ToString();
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("hello from sandbox"), std::string::npos) << page->body;

  const HelloState first = GetState(*provider, id);
  const HelloState second = GetState(*provider, id);
  EXPECT_FALSE(first.started_at.empty());
  EXPECT_EQ(second.requests, first.requests + 1);
  EXPECT_EQ(second.started_at, first.started_at);

  ASSERT_TRUE(provider->Pause(id).ok());
  ASSERT_TRUE(provider->Pause(id).ok()) << "pausing a paused sandbox is OK";
  auto frozen = Get(*provider, id, "/state", 300ms);
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
  EXPECT_EQ(listed->sandboxes[0].template_name, "hello");
  EXPECT_EQ(listed->sandboxes[0].metadata.at("projectId"), "p1");
  EXPECT_TRUE(std::filesystem::exists(provider->names().Netns(id)))
      << "the namespace, home and logger outlive a pause";

  auto resumed = provider->Resume(id);
  ASSERT_TRUE(resumed.has_value()) << resumed.status().ToString();
  EXPECT_EQ(resumed->state, ProviderState::kRunning);
  const HelloState after = GetState(*provider, id);
  EXPECT_EQ(after.started_at, first.started_at) << "the process was restarted, not resumed";
  EXPECT_GT(after.requests, second.requests) << "the counter was reset";
  auto again = provider->Resume(id);
  ASSERT_TRUE(again.has_value()) << again.status().ToString();

  ASSERT_TRUE(provider->Kill(id).ok());
  EXPECT_EQ(RuncState(dir_ / "a" / "runc", id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a" / "sandboxes" / id));
  EXPECT_FALSE(std::filesystem::exists(provider->names().Netns(id)));
  EXPECT_EQ(provider->Get(id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(provider->Kill(id).ok()) << "killing an absent sandbox is OK";
  auto empty = provider->List();
  ASSERT_TRUE(empty.has_value()) << empty.status().ToString();
  EXPECT_TRUE(empty->sandboxes.empty());
}

TEST_F(RuncIntegrationTest, NoProcessOfASandboxIsHostRoot) {
  auto provider = MakeProvider("a");
  auto created = provider->Create(Hello("p1"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  auto state = RuncState(dir_ / "a" / "runc", created->sandbox_id);
  ASSERT_TRUE(state.has_value()) << state.status().ToString();
  // /proc/<pid>/uid_map: "0 <first host id of the slice> 65536".
  std::istringstream map(ReadFile("/proc/" + std::to_string(state->pid) + "/uid_map"));
  int64_t inside = -1;
  int64_t base = -1;
  int64_t size = -1;
  map >> inside >> base >> size;
  EXPECT_EQ(inside, 0);
  EXPECT_GE(base, int64_t{0x70000000}) << "root maps into the unprivileged range";
  EXPECT_EQ(size, 65536);
  const std::vector<int64_t> uids = HostIds(state->pid, "Uid:");
  const std::vector<int64_t> gids = HostIds(state->pid, "Gid:");
  ASSERT_EQ(uids.size(), 4u);
  for (int64_t uid : uids) EXPECT_EQ(uid, base + 1000) << "real, effective, saved, fs";
  for (int64_t gid : gids) EXPECT_EQ(gid, base + 1000);
  EXPECT_NE(ReadFile("/proc/" + std::to_string(state->pid) + "/status")
                .find("CapEff:\t0000000000000000"),
            std::string::npos);
  EXPECT_NE(ReadFile("/proc/" + std::to_string(state->pid) + "/status").find("NoNewPrivs:\t1"),
            std::string::npos);
  EXPECT_NE(ReadFile("/proc/" + std::to_string(state->pid) + "/status").find("Seccomp:\t2"),
            std::string::npos);
  // The helpers run as the sandbox's mapped root or drop their privileges.
  auto helpers = host_.FindProcesses(provider->names().Token(created->sandbox_id));
  ASSERT_TRUE(helpers.has_value());
  bool logger_seen = false;
  for (const auto& p : *helpers) {
    if (p.exe_name != "sandbox-logger") continue;
    logger_seen = true;
    for (int64_t uid : HostIds(p.pid, "Uid:")) EXPECT_EQ(uid, base) << "the slice's root";
  }
  EXPECT_TRUE(logger_seen);
}

TEST_F(RuncIntegrationTest, CgroupLimitsApply) {
  auto provider = MakeProvider("a");
  auto created = provider->Create(Hello("p1"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  auto state = RuncState(dir_ / "a" / "runc", created->sandbox_id);
  ASSERT_TRUE(state.has_value()) << state.status().ToString();
  ASSERT_GT(state->pid, 0);

  // /proc/<pid>/cgroup: "4:memory:/<path>" (v1) or "0::/<path>" (v2).
  std::istringstream lines(ReadFile("/proc/" + std::to_string(state->pid) + "/cgroup"));
  std::string line;
  std::filesystem::path memory_limit;
  std::filesystem::path cpu_limit;
  std::string cgroup;
  while (std::getline(lines, line)) {
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (controllers == "memory") {
      memory_limit = std::filesystem::path("/sys/fs/cgroup/memory" + path) / "memory.limit_in_bytes";
      cgroup = path;
    } else if (controllers == "cpu" || controllers == "cpu,cpuacct") {
      cpu_limit = std::filesystem::path("/sys/fs/cgroup/" + controllers + path) / "cpu.cfs_quota_us";
    } else if (controllers.empty() && memory_limit.empty() &&
               std::filesystem::exists("/sys/fs/cgroup" + path + "/memory.max")) {
      memory_limit = std::filesystem::path("/sys/fs/cgroup" + path) / "memory.max";
      cpu_limit = std::filesystem::path("/sys/fs/cgroup" + path) / "cpu.max";
      cgroup = path;
    }
  }
  ASSERT_FALSE(memory_limit.empty()) << "no memory cgroup for pid " << state->pid;
  EXPECT_TRUE(cgroup.ends_with(provider->CgroupsPath(created->sandbox_id))) << cgroup;
  EXPECT_EQ(ReadFile(memory_limit), std::to_string(64 * 1024 * 1024) + "\n")  // hello.json
      << memory_limit;
  ASSERT_FALSE(cpu_limit.empty());
  const std::string cpu = ReadFile(cpu_limit);
  EXPECT_TRUE(cpu == "50000\n" || cpu == "50000 100000\n") << cpu_limit << ": " << cpu;
}

TEST_F(RuncIntegrationTest, TwoInstancesRunSideBySide) {
  // Same id seed on purpose: both sandboxes get the same id, in different
  // runc roots, cgroups and namespaces, on the same port.
  IdGenerator ids_a(7);
  IdGenerator ids_b(7);
  auto a = MakeProvider(ids_a, Options("a"));
  auto b = MakeProvider(ids_b, Options("b"));
  auto in_a = a->Create(Hello("p1"));
  ASSERT_TRUE(in_a.has_value()) << in_a.status().ToString();
  auto in_b = b->Create(Hello("p1"));
  ASSERT_TRUE(in_b.has_value()) << in_b.status().ToString();
  EXPECT_EQ(in_a->sandbox_id, in_b->sandbox_id);
  EXPECT_NE(a->names().Netns(in_a->sandbox_id), b->names().Netns(in_b->sandbox_id));
  EXPECT_EQ(GetState(*a, in_a->sandbox_id).requests, GetState(*b, in_b->sandbox_id).requests);

  ASSERT_TRUE(a->Pause(in_a->sandbox_id).ok());
  auto b_state = b->Get(in_b->sandbox_id);
  ASSERT_TRUE(b_state.has_value()) << b_state.status().ToString();
  EXPECT_EQ(b_state->state, ProviderState::kRunning);
  ASSERT_TRUE(a->Kill(in_a->sandbox_id).ok());
  auto listed_b = b->List();  // sweeps b's leftovers only
  ASSERT_TRUE(listed_b.has_value()) << listed_b.status().ToString();
  ASSERT_EQ(listed_b->sandboxes.size(), 1u);
  EXPECT_GT(GetState(*b, in_b->sandbox_id).requests, 0);
  ASSERT_TRUE(b->Kill(in_b->sandbox_id).ok());
}

TEST_F(RuncIntegrationTest, ConcurrentCreatesAllServe) {
  auto provider = MakeProvider("a");
  std::vector<Result<ProviderSandbox>> results(3, Result<ProviderSandbox>(Internal("unset")));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = provider->Create(Hello("p" + std::to_string(i))); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value()) << r.status().ToString();
    EXPECT_GT(GetState(*provider, r->sandbox_id).requests, 0);
  }
  auto listed = provider->List();
  ASSERT_TRUE(listed.has_value()) << listed.status().ToString();
  EXPECT_EQ(listed->sandboxes.size(), 3u);
}

TEST_F(RuncIntegrationTest, RestartedProviderRecoversAndKillsPausedSandbox) {
  auto first = MakeProvider("a");
  auto created = first->Create(Hello("p9"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  ASSERT_TRUE(first->Pause(created->sandbox_id).ok());
  first.reset();

  auto second = MakeProvider("a");
  auto listed = second->List();
  ASSERT_TRUE(listed.has_value()) << listed.status().ToString();
  ASSERT_EQ(listed->sandboxes.size(), 1u);
  EXPECT_EQ(listed->sandboxes[0].sandbox_id, created->sandbox_id);
  EXPECT_EQ(listed->sandboxes[0].state, ProviderState::kPaused);
  EXPECT_EQ(listed->sandboxes[0].metadata.at("projectId"), "p9");
  auto resumed = second->Resume(created->sandbox_id);
  ASSERT_TRUE(resumed.has_value()) << resumed.status().ToString();
  EXPECT_GT(GetState(*second, created->sandbox_id).requests, 0);

  ASSERT_TRUE(second->Kill(created->sandbox_id).ok());
  EXPECT_EQ(RuncState(dir_ / "a" / "runc", created->sandbox_id).status().code(),
            StatusCode::kNotFound);
}

TEST_F(RuncIntegrationTest, CreateReportsProcessThatExitsAndCleansUp) {
  LocalProviderOptions options = Options("a");
  // A second templates dir with a template whose process dies at once.
  options.templates_dir = dir_ / "templates";
  std::filesystem::create_directories(options.templates_dir);
  std::ofstream(options.templates_dir / "crash.json")
      << R"({"name": "crash", "command": ["/bin/sh", "-c", "echo boom from crash >&2; exit 3"],
             "startTimeoutMs": 5000})";
  auto crashing = MakeProvider(ids_, options);
  auto created = crashing->Create(Request("p1", "crash"));
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.status().code(), StatusCode::kUnavailable) << created.status().ToString();
  EXPECT_NE(created.status().message().find("boom from crash"), std::string::npos)
      << created.status().ToString();
  auto listed = crashing->List();
  ASSERT_TRUE(listed.has_value()) << listed.status().ToString();
  EXPECT_TRUE(listed->sandboxes.empty());
  for (const auto& e : std::filesystem::directory_iterator(options.sandboxes_dir)) {
    EXPECT_EQ(e.path().filename(), ".images") << "left behind: " << e.path();
  }
}

TEST_F(RuncIntegrationTest, CrashedSandboxIsDeletedByList) {
  auto provider = MakeProvider("a");
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
  EXPECT_FALSE(std::filesystem::exists(provider->names().Netns(created->sandbox_id)));
}

TEST_F(RuncIntegrationTest, OutputLogIsCappedKeepingTheNewest) {
  LocalProviderOptions options = Options("a");
  options.output_log_max_bytes = 64 * 1024;
  options.templates_dir = dir_ / "templates";
  std::filesystem::create_directories(options.templates_dir);
  // Writes ~1 MiB of numbered lines, then serves with hello (both in the
  // template's program directory).
  const std::filesystem::path program_dir = dir_ / "chatty";
  std::filesystem::create_directories(program_dir);
  std::filesystem::copy_file(std::filesystem::path(kBuildDir) / "sandbox-hello",
                             program_dir / "sandbox-hello");
  std::ofstream(program_dir / "run.sh")
      << "#!/bin/sh\ni=0\nwhile [ $i -lt 20000 ]; do\n"
         "  echo line $i padding-padding-padding-padding; i=$((i+1))\ndone\n"
         "echo last line\nexec /opt/template/sandbox-hello\n";
  std::filesystem::permissions(program_dir / "run.sh", std::filesystem::perms::owner_all |
                                                          std::filesystem::perms::group_read |
                                                          std::filesystem::perms::others_read |
                                                          std::filesystem::perms::group_exec |
                                                          std::filesystem::perms::others_exec);
  std::ofstream(options.templates_dir / "chatty.json")
      << R"({"name": "chatty", "command": [")" << (program_dir / "run.sh").string()
      << R"("], "startTimeoutMs": 20000})";
  auto provider = MakeProvider(ids_, options);
  auto created = provider->Create(Request("p1", "chatty"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  const std::filesystem::path log = options.sandboxes_dir / created->sandbox_id / "log";
  uintmax_t total = 0;
  for (int i = 0; i < 200; ++i) {
    if (ReadFile(log / "output.log").find("last line") != std::string::npos) break;
    clock_.BlockingSleep(10ms);
  }
  for (const char* f : {"output.log", "output.log.1"}) {
    std::error_code ec;
    total += std::filesystem::file_size(log / f, ec);
  }
  EXPECT_LE(total, 64u * 1024) << "more than the cap kept";
  EXPECT_GT(total, 16u * 1024);
  EXPECT_NE(ReadFile(log / "output.log").find("last line"), std::string::npos) << "newest kept";
  EXPECT_EQ(ReadFile(log / "output.log.1").find("line 0 "), std::string::npos) << "oldest dropped";
}

}  // namespace
}  // namespace sbx::provider::local
