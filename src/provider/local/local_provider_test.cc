// LocalProvider's Create against FakeRunc, FakeSandboxHost and a FakeClock:
// no root, no runc, no namespaces, no sleeping (the other calls:
// local_provider_ops_test.cc).
#include "provider/local/local_provider_test_support.h"

namespace sbx::provider::local {
namespace {

TEST_F(LocalProviderTest, CreateStartsContainerAndWaitsUntilItServes) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  EXPECT_TRUE(s->sandbox_id.starts_with("sbx"));
  EXPECT_EQ(s->sandbox_id.size(), 28u);
  EXPECT_TRUE(IsValidSandboxId(s->sandbox_id));
  EXPECT_EQ(s->state, ProviderState::kRunning);
  ASSERT_TRUE(s->url.has_value());
  EXPECT_EQ(*s->url, "http://8080-" + s->sandbox_id + ".sandbox.internal/")
      << "a sandbox serves only inside its own namespace: its URL names the port, no host";
  EXPECT_EQ(s->template_name, "hello");
  EXPECT_EQ(s->metadata, (core::Metadata{{"projectId", "p1"}}));
  EXPECT_EQ(s->started_at, FromUnixMillis(1'767'225'600'000));

  // runc run --detach on the bundle, stdio into the logger's FIFO, runc's
  // own messages into its log.
  const std::string id = s->sandbox_id;
  bool ran = false;
  const auto commands = runner_.commands();
  const auto run_options = runner_.run_options();
  for (size_t i = 0; i < commands.size(); ++i) {
    if (commands[i][0] == options_.runc_binary && commands[i].size() > 5 &&
        commands[i][5] == "run") {
      ran = true;
      EXPECT_EQ(commands[i],
                (std::vector<std::string>{"/usr/sbin/runc", "--root", options_.runc_root.string(),
                                          "--log", (Bundle(id) / "runc.log").string(), "run",
                                          "--detach", "--bundle", Bundle(id).string(), id}));
      EXPECT_EQ(run_options[i].output_file, Bundle(id) / "output.fifo");
    } else if (commands[i][0] != "setsid") {
      EXPECT_FALSE(run_options[i].output_file.has_value()) << FormatCommand(commands[i]);
    }
  }
  EXPECT_TRUE(ran);
  // Probed on the template's port inside the sandbox's own namespace.
  const std::filesystem::path netns = options_.netns_dir / provider_->names().Token(id);
  EXPECT_EQ(host_.netns(), std::set<std::filesystem::path>{netns});
  ASSERT_FALSE(host_.gets().empty());
  EXPECT_EQ(host_.gets().front().netns, netns);
  EXPECT_EQ(host_.gets().front().port, 8080);
  EXPECT_EQ(host_.gets().front().path, "/state");
}

TEST_F(LocalProviderTest, EverySandboxServesOnTheTemplatePortInItsOwnNamespace) {
  auto a = provider_->Create(Hello("p1"));
  auto b = provider_->Create(Hello("p2"));
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(host_.netns().size(), 2u);
  ASSERT_TRUE(provider_->SandboxPort(a->sandbox_id).has_value());
  EXPECT_EQ(*provider_->SandboxPort(a->sandbox_id), 8080);
  EXPECT_EQ(*provider_->SandboxPort(b->sandbox_id), 8080);
  auto fd = provider_->SandboxSocket(a->sandbox_id);
  ASSERT_TRUE(fd.has_value()) << fd.status().ToString();
  EXPECT_GE(*fd, 0);
  ::close(*fd);
  // A restarted provider learns the port from the container's annotations.
  LocalProvider restarted(clock_, ids_, runner_, host_, options_);
  auto port = restarted.SandboxPort(b->sandbox_id);
  ASSERT_TRUE(port.has_value()) << port.status().ToString();
  EXPECT_EQ(*port, 8080);
  ASSERT_TRUE(provider_->Kill(a->sandbox_id).ok());
  EXPECT_EQ(provider_->SandboxSocket(a->sandbox_id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(provider_->SandboxPort(a->sandbox_id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(provider_->SandboxSocket("../x").status().code(), StatusCode::kNotFound);
}

TEST_F(LocalProviderTest, CreateWritesIsolatedBundleForTemplate) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  const std::string id = s->sandbox_id;
  const std::filesystem::path bundle = Bundle(id);
  EXPECT_TRUE(std::filesystem::is_directory(bundle / "rootfs"));
  EXPECT_TRUE(std::filesystem::is_directory(bundle / "home"));
  const boost::json::value config = Config(id);
  const auto& process = config.at("process");
  EXPECT_EQ(process.at("args"), (boost::json::array{"/opt/template/sandbox-hello", "--quiet"}));
  EXPECT_EQ(process.at("user").at("uid"), 1000);
  const auto& env = process.at("env").as_array();
  EXPECT_NE(std::find(env.begin(), env.end(), boost::json::value("PORT=8080")), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), boost::json::value("HOME=/home/sandbox")), env.end());
  const auto& linux_cfg = config.at("linux");
  EXPECT_EQ(linux_cfg.at("resources").at("memory").at("limit"), 64 * 1024 * 1024);
  EXPECT_EQ(linux_cfg.at("resources").at("pids").at("limit"), 32);
  EXPECT_EQ(linux_cfg.at("resources").at("cpu").at("quota"), 100000);  // one CPU by default
  EXPECT_EQ(linux_cfg.at("cgroupsPath"), boost::json::value(provider_->CgroupsPath(id)));
  // The first free uid slice of the default range, for uids and gids.
  const boost::json::array mapping{
      boost::json::object{{"containerID", 0}, {"hostID", 0x70000000}, {"size", 65536}}};
  EXPECT_EQ(linux_cfg.at("uidMappings"), mapping);
  EXPECT_EQ(linux_cfg.at("gidMappings"), mapping);
  bool joins_netns = false;
  for (const auto& ns : linux_cfg.at("namespaces").as_array()) {
    if (ns.at("type") == "network") {
      joins_netns = true;
      EXPECT_EQ(ns.at("path"),
                boost::json::value((options_.netns_dir / provider_->names().Token(id)).string()));
    }
  }
  EXPECT_TRUE(joins_netns);
  bool program_mounted = false;
  for (const auto& m : config.at("mounts").as_array()) {
    if (m.at("destination") == "/opt/template") {
      program_mounted = true;
      EXPECT_EQ(m.at("source"), boost::json::value((root_ / "bin").string()));
    }
    EXPECT_NE(m.at("source"), "/etc") << "the host's /etc is never mounted";
  }
  EXPECT_TRUE(program_mounted);
  const auto& annotations = config.at("annotations");
  EXPECT_EQ(annotations.at("sandboxd.port"), "8080");
  EXPECT_EQ(annotations.at("sandboxd.project"), "p1");
  EXPECT_EQ(annotations.at("sandboxd.template"), "hello");
  EXPECT_EQ(annotations.at("sandboxd.egress"), "none");
  EXPECT_EQ(annotations.at("sandboxd.meta.projectId"), "p1");
  // A generated /etc with no resolver (egress none).
  EXPECT_NE(ReadFile(bundle / "etc" / "passwd").find("sandbox:x:1000:1000:"), std::string::npos);
  EXPECT_EQ(ReadFile(bundle / "etc" / "resolv.conf").find("nameserver"), std::string::npos);
  // The mapped root owns the mount points, the sandbox user its home.
  const auto chowns = host_.chowns();
  EXPECT_NE(std::find(chowns.begin(), chowns.end(),
                      std::make_tuple(bundle / "rootfs", 0x70000000u, 0x70000000u)),
            chowns.end());
  EXPECT_NE(std::find(chowns.begin(), chowns.end(),
                      std::make_tuple(bundle / "home", 0x70000000u + 1000, 0x70000000u + 1000)),
            chowns.end());
}

TEST_F(LocalProviderTest, HomeIsALoopMountedImageOfTheDiskLimit) {
  auto s = provider_->Create(Hello());
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  const std::filesystem::path bundle = Bundle(s->sandbox_id);
  // One golden image per size, made once; each home is a sparse copy of it.
  const auto mkfs = Commands("mkfs.ext4");
  ASSERT_EQ(mkfs.size(), 1u);
  const std::filesystem::path golden = options_.sandboxes_dir / ".images" / "ext4-16mib.img";
  EXPECT_EQ(mkfs[0].back(), golden.string() + ".tmp");
  EXPECT_EQ(std::filesystem::file_size(golden), 16u << 20);
  EXPECT_EQ(Commands("cp"), (std::vector<std::vector<std::string>>{
                                {"cp", "--sparse=always", golden.string(),
                                 (bundle / "home.img").string()}}));
  EXPECT_EQ(Commands("mount"),
            (std::vector<std::vector<std::string>>{
                {"mount", "-t", "ext4", "-o", "loop,nosuid,nodev,noatime,noinit_itable",
                 (bundle / "home.img").string(), (bundle / "home").string()}}));
  EXPECT_EQ(host_.mounts(), std::set<std::filesystem::path>{bundle / "home"});
  ASSERT_TRUE(provider_->Create(Hello("p2")).has_value());
  EXPECT_EQ(Commands("mkfs.ext4").size(), 1u) << "the golden image is reused";
}

TEST_F(LocalProviderTest, InternetEgressGetsRulesBeforeItsUplink) {
  CreateRequest request = Hello();
  request.template_name = "web";
  auto s = provider_->Create(request);
  ASSERT_TRUE(s.has_value()) << s.status().ToString();
  const std::string id = s->sandbox_id;
  const std::filesystem::path netns = options_.netns_dir / provider_->names().Token(id);
  std::vector<std::string> programs;
  for (const auto& argv : runner_.commands()) {
    // setsid -f [unshare … private] <program>
    programs.push_back(argv[0] != "setsid" ? argv[0] : argv[2] == "unshare" ? argv[6] : argv[2]);
  }
  const auto nft = std::find(programs.begin(), programs.end(), "nsenter");
  const auto slirp = std::find(programs.begin(), programs.end(), "slirp4netns");
  ASSERT_NE(nft, programs.end());
  ASSERT_NE(slirp, programs.end());
  EXPECT_LT(nft, slirp) << "the rules are in place before the uplink exists";
  EXPECT_EQ(Commands("nsenter")[0],
            (std::vector<std::string>{"nsenter", "--net=" + netns.string(), "nft", "-f",
                                      (Bundle(id) / "egress.nft").string()}));
  EXPECT_NE(ReadFile(Bundle(id) / "egress.nft").find("10.0.0.0/8"), std::string::npos);
  EXPECT_NE(ReadFile(Bundle(id) / "etc" / "resolv.conf").find("nameserver 10.0.2.3"),
            std::string::npos);
  EXPECT_EQ(Config(id).at("annotations").at("sandboxd.egress"), "internet");
  EXPECT_EQ(Config(id).at("linux").at("resources").at("cpu").at("quota"), 25000);
  EXPECT_EQ(host_.gets().back().port, 3000);

  // The request overrides the template, both ways.
  request.allow_internet_access = false;
  auto closed = provider_->Create(request);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(Config(closed->sandbox_id).at("annotations").at("sandboxd.egress"), "none");
  CreateRequest open = Hello();
  open.allow_internet_access = true;
  auto opened = provider_->Create(open);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(Config(opened->sandbox_id).at("annotations").at("sandboxd.egress"), "internet");
  EXPECT_EQ(Commands("nsenter").size(), 2u);
}

TEST_F(LocalProviderTest, ConcurrentCreatesGetDistinctNamespacesAndUidSlices) {
  std::vector<Result<ProviderSandbox>> results(5, Result<ProviderSandbox>(Internal("unset")));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = provider_->Create(Hello("p" + std::to_string(i))); });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> uid_bases;
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value()) << r.status().ToString();
    uid_bases.insert(
        Config(r->sandbox_id).at("linux").at("uidMappings").at(0).at("hostID").to_number<int64_t>());
  }
  EXPECT_EQ(uid_bases.size(), 5u);
  EXPECT_EQ(host_.netns().size(), 5u);
}

