#include "provider/local/runc.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace sbx::provider::local {
namespace {

std::string Golden(const std::string& name) {
  std::ifstream in(std::string(SBX_TESTDATA_DIR) + "/runc/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing golden file " << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

using Argv = std::vector<std::string>;

TEST(RuncCommandsTest, BuildsEveryCommandWithRoot) {
  RuncCommands runc{.binary = "/usr/sbin/runc", .root = "/data/runc"};
  EXPECT_EQ(runc.Run("/data/sandboxes/sbx1", "sbx1", "/data/sandboxes/sbx1/log/runc.log"),
            (Argv{"/usr/sbin/runc", "--root", "/data/runc", "--log",
                  "/data/sandboxes/sbx1/log/runc.log", "run", "--detach", "--bundle",
                  "/data/sandboxes/sbx1", "sbx1"}));
  EXPECT_EQ(runc.Pause("sbx1"), (Argv{"/usr/sbin/runc", "--root", "/data/runc", "pause", "sbx1"}));
  EXPECT_EQ(runc.Resume("sbx1"),
            (Argv{"/usr/sbin/runc", "--root", "/data/runc", "resume", "sbx1"}));
  EXPECT_EQ(runc.Kill("sbx1"),
            (Argv{"/usr/sbin/runc", "--root", "/data/runc", "kill", "sbx1", "KILL"}));
  EXPECT_EQ(runc.Kill("sbx1", "TERM"),
            (Argv{"/usr/sbin/runc", "--root", "/data/runc", "kill", "sbx1", "TERM"}));
  EXPECT_EQ(runc.ForceDelete("sbx1"),
            (Argv{"/usr/sbin/runc", "--root", "/data/runc", "delete", "--force", "sbx1"}));
  EXPECT_EQ(runc.State("sbx1"), (Argv{"/usr/sbin/runc", "--root", "/data/runc", "state", "sbx1"}));
  EXPECT_EQ(runc.List(),
            (Argv{"/usr/sbin/runc", "--root", "/data/runc", "list", "--format", "json"}));
}

TEST(RuncStatusTest, RoundTripsEveryName) {
  for (RuncStatus s : {RuncStatus::kCreating, RuncStatus::kCreated, RuncStatus::kRunning,
                       RuncStatus::kPaused, RuncStatus::kStopped}) {
    auto parsed = ParseRuncStatus(RuncStatusName(s));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(ParseRuncStatus("Running").status().code(), StatusCode::kInvalidArgument);
}

TEST(ParseRuncStateTest, ParsesRunningGolden) {
  // Captured from runc 1.1.5 running a hello sandbox made by LocalProvider.
  auto c = ParseRuncState(Golden("state_running.json"));
  ASSERT_TRUE(c.has_value()) << c.status().ToString();
  EXPECT_EQ(c->id, "sbxmnmy9rnurzb95abte");
  EXPECT_EQ(c->pid, 17259);
  EXPECT_EQ(c->status, RuncStatus::kRunning);
  EXPECT_EQ(c->bundle, "/tmp/sbx-golden/sandboxes/sbxmnmy9rnurzb95abte");
  ASSERT_TRUE(c->created.has_value());
  EXPECT_EQ(FormatRfc3339(*c->created), "2026-11-27T22:54:47.217Z");
  EXPECT_EQ(c->annotations, (std::map<std::string, std::string>{{"sandboxd.meta.projectId", "p1"},
                                                                {"sandboxd.port", "42000"},
                                                                {"sandboxd.project", "p1"},
                                                                {"sandboxd.template", "hello"}}));
}

TEST(ParseRuncStateTest, ParsesPausedAndStoppedGoldens) {
  auto paused = ParseRuncState(Golden("state_paused.json"));
  ASSERT_TRUE(paused.has_value()) << paused.status().ToString();
  EXPECT_EQ(paused->status, RuncStatus::kPaused);
  EXPECT_GT(paused->pid, 0);

  auto stopped = ParseRuncState(Golden("state_stopped.json"));
  ASSERT_TRUE(stopped.has_value()) << stopped.status().ToString();
  EXPECT_EQ(stopped->status, RuncStatus::kStopped);
  EXPECT_EQ(stopped->pid, 0);
}

TEST(ParseRuncStateTest, RejectsMalformedOutput) {
  EXPECT_EQ(ParseRuncState("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRuncState("{not json").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRuncState("[]").status().code(), StatusCode::kInvalidArgument);
  auto no_id = ParseRuncState(R"({"status":"running","bundle":"/b"})");
  EXPECT_EQ(no_id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_id.status().message().find("\"id\""), std::string::npos);
  EXPECT_EQ(ParseRuncState(R"({"id":"a","status":"weird","bundle":"/b"})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseRuncState(R"({"id":"a","status":"running","bundle":"/b","pid":"x"})").status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRuncState(R"({"id":"a","status":"running","bundle":"/b","annotations":[]})")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(ParseRuncStateTest, ToleratesMissingOptionalFields) {
  auto c = ParseRuncState(R"({"id":"a","status":"created","bundle":"/b","annotations":null})");
  ASSERT_TRUE(c.has_value()) << c.status().ToString();
  EXPECT_EQ(c->status, RuncStatus::kCreated);
  EXPECT_EQ(c->pid, 0);
  EXPECT_FALSE(c->created.has_value());
  EXPECT_TRUE(c->annotations.empty());
}

TEST(ParseRuncListTest, ParsesMixedGolden) {
  auto list = ParseRuncList(Golden("list_mixed.json"));
  ASSERT_TRUE(list.has_value()) << list.status().ToString();
  ASSERT_EQ(list->size(), 3u);
  std::map<RuncStatus, int> by_status;
  for (const auto& c : *list) {
    ++by_status[c.status];
    EXPECT_TRUE(c.id.starts_with("sbx")) << c.id;
    EXPECT_TRUE(c.annotations.contains("sandboxd.port")) << c.id;
  }
  EXPECT_EQ(by_status[RuncStatus::kRunning], 1);
  EXPECT_EQ(by_status[RuncStatus::kPaused], 1);
  EXPECT_EQ(by_status[RuncStatus::kStopped], 1);
}

TEST(ParseRuncListTest, EmptyRootPrintsNull) {
  auto list = ParseRuncList(Golden("list_empty.json"));
  ASSERT_TRUE(list.has_value()) << list.status().ToString();
  EXPECT_TRUE(list->empty());
  auto empty_array = ParseRuncList("[]");
  ASSERT_TRUE(empty_array.has_value());
  EXPECT_TRUE(empty_array->empty());
}

TEST(ParseRuncListTest, RejectsMalformedOutput) {
  EXPECT_EQ(ParseRuncList("{}").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRuncList("[{\"id\":1}]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRuncList("[").status().code(), StatusCode::kInvalidArgument);
}

TEST(RuncErrorsTest, RecognisesMissingContainer) {
  const std::string missing = Golden("state_missing_stderr.txt");
  EXPECT_TRUE(RuncSaysNotExist(missing));
  EXPECT_EQ(RuncErrorMessage(missing), "container does not exist");
  EXPECT_FALSE(RuncSaysNotExist(R"(time="x" level=error msg="container not running")"));
}

TEST(RuncErrorsTest, ExtractsLastMessage) {
  EXPECT_EQ(RuncErrorMessage("time=\"t\" level=warning msg=\"first\"\n"
                             "time=\"t\" level=error msg=\"say \\\"hi\\\"\"\n"),
            "say \"hi\"");
  EXPECT_EQ(RuncErrorMessage("  plain failure\n"), "plain failure");
  EXPECT_EQ(RuncErrorMessage(""), "");
}

}  // namespace
}  // namespace sbx::provider::local
