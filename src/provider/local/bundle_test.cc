#include "provider/local/bundle.h"

#include <map>

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sbx::provider::local {
namespace {

namespace json = boost::json;

BundleSpec Spec() {
  BundleSpec spec;
  spec.hostname = "sbx1";
  spec.args = {"/opt/template/sandbox-hello", "--flag"};
  spec.env = {"HOME=/home/sandbox", "PORT=42000"};
  spec.host_readonly_dirs = {"/usr", "/lib", "/bin"};
  spec.host_readonly_etc = {"/etc/ssl/certs"};
  spec.program_dir = "/work/build";
  spec.home_dir = "/data/sandboxes/sbx1/home";
  spec.etc_dir = "/data/sandboxes/sbx1/etc";
  spec.netns_path = "/run/netns/sbx-0123abcd-sbx1";
  spec.ids = {.host_id = 0x70000000, .size = 65536};
  spec.memory_limit_bytes = 64 * 1024 * 1024;
  spec.pids_limit = 32;
  spec.cpu_quota_us = 50000;
  spec.cgroups_path = "sandboxd-0123abcd-sbx1";
  spec.annotations = {{"sandboxd.port", "42000"}, {"sandboxd.project", "p1"}};
  return spec;
}

json::object Config(const BundleSpec& spec) {
  boost::system::error_code ec;
  json::value v = json::parse(BuildOciConfig(spec), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(v.is_object());
  return v.is_object() ? v.as_object() : json::object();
}

const json::object* FindMount(const json::object& config, std::string_view destination) {
  for (const auto& m : config.at("mounts").as_array()) {
    if (m.as_object().at("destination").as_string() == destination) return &m.as_object();
  }
  return nullptr;
}

std::vector<std::string> Options(const json::object& mount) {
  std::vector<std::string> out;
  for (const auto& o : mount.at("options").as_array()) out.emplace_back(o.as_string());
  return out;
}

bool Has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(BuildOciConfigTest, ProcessRunsTemplateCommandWithoutTerminal) {
  json::object config = Config(Spec());
  const json::object& process = config.at("process").as_object();
  EXPECT_EQ(process.at("terminal"), false);
  EXPECT_EQ(process.at("args"), (json::array{"/opt/template/sandbox-hello", "--flag"}));
  EXPECT_EQ(process.at("env"), (json::array{"HOME=/home/sandbox", "PORT=42000"}));
  EXPECT_EQ(process.at("cwd"), "/home/sandbox");
  EXPECT_EQ(process.at("user").at("uid"), 1000) << "never root inside";
  EXPECT_EQ(process.at("user").at("gid"), 1000);
  EXPECT_EQ(process.at("noNewPrivileges"), true);
  EXPECT_EQ(config.at("hostname"), "sbx1");
}

TEST(BuildOciConfigTest, KeepsNoCapabilityAndFiltersSyscalls) {
  json::object config = Config(Spec());
  const json::object& caps = config.at("process").at("capabilities").as_object();
  for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"}) {
    EXPECT_EQ(caps.at(set), json::array{}) << set;
  }
  const json::object& seccomp = config.at("linux").at("seccomp").as_object();
  EXPECT_EQ(seccomp.at("defaultAction"), "SCMP_ACT_ALLOW");
  EXPECT_FALSE(seccomp.at("syscalls").as_array().empty());
}

TEST(BuildOciConfigTest, RootIsEmptyReadOnlyRootfs) {
  json::object config = Config(Spec());
  EXPECT_EQ(config.at("root").at("path"), "rootfs");
  EXPECT_EQ(config.at("root").at("readonly"), true);
}

TEST(BuildOciConfigTest, MountsHostDirsReadOnlyAndHomeWritable) {
  json::object config = Config(Spec());
  for (const char* dir : {"/usr", "/lib", "/bin", "/etc/ssl/certs"}) {
    const json::object* m = FindMount(config, dir);
    ASSERT_NE(m, nullptr) << dir;
    EXPECT_EQ(m->at("type"), "bind");
    EXPECT_EQ(m->at("source"), dir);
    EXPECT_TRUE(Has(Options(*m), "rbind"));
    EXPECT_TRUE(Has(Options(*m), "ro"));
  }
  EXPECT_EQ(FindMount(config, "/lib64"), nullptr);  // not in this spec's list
  // /etc is the generated one, never the host's; the certificates go over it.
  const json::object* etc = FindMount(config, "/etc");
  ASSERT_NE(etc, nullptr);
  EXPECT_EQ(etc->at("source"), "/data/sandboxes/sbx1/etc");
  EXPECT_TRUE(Has(Options(*etc), "ro"));
  const auto& mounts = config.at("mounts").as_array();
  auto index = [&](std::string_view dest) {
    for (size_t i = 0; i < mounts.size(); ++i) {
      if (mounts[i].at("destination").as_string() == dest) return i;
    }
    return mounts.size();
  };
  EXPECT_LT(index("/etc"), index("/etc/ssl/certs"));

  const json::object* program = FindMount(config, kProgramMountPoint);
  ASSERT_NE(program, nullptr);
  EXPECT_EQ(program->at("source"), "/work/build");
  EXPECT_TRUE(Has(Options(*program), "ro"));

  const json::object* home = FindMount(config, kSandboxHome);
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->at("source"), "/data/sandboxes/sbx1/home");
  EXPECT_TRUE(Has(Options(*home), "rw"));
  EXPECT_FALSE(Has(Options(*home), "ro"));

  for (const char* dest : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/tmp"}) {
    EXPECT_NE(FindMount(config, dest), nullptr) << dest;
  }
  EXPECT_EQ(FindMount(config, "/tmp")->at("type"), "tmpfs");
  EXPECT_EQ(FindMount(config, "/proc")->at("type"), "proc");
}

TEST(BuildOciConfigTest, OwnNamespacesJoiningTheNetworkNamespaceByPath) {
  json::object config = Config(Spec());
  std::vector<std::string> types;
  for (const auto& ns : config.at("linux").at("namespaces").as_array()) {
    types.emplace_back(ns.at("type").as_string());
    if (ns.at("type") == "network") {
      EXPECT_EQ(ns.at("path"), "/run/netns/sbx-0123abcd-sbx1");
    } else {
      EXPECT_FALSE(ns.as_object().contains("path")) << ns;
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"pid", "ipc", "uts", "mount", "user", "cgroup",
                                             "network"}));
}

