// Egress policies and crash-safe cleanup on real runc, as root (label
// `runc;integration`). Every address the sandboxes try is on this machine:
// the test makes its own network namespace holding a public-looking address
// (TEST-NET-3, 203.0.113.0/24) and private, CGNAT and link-local ones, routed
// to it by host routes the test adds and removes; nothing leaves the host.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atomic>
#include <set>
#include <thread>

#include "provider/local/runc_test_env.h"

extern char** environ;  // NOLINT: handed on to the child test process

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

// Addresses given to the test's own namespace: one public-looking, the others
// in ranges an `internet` sandbox must still not reach.
constexpr const char* kPublic = "203.0.113.7";
constexpr const char* kBlocked[] = {"10.234.77.7", "172.31.77.7", "192.168.77.7", "100.64.77.7",
                                    "169.254.77.7"};

// A network namespace of the test's, joined to the host by a veth pair whose
// host end has no address; each of its addresses is reached through a host
// route to that veth. A TCP listener there accepts (and closes) connections
// on one thread. Everything is removed on destruction.
class TestPeer {
 public:
  TestPeer(ProcessRunner& runner, SandboxHost& host, const std::string& suffix)
      : runner_(runner), netns_("sbxtest-" + suffix), veth_("sbxt" + suffix) {
    Ip({"netns", "add", netns_});
    Ip({"link", "add", veth_ + "h", "type", "veth", "peer", "name", veth_ + "p", "netns", netns_});
    Ip({"link", "set", veth_ + "h", "up"});
    Ip({"-n", netns_, "link", "set", "lo", "up"});
    Ip({"-n", netns_, "link", "set", veth_ + "p", "up"});
    std::vector<std::string> addresses(std::begin(kBlocked), std::end(kBlocked));
    addresses.emplace_back(kPublic);
    for (const auto& a : addresses) {
      Ip({"-n", netns_, "addr", "add", a + "/32", "dev", veth_ + "p"});
      Ip({"route", "add", a + "/32", "dev", veth_ + "h"});
    }
    Ip({"-n", netns_, "route", "add", "default", "dev", veth_ + "p"});
    auto fd = host.SocketIn("/run/netns/" + netns_);
    EXPECT_TRUE(fd.has_value()) << fd.status().ToString();
    listener_ = fd.has_value() ? *fd : -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listener_, 64), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      for (;;) {
        int c = ::accept(listener_, nullptr, nullptr);
        if (c < 0) return;  // shut down
        ++accepted_;
        ::close(c);
      }
    });
  }
  ~TestPeer() {
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    ::close(listener_);
    std::vector<std::string> addresses(std::begin(kBlocked), std::end(kBlocked));
    addresses.emplace_back(kPublic);
    for (const auto& a : addresses) {
      (void)Ip({"route", "del", a + "/32"}, false);
    }
    (void)Ip({"link", "del", veth_ + "h"}, false);
    (void)Ip({"netns", "del", netns_}, false);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  bool Ip(std::vector<std::string> args, bool check = true) {
    args.insert(args.begin(), "ip");
    auto r = runner_.Run(args, {.timeout = 10s});
    const bool ok = r.has_value() && r->ok();
    if (check) {
      EXPECT_TRUE(ok) << FormatCommand(args) << ": " << (r.has_value() ? r->err : "");
    }
    return ok;
  }

  ProcessRunner& runner_;
  std::string netns_;
  std::string veth_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
};

class EgressTest : public RuncTest {
 protected:
  // {name -> escaped} of the probe's connect attempts.
  std::map<std::string, bool> Connects(LocalProvider& provider, const std::string& id,
                                       const std::vector<std::string>& targets) {
    std::string list;
    for (const auto& t : targets) list += (list.empty() ? "" : ",") + t;
    auto r = Get(provider, id, "/attempts?connect=" + list, 60s);
    EXPECT_TRUE(r.has_value()) << r.status().ToString();
    std::map<std::string, bool> out;
    if (!r.has_value()) return out;
    boost::json::value v = ParseJson(r->body);
    for (const auto& a : v.as_array()) {
      const std::string name(a.at("name").as_string());
      if (name.starts_with("connect ")) out[name.substr(8)] = a.at("escaped").as_bool();
    }
    return out;
  }

