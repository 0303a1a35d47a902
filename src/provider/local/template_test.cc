#include "provider/local/template.h"

#include <fstream>

#include <gtest/gtest.h>

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

class TemplateDir {
 public:
  TemplateDir() : dir_(std::filesystem::path(::testing::TempDir()) / "template_test") {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~TemplateDir() { std::filesystem::remove_all(dir_); }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ / file) << text;
  }
  const std::filesystem::path& path() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

TEST(ParseTemplateTest, ReadsEveryField) {
  auto t = ParseTemplate(R"({
    "name": "web", "description": "d", "command": ["server", "--port-from-env"],
    "port": 3000, "portEnv": "HTTP_PORT", "readinessPath": "/healthz", "memoryLimitMiB": 128,
    "pidsLimit": 16, "cpuMillis": 500, "diskLimitMiB": 64, "egress": "internet",
    "startTimeoutMs": 2500, "env": {"MODE": "demo"}})",
                         "web");
  ASSERT_TRUE(t.has_value()) << t.status().ToString();
  EXPECT_EQ(t->name, "web");
  EXPECT_EQ(t->command, (std::vector<std::string>{"server", "--port-from-env"}));
  EXPECT_EQ(t->port, 3000);
  EXPECT_EQ(t->port_env, "HTTP_PORT");
  EXPECT_EQ(t->cpu_millis, 500);
  EXPECT_EQ(t->disk_limit_mib, 64);
  EXPECT_EQ(t->egress, Egress::kInternet);
  EXPECT_EQ(t->readiness_path, "/healthz");
  EXPECT_EQ(t->memory_limit_mib, 128);
  EXPECT_EQ(t->pids_limit, 16);
  EXPECT_EQ(t->start_timeout, 2500ms);
  EXPECT_EQ(t->env, (std::map<std::string, std::string>{{"MODE", "demo"}}));
}

TEST(ParseTemplateTest, DefaultsOptionalFields) {
  auto t = ParseTemplate(R"({"name": "x", "command": ["/bin/x"]})", "x");
  ASSERT_TRUE(t.has_value()) << t.status().ToString();
  Template expected;
  expected.name = "x";
  expected.command = {"/bin/x"};
  EXPECT_EQ(*t, expected);
  EXPECT_EQ(t->port, 8080);
  EXPECT_EQ(t->cpu_millis, 1000);
  EXPECT_EQ(t->disk_limit_mib, 1024);
  EXPECT_EQ(t->egress, Egress::kNone) << "a sandbox reaches nothing unless its template says so";
}

TEST(ParseTemplateTest, RejectsBadFilesNamingTheField) {
  struct Case {
    const char* json;
    const char* needle;
  };
  const Case cases[] = {
      {"{", "malformed JSON"},
      {"[]", "not a JSON object"},
      {R"({"name":"other","command":["a"]})", "\"name\""},
      {R"({"command":["a"]})", "\"name\""},
      {R"({"name":"x"})", "\"command\""},
      {R"({"name":"x","command":[]})", "\"command\""},
      {R"({"name":"x","command":"a b"})", "\"command\""},
      {R"({"name":"x","command":[1]})", "\"command\""},
      {R"({"name":"x","command":[""]})", "\"command\""},
      {R"({"name":"x","command":["a"],"portEnv":"1X"})", "\"portEnv\""},
      {R"({"name":"x","command":["a"],"readinessPath":"health"})", "\"readinessPath\""},
      {R"({"name":"x","command":["a"],"memoryLimitMiB":0})", "\"memoryLimitMiB\""},
      {R"({"name":"x","command":["a"],"memoryLimitMiB":1.5})", "\"memoryLimitMiB\""},
      {R"({"name":"x","command":["a"],"memoryLimitMiB":"64"})", "\"memoryLimitMiB\""},
      {R"({"name":"x","command":["a"],"pidsLimit":-1})", "\"pidsLimit\""},
      {R"({"name":"x","command":["a"],"startTimeoutMs":99999999})", "\"startTimeoutMs\""},
      {R"({"name":"x","command":["a"],"env":{"A":1}})", "\"env\""},
      {R"({"name":"x","command":["a"],"env":{"A B":"1"}})", "\"env\""},
      {R"({"name":"x","command":["a"],"memoryLimit":64})", "unknown field \"memoryLimit\""},
      {R"({"name":"x","command":["a"],"port":0})", "\"port\""},
      {R"({"name":"x","command":["a"],"port":65536})", "\"port\""},
      {R"({"name":"x","command":["a"],"cpuMillis":0})", "\"cpuMillis\""},
      {R"({"name":"x","command":["a"],"diskLimitMiB":4})", "\"diskLimitMiB\""},
      {R"({"name":"x","command":["a"],"egress":"all"})", "\"egress\""},
      {R"({"name":"x","command":["a"],"egress":true})", "\"egress\""},
  };
  for (const auto& c : cases) {
    auto t = ParseTemplate(c.json, "x");
    ASSERT_FALSE(t.has_value()) << c.json;
    EXPECT_EQ(t.status().code(), StatusCode::kFailedPrecondition) << c.json;
    EXPECT_NE(t.status().message().find(c.needle), std::string::npos)
        << c.json << " -> " << t.status().message();
    EXPECT_NE(t.status().message().find("template x"), std::string::npos) << c.json;
  }
}