TEST(BuildOciConfigTest, MapsRootToTheSandboxsUnprivilegedSlice) {
  json::object config = Config(Spec());
  const json::array expected{
      json::object{{"containerID", 0}, {"hostID", 0x70000000}, {"size", 65536}}};
  EXPECT_EQ(config.at("linux").at("uidMappings"), expected);
  EXPECT_EQ(config.at("linux").at("gidMappings"), expected);
}

TEST(BuildOciConfigTest, LimitsCgroupAndAnnotations) {
  json::object config = Config(Spec());
  const json::object& linux_cfg = config.at("linux").as_object();
  EXPECT_EQ(linux_cfg.at("cgroupsPath"), "sandboxd-0123abcd-sbx1");
  EXPECT_EQ(linux_cfg.at("resources").at("memory").at("limit"), 64 * 1024 * 1024);
  EXPECT_EQ(linux_cfg.at("resources").at("pids").at("limit"), 32);
  EXPECT_EQ(linux_cfg.at("resources").at("cpu"),
            (json::object{{"quota", 50000}, {"period", 100000}}));
  BundleSpec unlimited = Spec();
  unlimited.cpu_quota_us = 0;
  EXPECT_FALSE(Config(unlimited).at("linux").at("resources").as_object().contains("cpu"));
  EXPECT_EQ(config.at("annotations"),
            (json::object{{"sandboxd.port", "42000"}, {"sandboxd.project", "p1"}}));
}

TEST(EtcFilesTest, GeneratesAMinimalEtc) {
  std::map<std::string, std::string> files;
  for (auto& [name, text] : EtcFiles("sbx1", /*dns=*/false)) files[name] = text;
  EXPECT_EQ(files.size(), 6u);
  EXPECT_NE(files["passwd"].find("root:x:0:0:"), std::string::npos);
  EXPECT_NE(files["passwd"].find("sandbox:x:1000:1000:sandbox:/home/sandbox:/bin/sh\n"),
            std::string::npos);
  EXPECT_NE(files["group"].find("sandbox:x:1000:"), std::string::npos);
  EXPECT_NE(files["hosts"].find("127.0.0.1\tlocalhost"), std::string::npos);
  EXPECT_NE(files["hosts"].find("sbx1"), std::string::npos);
  EXPECT_EQ(files["hostname"], "sbx1\n");
  EXPECT_NE(files["nsswitch.conf"].find("hosts: files dns"), std::string::npos);
  EXPECT_EQ(files["resolv.conf"].find("nameserver"), std::string::npos) << "no network, no DNS";
  for (auto& [name, text] : EtcFiles("sbx1", /*dns=*/true)) files[name] = text;
  EXPECT_EQ(files["resolv.conf"], "nameserver 10.0.2.3\n");
  EXPECT_FALSE(files.contains("shadow"));
}

TEST(WriteBundleTest, CreatesMountPointsEtcAndConfig) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "bundle_test_sbx1";
  std::filesystem::remove_all(dir);
  BundleSpec spec = Spec();
  spec.host_readonly_etc = {"/etc/ssl/certs", "/etc/hostname"};  // a directory and a file
  ASSERT_TRUE(WriteBundle(dir, spec, "{\"a\":1}", {{"hosts", "127.0.0.1 localhost\n"}}).ok());
  for (const char* mount_point :
       {"proc", "dev", "tmp", "etc", "usr", "lib", "bin", "opt/template", "home/sandbox"}) {
    EXPECT_TRUE(std::filesystem::is_directory(dir / "rootfs" / mount_point)) << mount_point;
    EXPECT_TRUE(std::filesystem::is_empty(dir / "rootfs" / mount_point)) << mount_point;
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir / "home"));
  EXPECT_TRUE(std::filesystem::is_directory(dir / "log"));
  EXPECT_EQ(std::filesystem::file_size(dir / "etc" / "hosts"), 20u);
  EXPECT_TRUE(std::filesystem::is_directory(dir / "etc" / "ssl" / "certs"));
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "etc" / "hostname"));
  EXPECT_EQ(std::filesystem::file_size(dir / "config.json"), 7u);
  EXPECT_EQ(WriteBundle(dir, spec, "{}", {}).code(), StatusCode::kAlreadyExists);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sbx::provider::local