TEST_F(LocalProviderTest, CreateFailsWhenEveryUidSliceIsTaken) {
  options_.uid_range_count = 65536;  // one slice
  LocalProvider small(clock_, ids_, runner_, host_, options_);
  ASSERT_TRUE(small.Create(Hello("p1")).has_value());
  auto s = small.Create(Hello("p2"));
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable) << s.status().ToString();
  EXPECT_EQ(Bundles().size(), 1u);
  options_.uid_range_first = 1000;  // the host's own ids
  LocalProvider bad(clock_, ids_, runner_, host_, options_);
  EXPECT_EQ(bad.Create(Hello()).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LocalProviderTest, CreateNeedsADataDirTheSandboxesCanTraverse) {
  std::filesystem::create_directories(root_ / "data");
  std::filesystem::permissions(root_ / "data", std::filesystem::perms::owner_all);  // 0700
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("chmod o+x " + (root_ / "data").string()), std::string::npos)
      << s.status().message();
  EXPECT_FALSE(Issued("run"));
  std::filesystem::permissions(root_ / "data", std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  EXPECT_TRUE(provider_->Create(Hello()).has_value());
}

TEST_F(LocalProviderTest, CreateRejectsUnknownTemplateAndMissingProgram) {
  CreateRequest request = Hello();
  request.template_name = "nope";
  EXPECT_EQ(provider_->Create(request).status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove(root_ / "bin" / "sandbox-hello");
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("sandbox-hello"), std::string::npos);
  EXPECT_TRUE(runner_.commands().empty());
}

