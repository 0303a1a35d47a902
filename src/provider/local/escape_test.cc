// The escape suite: a real sandbox of the `probe` template (templates/probe/)
// tries to break out in every way the isolation is meant to stop, and every
// attempt must fail while the sandbox itself keeps running. As root, on real
// runc (label `runc;integration`). Network targets are only on this machine:
// a loopback listener and a listener on all host addresses that the test
// starts, and another sandbox.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "provider/local/runc_test_env.h"

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

// A TCP listener of the test on <address>:<ephemeral port>, in the host's
// namespace. Never accepts: connecting is all an attempt needs.
class HostListener {
 public:
  explicit HostListener(in_addr_t address) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = address;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~HostListener() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

struct AttemptResult {
  std::string name;
  bool escaped = false;
  std::string detail;
};

class EscapeTest : public RuncTest {
 protected:
  // Runs the probe's attempts with `query` and returns them by name.
  std::map<std::string, AttemptResult> Attempts(LocalProvider& provider, const std::string& id,
                                                const std::string& query) {
    auto r = Get(provider, id, "/attempts?" + query, 60s);
    EXPECT_TRUE(r.has_value()) << r.status().ToString();
    std::map<std::string, AttemptResult> out;
    if (!r.has_value()) return out;
    boost::json::value v = ParseJson(r->body);
    if (!v.is_array()) return out;
    for (const auto& a : v.as_array()) {
      AttemptResult result{.name = std::string(a.at("name").as_string()),
                           .escaped = a.at("escaped").as_bool(),
                           .detail = std::string(a.at("detail").as_string())};
      out[result.name] = result;
    }
    return out;
  }

  // The host's own IPv4 addresses other than loopback.
  std::vector<std::string> HostIpv4() {
    std::vector<std::string> out;
    for (const auto& a : host_.HostAddresses()) {
      in_addr addr{};
      if (::inet_pton(AF_INET, a.c_str(), &addr) == 1 && !a.starts_with("127.")) out.push_back(a);
    }
    return out;
  }
};

TEST_F(EscapeTest, EveryAttemptFailsAndTheSandboxKeepsRunning) {
  // The probe runs from a program directory of the test's, next to a file
  // only host root may read.
  const std::filesystem::path program_dir = dir_ / "probe-bin";
  std::filesystem::create_directories(program_dir);
  ::chmod(program_dir.c_str(), 0755);
  std::filesystem::copy_file(std::filesystem::path(kBuildDir) / "sandbox-probe",
                             program_dir / "sandbox-probe");
  const std::filesystem::path secret = program_dir / "secret";
  std::ofstream(secret) << "host root only";
  ::chmod(secret.c_str(), 0600);
  LocalProviderOptions options = Options("a");
  options.templates_dir = dir_ / "templates";
  std::filesystem::create_directories(options.templates_dir);
  std::filesystem::copy_file(std::filesystem::path(kTemplatesDir) / "hello.json",
                             options.templates_dir / "hello.json");
  std::string probe = ReadFile(std::filesystem::path(kTemplatesDir) / "probe.json");
  probe.replace(probe.find("\"sandbox-probe\""), 15,
                "\"" + (program_dir / "sandbox-probe").string() + "\"");
  std::ofstream(options.templates_dir / "probe.json") << probe;
  auto provider = MakeProvider(ids_, options);

  auto neighbour = provider->Create(Request("p0", "hello"));  // serves on 127.0.0.1:8080
  ASSERT_TRUE(neighbour.has_value()) << neighbour.status().ToString();
  auto created = provider->Create(Request("p1", "probe"));
  ASSERT_TRUE(created.has_value()) << created.status().ToString();
  const std::string id = created->sandbox_id;

  HostListener loopback(htonl(INADDR_LOOPBACK));
  HostListener everywhere(htonl(INADDR_ANY));
  std::string targets = "127.0.0.1:" + std::to_string(loopback.port()) + ",127.0.0.1:8080";
  std::vector<std::string> expected_connects = {"connect 127.0.0.1:" +
                                                    std::to_string(loopback.port()),
                                                "connect 127.0.0.1:8080"};
  for (const auto& a : HostIpv4()) {
    targets += "," + a + ":" + std::to_string(everywhere.port());
    expected_connects.push_back("connect " + a + ":" + std::to_string(everywhere.port()));
  }
  // probe.json: 16 MiB of disk, 32 pids, 64 MiB of memory.
  auto attempts = Attempts(*provider, id,
                           "secret=/opt/template/secret&connect=" + targets +
                               "&fill=64&forks=200&hog=256");
  ASSERT_FALSE(attempts.empty());
  for (const auto& [name, a] : attempts) {
    EXPECT_FALSE(a.escaped) << "escaped: " << name << " (" << a.detail << ")";
  }
  for (const char* name :
       {"read /etc/shadow", "read /opt/template/secret", "fill disk", "fork bomb", "memory hog",
        "mount tmpfs", "unshare(CLONE_NEWUSER)", "unshare -U -r true", "clone(CLONE_NEWUSER)",
        "keyctl join session keyring", "add_key", "raw socket", "packet socket", "write /usr",
        "write /etc", "write /opt/template", "setns", "ptrace attach", "setuid(0)", "bpf"}) {
    EXPECT_TRUE(attempts.contains(name)) << "not attempted: " << name;
  }
  for (const auto& name : expected_connects) {
    EXPECT_TRUE(attempts.contains(name)) << "not attempted: " << name;
  }
  // The failures are the right ones.
  EXPECT_NE(attempts["fill disk"].detail.find("ENOSPC"), std::string::npos)
      << attempts["fill disk"].detail;
  EXPECT_NE(attempts["fork bomb"].detail.find("EAGAIN"), std::string::npos)
      << attempts["fork bomb"].detail;
  EXPECT_NE(attempts["memory hog"].detail.find("signal 9"), std::string::npos)
      << attempts["memory hog"].detail;
  EXPECT_NE(attempts["read /opt/template/secret"].detail.find("EACCES"), std::string::npos);

  // The sandbox contained all of it and still serves; so does its neighbour.
  auto alive = Get(*provider, id, "/");
  ASSERT_TRUE(alive.has_value()) << alive.status().ToString();
  EXPECT_EQ(alive->status, 200);
  auto state = provider->Get(id);
  ASSERT_TRUE(state.has_value()) << state.status().ToString();
  EXPECT_EQ(state->state, ProviderState::kRunning);
  auto hello = Get(*provider, neighbour->sandbox_id, "/state");
  ASSERT_TRUE(hello.has_value()) << hello.status().ToString();
  EXPECT_EQ(hello->status, 200);

  // The host saw none of it: nothing written to its dirs, and the home image
  // holds no more than the disk limit.
  EXPECT_FALSE(std::filesystem::exists("/usr/probe-was-here"));
  EXPECT_FALSE(std::filesystem::exists(program_dir / "probe-was-here"));
  struct stat image {};
  ASSERT_EQ(::stat((options.sandboxes_dir / id / kHomeImage).c_str(), &image), 0);
  EXPECT_LE(image.st_blocks * 512, 17 << 20) << "the home image grew past its limit";
}

}  // namespace
}  // namespace sbx::provider::local
