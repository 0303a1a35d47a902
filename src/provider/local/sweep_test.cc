#include "provider/local/sweep.h"

#include <gtest/gtest.h>

namespace sbx::provider::local {
namespace {

const SandboxNames kNames{.tag = "abcd1234", .sandboxes_dir = "/data/sandboxes",
                          .netns_dir = "/run/netns"};

RuncContainer Container(std::string id, RuncStatus status) {
  RuncContainer c;
  c.id = std::move(id);
  c.status = status;
  return c;
}

TEST(SandboxNamesTest, TokensPathsAndArgvMapBackToIds) {
  EXPECT_EQ(kNames.Token("sbx1"), "sbx-abcd1234-sbx1");
  EXPECT_EQ(kNames.Netns("sbx1"), "/run/netns/sbx-abcd1234-sbx1");
  EXPECT_EQ(kNames.IdOfToken("sbx-abcd1234-sbx1"), "sbx1");
  EXPECT_EQ(kNames.IdOfToken("sbx-ffff0000-sbx1"), std::nullopt) << "another instance";
  EXPECT_EQ(kNames.IdOfToken("sbx-abcd1234-../x"), std::nullopt);
  EXPECT_EQ(kNames.IdOfPath("/data/sandboxes/sbx1/home"), "sbx1");
  EXPECT_EQ(kNames.IdOfPath("/data/sandboxes/sbx1/home.img"), "sbx1");
  EXPECT_EQ(kNames.IdOfPath("/data/other/sbx1/home"), std::nullopt);
  EXPECT_EQ(kNames.IdOfPath("/data/sandboxes/.images/ext4-8mib.img"), std::nullopt);
  EXPECT_EQ(kNames.IdOfArgv({"slirp4netns", "--netns-type=path",
                             "/run/netns/sbx-abcd1234-sbx2", "tap0"}),
            "sbx2");
  EXPECT_EQ(kNames.IdOfArgv({"sandbox-logger", "/data/sandboxes/sbx3/output.fifo",
                             "sbx-abcd1234-sbx3"}),
            "sbx3");
  EXPECT_EQ(kNames.IdOfArgv({"vim", "notes-sbx-abcd1234-sbx4"}), std::nullopt)
      << "the token must start an argument or a path component";
}

TEST(PlanSweepTest, RemovesEveryLeftoverWithoutALiveContainer) {
  Leftovers l;
  l.containers = {Container("live", RuncStatus::kRunning), Container("paused", RuncStatus::kPaused),
                  Container("starting", RuncStatus::kCreating),
                  Container("stopped", RuncStatus::kStopped),
                  Container("half", RuncStatus::kCreated)};
  l.bundles = {"live", "paused", "stopped", "bundleonly", ".images"};
  l.netns = {"sbx-abcd1234-live", "sbx-abcd1234-netnsonly", "sbx-ffff0000-theirs", "other"};
  l.mounts = {"/data/sandboxes/live/home", "/data/sandboxes/mountonly/home"};
  l.loops = {{.device = "/dev/loop1", .backing_file = "/data/sandboxes/looponly/home.img"}};
  l.processes = {
      {.pid = 10, .exe_name = "slirp4netns", .argv = {"slirp4netns", "/run/netns/sbx-abcd1234-live"}},
      {.pid = 11, .exe_name = "sandbox-logger", .argv = {"sandbox-logger", "sbx-abcd1234-helperonly"}}};
  l.uid_claims = {"sbx-abcd1234-claimonly", "sbx-ffff0000-theirs", "sbx-abcd1234-paused"};
  EXPECT_EQ(PlanSweep(l, kNames, {}),
            (std::vector<std::string>{"bundleonly", "claimonly", "half", "helperonly", "looponly",
                                      "mountonly", "netnsonly", "stopped"}));
}

TEST(PlanSweepTest, LeavesCreatesInFlightAlone) {
  Leftovers l;
  l.bundles = {"new", "old"};
  l.netns = {"sbx-abcd1234-new"};
  l.containers = {Container("new", RuncStatus::kCreated)};
  EXPECT_EQ(PlanSweep(l, kNames, {"new"}), std::vector<std::string>{"old"});
  EXPECT_TRUE(PlanSweep({}, kNames, {}).empty());
}

}  // namespace
}  // namespace sbx::provider::local