TEST_F(LocalProviderTest, CreateCleansUpWhenRuncRunFails) {
  runc_.FailNextRun("unable to start container process: exec: no such file");
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("unable to start container process"), std::string::npos)
      << s.status().message();
  EXPECT_TRUE(Issued("delete"));
  EXPECT_TRUE(NothingLeft()) << "namespace, mount, logger, uid claim or bundle left behind";
  EXPECT_EQ(host_.killed().size(), 1u) << "the logger";
  auto again = provider_->Create(Hello());
  ASSERT_TRUE(again.has_value()) << again.status().ToString();
}

TEST_F(LocalProviderTest, CreateCleansUpWhenAHelperDoesNotStart) {
  host_.SetFifoReaders(false);  // the logger never opens its FIFO
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("sandbox-logger did not start"), std::string::npos)
      << s.status().message();
  EXPECT_EQ(clock_.total_blocking_sleep(), options_.helper_start_timeout);
  EXPECT_FALSE(Issued("run"));
  EXPECT_TRUE(NothingLeft());
  host_.SetFifoReaders(true);
  host_.FailNextCreateNetns(Internal("unshare: Operation not permitted"));
  auto t = provider_->Create(Hello());
  EXPECT_NE(t.status().message().find("unshare"), std::string::npos) << t.status().ToString();
  EXPECT_TRUE(NothingLeft());
}

