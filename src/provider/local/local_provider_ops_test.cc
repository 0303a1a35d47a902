// LocalProvider's Pause, Resume, Kill, List, Get and SetTimeout against
// FakeRunc, FakeSandboxHost and a FakeClock: no root, no runc, no sleeping.
#include "provider/local/local_provider_test_support.h"

namespace sbx::provider::local {
namespace {

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

  const size_t probes_before = host_.gets().size();
  auto resumed = provider_->Resume(id);
  ASSERT_TRUE(resumed.has_value()) << resumed.status().ToString();
  EXPECT_EQ(resumed->state, ProviderState::kRunning);
  EXPECT_GT(host_.gets().size(), probes_before);  // waited for it to serve again
  auto again = provider_->Resume(id);                // already running
  ASSERT_TRUE(again.has_value()) << again.status().ToString();
  EXPECT_EQ(again->state, ProviderState::kRunning);
}

TEST_F(LocalProviderTest, ResumeTimesOutWhenSandboxDoesNotServe) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  ASSERT_TRUE(provider_->Pause(s->sandbox_id).ok());
  host_.SetHttpHandler([](const std::filesystem::path&, uint16_t,
                          const std::string&) -> Result<HttpResponse> {
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
  host_.AddLoop({.device = "/dev/loop7", .backing_file = Bundle(s->sandbox_id) / "home.img"});
  EXPECT_FALSE(host_.processes().empty());
  ASSERT_TRUE(provider_->Kill(s->sandbox_id).ok());
  EXPECT_TRUE(runc_.containers().empty());
  EXPECT_FALSE(std::filesystem::exists(Bundle(s->sandbox_id)));
  EXPECT_TRUE(NothingLeft()) << "namespace, mount, loop device, logger or uid claim left";
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
  EXPECT_EQ(by_id.at(a->sandbox_id).metadata.at("projectId"), "p1");
  EXPECT_EQ(by_id.at(b->sandbox_id).state, ProviderState::kPaused);
  EXPECT_FALSE(runc_.containers().contains(c->sandbox_id));
  EXPECT_FALSE(std::filesystem::exists(Bundle(c->sandbox_id)));
  EXPECT_FALSE(host_.netns().contains(options_.netns_dir / provider_->names().Token(c->sandbox_id)));
}

TEST_F(LocalProviderTest, ListSweepsWhatACrashedCreateLeftAndNothingElse) {
  auto live = provider_->Create(Hello("p1"));
  ASSERT_TRUE(live.has_value());
  // A Create killed mid-way: a bundle, its namespace, the mounted home, a
  // loop device, a logger and a uid claim, but no container.
  const std::string dead = "sbxdead";
  const std::string token = provider_->names().Token(dead);
  std::filesystem::create_directories(Bundle(dead) / "home");
  ASSERT_TRUE(host_.CreateNetns(options_.netns_dir / token).ok());
  host_.AddMount(Bundle(dead) / "home");
  host_.AddLoop({.device = "/dev/loop9", .backing_file = Bundle(dead) / "home.img"});
  host_.AddProcess({.pid = 77, .exe_name = "sandbox-logger",
                    .argv = {"sandbox-logger", (Bundle(dead) / "output.fifo").string(), token}});
  std::filesystem::create_directories(options_.uid_claims_dir);
  WriteFile(options_.uid_claims_dir / "4000", token);
  // Another instance's sandbox, and a stranger that merely mentions a token.
  const std::filesystem::path theirs = options_.netns_dir / "sbx-0badc0de-sbxtheirs";
  ASSERT_TRUE(host_.CreateNetns(theirs).ok());
  host_.AddProcess({.pid = 78, .exe_name = "slirp4netns",
                    .argv = {"slirp4netns", theirs.string()}});
  host_.AddProcess({.pid = 79, .exe_name = "bash", .argv = {"bash", "-c", "echo " + token}});
  WriteFile(options_.uid_claims_dir / "4001", "sbx-0badc0de-sbxtheirs");

  // A fresh provider on the same dirs (sandboxd restarted) sweeps on List.
  LocalProvider restarted(clock_, ids_, runner_, host_, options_);
  auto list = restarted.List();
  ASSERT_TRUE(list.has_value()) << list.status().ToString();
  ASSERT_EQ(list->sandboxes.size(), 1u);
  EXPECT_EQ(list->sandboxes[0].sandbox_id, live->sandbox_id);
  EXPECT_FALSE(std::filesystem::exists(Bundle(dead)));
  EXPECT_FALSE(host_.netns().contains(options_.netns_dir / token));
  EXPECT_FALSE(host_.mounts().contains(Bundle(dead) / "home"));
  EXPECT_TRUE(host_.loops().empty());
  EXPECT_EQ(host_.killed(), std::vector<int>{77});
  EXPECT_FALSE(std::filesystem::exists(options_.uid_claims_dir / "4000"));
  // Untouched: the live sandbox and everything of the other instance.
  EXPECT_TRUE(std::filesystem::exists(Bundle(live->sandbox_id)));
  EXPECT_TRUE(host_.netns().contains(theirs));
  EXPECT_TRUE(std::filesystem::exists(options_.uid_claims_dir / "4001"));
  EXPECT_TRUE(host_.mounts().contains(Bundle(live->sandbox_id) / "home"));
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
  LocalProvider restarted(clock_, ids_, runner_, host_, options_);
  auto got = restarted.Get(s->sandbox_id);
  ASSERT_TRUE(got.has_value()) << got.status().ToString();
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
  LocalProvider second(clock_, ids_, runner_, host_, other);
  EXPECT_NE(provider_->CgroupsPath("sbx1"), second.CgroupsPath("sbx1"));
  EXPECT_TRUE(provider_->CgroupsPath("sbx1").starts_with("sandboxd-"));
  EXPECT_TRUE(provider_->CgroupsPath("sbx1").ends_with("-sbx1"));
  EXPECT_NE(provider_->names().Token("sbx1"), second.names().Token("sbx1"))
      << "namespaces, helpers and uid claims of two instances never collide";
}

}  // namespace
}  // namespace sbx::provider::local