TEST(TemplateNameTest, AcceptsOnlySafeNames) {
  EXPECT_TRUE(IsValidTemplateName("hello"));
  EXPECT_TRUE(IsValidTemplateName("node-20_v2"));
  EXPECT_FALSE(IsValidTemplateName(""));
  EXPECT_FALSE(IsValidTemplateName("../etc/passwd"));
  EXPECT_FALSE(IsValidTemplateName("a/b"));
  EXPECT_FALSE(IsValidTemplateName("Hello"));
  EXPECT_FALSE(IsValidTemplateName("-x"));
  EXPECT_FALSE(IsValidTemplateName(std::string(65, 'a')));
}

TEST(LoadTemplateTest, LoadsFileByName) {
  TemplateDir dir;
  dir.Write("hello.json", R"({"name":"hello","command":["sandbox-hello"]})");
  auto t = LoadTemplate(dir.path(), "hello");
  ASSERT_TRUE(t.has_value()) << t.status().ToString();
  EXPECT_EQ(t->command, (std::vector<std::string>{"sandbox-hello"}));
}

TEST(LoadTemplateTest, UnknownOrInvalidNameIsInvalidArgument) {
  TemplateDir dir;
  auto missing = LoadTemplate(dir.path(), "nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("unknown template \"nope\""), std::string::npos);
  EXPECT_EQ(LoadTemplate(dir.path(), "../x").status().code(), StatusCode::kInvalidArgument);
}

TEST(LoadTemplateTest, BrokenFileNamesThePath) {
  TemplateDir dir;
  dir.Write("bad.json", R"({"name":"bad","command":["a"],"pidsLimit":0})");
  auto t = LoadTemplate(dir.path(), "bad");
  EXPECT_EQ(t.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(t.status().message().find((dir.path() / "bad.json").string()), std::string::npos)
      << t.status().message();
}

TEST(ListTemplatesTest, ListsJsonFilesSorted) {
  TemplateDir dir;
  dir.Write("b.json", "{}");
  dir.Write("a.json", "{}");
  dir.Write("notes.txt", "");
  dir.Write("Bad Name.json", "{}");
  auto names = ListTemplates(dir.path());
  ASSERT_TRUE(names.has_value()) << names.status().ToString();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ListTemplates(dir.path() / "missing").status().code(), StatusCode::kFailedPrecondition);
}

TEST(ResolveProgramTest, RelativeProgramsLiveInBinaryDir) {
  Template t;
  t.command = {"sandbox-hello"};
  EXPECT_EQ(ResolveProgram(t, "/work/build"), "/work/build/sandbox-hello");
  t.command = {"/usr/bin/python3", "-m", "http.server"};
  EXPECT_EQ(ResolveProgram(t, "/work/build"), "/usr/bin/python3");
}

TEST(RepoTemplatesTest, HelloTemplateParses) {
  auto t =
      LoadTemplate(std::filesystem::path(SBX_TESTDATA_DIR) / ".." / ".." / "templates", "hello");
  ASSERT_TRUE(t.has_value()) << t.status().ToString();
  EXPECT_EQ(t->command, (std::vector<std::string>{"sandbox-hello"}));
  EXPECT_EQ(t->port_env, "PORT");
}

}  // namespace
}  // namespace sbx::provider::local