  // Everything this instance could leave on the host, as text; empty when
  // nothing is left.
  std::vector<std::string> Leftovers(const LocalProvider& provider) {
    std::vector<std::string> out;
    const LocalProviderOptions& o = provider.options();
    RuncCommands runc{.binary = "runc", .root = o.runc_root.string()};
    auto listed = runner_.Run(runc.List(), {.timeout = 30s});
    if (listed.has_value() && listed->ok()) {
      auto containers = ParseRuncList(listed->out);
      if (containers.has_value()) {
        for (const auto& c : *containers) out.push_back("container " + c.id);
      }
    }
    const std::string prefix = provider.names().TokenPrefix();
    auto netns = host_.ListNetns(o.netns_dir);
    for (const auto& n : netns.has_value() ? *netns : std::vector<std::string>{}) {
      if (n.starts_with(prefix)) out.push_back("netns " + n);
    }
    auto mounts = host_.MountsUnder(o.sandboxes_dir);
    EXPECT_TRUE(mounts.has_value());
    if (mounts.has_value()) {
      for (const auto& m : *mounts) out.push_back("mount " + m.string());
    }
    auto loops = host_.LoopDevicesUnder(o.sandboxes_dir);
    EXPECT_TRUE(loops.has_value());
    if (loops.has_value()) {
      for (const auto& l : *loops) out.push_back("loop " + l.device);
    }
    auto processes = host_.FindProcesses(prefix);
    EXPECT_TRUE(processes.has_value());
    if (processes.has_value()) {
      for (const auto& p : *processes) {
        if (p.exe_name == "sandbox-logger" || p.exe_name == "slirp4netns") {
          out.push_back("process " + std::to_string(p.pid) + " " + p.exe_name);
        }
      }
    }
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(o.sandboxes_dir, ec)) {
      if (e.path().filename() != ".images") out.push_back("file " + e.path().string());
    }
    for (const auto& e : std::filesystem::directory_iterator(o.uid_claims_dir, ec)) {
      if (ReadFile(e.path()).starts_with(prefix)) out.push_back("uid claim " + e.path().string());
    }
    return out;
  }
};