TEST_F(LocalProviderTest, CreateTimesOutAndRemovesSandboxThatNeverServes) {
  host_.SetHttpHandler([](const std::filesystem::path&, uint16_t,
                          const std::string&) -> Result<HttpResponse> {
    return Unavailable("connect: Connection refused");
  });
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.status().message().find("Connection refused"), std::string::npos)
      << s.status().message();
  EXPECT_EQ(clock_.total_blocking_sleep(), 1000ms);  // the template's startTimeoutMs, 5 ms at a time
  EXPECT_TRUE(runc_.containers().empty());
  EXPECT_TRUE(NothingLeft());
}

TEST_F(LocalProviderTest, CreateNon2xxIsNotReady) {
  host_.SetHttpHandler([](const std::filesystem::path&, uint16_t,
                          const std::string&) -> Result<HttpResponse> {
    return HttpResponse{.status = 500, .body = "boom"};
  });
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.status().message().find("HTTP 500"), std::string::npos) << s.status().message();
}

TEST_F(LocalProviderTest, CreateFailsEarlyWhenProcessExits) {
  host_.SetHttpHandler([this](const std::filesystem::path&, uint16_t,
                              const std::string&) -> Result<HttpResponse> {
    for (const auto& [id, c] : runc_.containers()) runc_.Stop(id);
    return Unavailable("connect: Connection refused");
  });
  auto s = provider_->Create(Hello());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("exited before serving"), std::string::npos)
      << s.status().message();
  EXPECT_LT(clock_.total_blocking_sleep(), 1000ms);
  EXPECT_TRUE(runc_.containers().empty());
}

}  // namespace
}  // namespace sbx::provider::local
