#include "provider/local/bundle.h"

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
  spec.host_readonly_dirs = {"/usr", "/lib", "/etc"};
  spec.program_dir = "/work/build";
  spec.home_dir = "/data/sandboxes/sbx1/home";
  spec.memory_limit_bytes = 64 * 1024 * 1024;
  spec.pids_limit = 32;
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
  EXPECT_EQ(process.at("user").at("uid"), 0);
  EXPECT_EQ(process.at("noNewPrivileges"), true);
  EXPECT_EQ(config.at("hostname"), "sbx1");
}

TEST(BuildOciConfigTest, DropsCapabilitiesToSmallSet) {
  json::object config = Config(Spec());
  const json::object& caps = config.at("process").at("capabilities").as_object();
  const json::array expected{"CAP_KILL", "CAP_NET_BIND_SERVICE"};
  EXPECT_EQ(caps.at("bounding"), expected);
  EXPECT_EQ(caps.at("effective"), expected);
  EXPECT_EQ(caps.at("permitted"), expected);
}

TEST(BuildOciConfigTest, RootIsEmptyReadOnlyRootfs) {
  json::object config = Config(Spec());
  EXPECT_EQ(config.at("root").at("path"), "rootfs");
  EXPECT_EQ(config.at("root").at("readonly"), true);
}

TEST(BuildOciConfigTest, MountsHostDirsReadOnlyAndHomeWritable) {
  json::object config = Config(Spec());
  for (const char* dir : {"/usr", "/lib", "/etc"}) {
    const json::object* m = FindMount(config, dir);
    ASSERT_NE(m, nullptr) << dir;
    EXPECT_EQ(m->at("type"), "bind");
    EXPECT_EQ(m->at("source"), dir);
    EXPECT_TRUE(Has(Options(*m), "rbind"));
    EXPECT_TRUE(Has(Options(*m), "ro"));
  }
  EXPECT_EQ(FindMount(config, "/lib64"), nullptr);  // not in this spec's list

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

TEST(BuildOciConfigTest, OwnNamespacesButHostNetwork) {
  json::object config = Config(Spec());
  std::vector<std::string> types;
  for (const auto& ns : config.at("linux").at("namespaces").as_array()) {
    types.emplace_back(ns.at("type").as_string());
  }
  EXPECT_EQ(types, (std::vector<std::string>{"pid", "ipc", "uts", "mount"}));
}

TEST(BuildOciConfigTest, LimitsCgroupAndAnnotations) {
  json::object config = Config(Spec());
  const json::object& linux_cfg = config.at("linux").as_object();
  EXPECT_EQ(linux_cfg.at("cgroupsPath"), "sandboxd-0123abcd-sbx1");
  EXPECT_EQ(linux_cfg.at("resources").at("memory").at("limit"), 64 * 1024 * 1024);
  EXPECT_EQ(linux_cfg.at("resources").at("pids").at("limit"), 32);
  EXPECT_EQ(config.at("annotations"),
            (json::object{{"sandboxd.port", "42000"}, {"sandboxd.project", "p1"}}));
}

TEST(WriteBundleTest, CreatesRootfsHomeAndConfig) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "bundle_test_sbx1";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WriteBundle(dir, "{\"a\":1}").ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir / "rootfs"));
  EXPECT_TRUE(std::filesystem::is_empty(dir / "rootfs"));
  EXPECT_TRUE(std::filesystem::is_directory(dir / "home"));
  EXPECT_EQ(std::filesystem::file_size(dir / "config.json"), 7u);
  EXPECT_EQ(WriteBundle(dir, "{}").code(), StatusCode::kAlreadyExists);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sbx::provider::local