TEST_F(EgressTest, NoneReachesNothingAndInternetOnlyPublicAddresses) {
  TestPeer peer(runner_, host_, std::to_string(::getpid() % 100000));
  auto provider = MakeProvider("a");
  CreateRequest closed = Request("p1", "probe");  // probe.json: egress none
  CreateRequest open = Request("p2", "probe");
  open.allow_internet_access = true;
  auto none = provider->Create(closed);
  ASSERT_TRUE(none.has_value()) << none.status().ToString();
  auto internet = provider->Create(open);
  ASSERT_TRUE(internet.has_value()) << internet.status().ToString();

  // A listener of the host on every address, and the other sandbox's port.
  int host_listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  ASSERT_EQ(::bind(host_listener, reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0);
  ASSERT_EQ(::listen(host_listener, 64), 0);
  socklen_t len = sizeof(any);
  ::getsockname(host_listener, reinterpret_cast<sockaddr*>(&any), &len);
  const std::string host_port = std::to_string(ntohs(any.sin_port));
  const std::string peer_port = std::to_string(peer.port());
  std::vector<std::string> unreachable = {"127.0.0.1:" + host_port, "10.0.2.2:" + host_port,
                                          "10.0.2.2:" + peer_port};
  for (const char* a : kBlocked) unreachable.push_back(std::string(a) + ":" + peer_port);
  for (const auto& a : host_.HostAddresses()) {
    in_addr addr{};
    if (::inet_pton(AF_INET, a.c_str(), &addr) == 1 && !a.starts_with("127.")) {
      unreachable.push_back(a + ":" + host_port);
    }
  }
  const std::string reachable = std::string(kPublic) + ":" + peer_port;
  std::vector<std::string> targets = unreachable;
  targets.push_back(reachable);

  auto from_none = Connects(*provider, none->sandbox_id, targets);
  auto from_internet = Connects(*provider, internet->sandbox_id, targets);
  ASSERT_EQ(from_none.size(), targets.size());
  ASSERT_EQ(from_internet.size(), targets.size());
  for (const auto& t : unreachable) {
    EXPECT_FALSE(from_none[t]) << "egress none reached " << t;
    EXPECT_FALSE(from_internet[t]) << "egress internet reached " << t;
  }
  EXPECT_FALSE(from_none[reachable]) << "egress none reached a public address";
  EXPECT_TRUE(from_internet[reachable]) << "egress internet did not reach a public address";
  EXPECT_EQ(peer.accepted(), 1) << "only the public address let one connection through";
  ::close(host_listener);

  // The rules are sandboxd's, in the sandbox's namespace.
  auto rules = runner_.Run({"nsenter", "--net=" + provider->names().Netns(internet->sandbox_id).string(),
                            "nft", "list", "ruleset"},
                           {.timeout = 10s});
  ASSERT_TRUE(rules.has_value() && rules->ok());
  // (nft prints adjacent ranges merged: 224.0.0.0/4 and 240.0.0.0/4 as /3.)
  for (const char* expected : {"table inet sandboxd_egress", "10.0.0.0/8", "169.254.0.0/16",
                               "100.64.0.0/10", "127.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                               "fc00::/7", "reject with icmpx admin-prohibited"}) {
    EXPECT_NE(rules->out.find(expected), std::string::npos) << expected << " in\n" << rules->out;
  }
  auto none_rules = runner_.Run(
      {"nsenter", "--net=" + provider->names().Netns(none->sandbox_id).string(), "ip", "-o",
       "link"},
      {.timeout = 10s});
  ASSERT_TRUE(none_rules.has_value() && none_rules->ok());
  EXPECT_NE(none_rules->out.find("lo:"), std::string::npos);
  EXPECT_EQ(none_rules->out.find("tap0"), std::string::npos) << "egress none has only lo";
}

TEST_F(EgressTest, HundredSandboxesAndKilledCreatesLeaveNothing) {
  auto provider = MakeProvider("a");
  for (int i = 0; i < 100; ++i) {
    CreateRequest request = Request("p" + std::to_string(i), "hello");
    if (i % 10 == 0) request.allow_internet_access = true;  // with slirp4netns and rules
    auto created = provider->Create(request);
    ASSERT_TRUE(created.has_value()) << i << ": " << created.status().ToString();
    ASSERT_TRUE(provider->Kill(created->sandbox_id).ok()) << i;
  }
  EXPECT_EQ(Leftovers(*provider), std::vector<std::string>{});

  // A process that creates sandboxes without end (this binary running the
  // disabled test below in the provider's data dir), killed with SIGKILL at
  // different points of a Create; then a fresh provider on the same dirs.
  const std::filesystem::path work = dir_ / "a";
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  bool left_something = false;
  for (int round = 0; round < 6; ++round) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, work.c_str());
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> args = {self, "--gtest_also_run_disabled_tests",
                                     "--gtest_filter=EgressTest.DISABLED_CreateForever"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t child = -1;
    ASSERT_EQ(::posix_spawn(&child, self.c_str(), &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    // Let it get some creates done, then kill it somewhere inside one.
    clock_.BlockingSleep(std::chrono::milliseconds(400 + 97 * round));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    ::waitpid(child, nullptr, 0);
    if (!Leftovers(*provider).empty()) left_something = true;
  }
  EXPECT_TRUE(left_something) << "the killed creates left nothing to sweep: the test proves nothing";
  auto restarted = MakeProvider("a");
  // Every List sweeps. Sandboxes that finished creating are live and stay;
  // kill them, then nothing at all may remain. Helpers the killed process had
  // started (`runc create`, `ip netns add`, `mount`) run on and may finish
  // after a sweep; the next List (sandboxd's reconciler lists every few
  // seconds) removes what they made. So: list until clean, bounded.
  std::vector<std::string> left;
  int sweeps = 0;
  for (const auto give_up = clock_.SteadyNow() + 30s;
       clock_.SteadyNow() < give_up; clock_.BlockingSleep(200ms)) {
    auto listed = restarted->List();
    ++sweeps;
    ASSERT_TRUE(listed.has_value()) << listed.status().ToString();
    for (const auto& s : listed->sandboxes) {
      Status killed = restarted->Kill(s.sandbox_id);
      ASSERT_TRUE(killed.ok()) << killed.ToString();
    }
    left = Leftovers(*restarted);
    if (left.empty()) break;
  }
  EXPECT_EQ(left, std::vector<std::string>{}) << "after " << sweeps << " sweeps";
}

// Run only by the test above, in a child process whose working directory is
// the data dir: creates sandboxes until it is killed.
TEST_F(EgressTest, DISABLED_CreateForever) {
  std::filesystem::remove_all(dir_);  // SetUp's; this process never gets to TearDown
  const std::filesystem::path work = std::filesystem::current_path();
  LocalProviderOptions options;
  options.runc_root = work / "runc";
  options.sandboxes_dir = work / "sandboxes";
  options.templates_dir = kTemplatesDir;
  options.binary_dir = kBuildDir;
  IdGenerator ids(static_cast<uint64_t>(::getpid()));
  LocalProvider unique(clock_, ids, runner_, host_, options);
  for (int i = 0;; ++i) {
    CreateRequest request = Request("crash" + std::to_string(i), "hello");
    if (i % 2 == 1) request.allow_internet_access = true;
    (void)unique.Create(request);
  }
}

}  // namespace
}  // namespace sbx::provider::local
