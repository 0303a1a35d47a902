#include "runtime_api/webhooks.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "base/testing/fake_clock.h"
#include "runtime_api/testing/harness.h"

namespace sbx::runtime_api {
namespace {

using testing::RunSync;

boost::json::object Obj(std::string_view text) { return boost::json::parse(text).as_object(); }

constexpr char kValid[] =
    R"({"name":"sandboxd","url":"http://127.0.0.1:8080/api/webhooks/e2b",
        "events":["sandbox.lifecycle.paused","sandbox.lifecycle.killed"],
        "signatureSecret":"s3cret"})";

class WebhookRegistryTest : public ::testing::Test {
 protected:
  WebhookRegistryTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sbx-webhooks-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  ~WebhookRegistryTest() override { std::filesystem::remove_all(dir_); }

  WebhookRegistry Make(WebhookRegistryOptions options = {.targets = {.allow_private = true}}) {
    options.file = dir_ / "webhooks.json";
    return WebhookRegistry(clock_, ids_, pool_, options);
  }

  std::filesystem::path dir_;
  net::io_context io_;
  FakeClock clock_;
  IdGenerator ids_{11};
  BlockingPool pool_{{.threads = 0}};
};

// What the API does when the file cannot take a change: the registrations
// go back to what they were, order included.
TEST_F(WebhookRegistryTest, RestoreUndoesACreateAnUpdateAndADelete) {
  auto reg = Make();
  auto first = reg.Create(Obj(kValid));
  clock_.Advance(std::chrono::seconds(1));
  auto second = reg.Create(Obj(kValid));
  ASSERT_TRUE(first.ok() && second.ok());
  clock_.Advance(std::chrono::seconds(1));
  auto third = reg.Create(Obj(kValid));
  ASSERT_TRUE(third.ok());
  reg.Restore(third->id, std::nullopt);  // the create undone
  ASSERT_EQ(reg.List().size(), 2u);
  ASSERT_TRUE(reg.Update(first->id, Obj(R"({"enabled":false})")).ok());
  reg.Restore(first->id, *first);  // the update undone
  EXPECT_TRUE(reg.Get(first->id)->enabled);
  ASSERT_TRUE(reg.Delete(first->id).ok());
  reg.Restore(first->id, *first);  // the delete undone, back in first place
  ASSERT_EQ(reg.List().size(), 2u);
  EXPECT_EQ(reg.List()[0].id, first->id);
  EXPECT_EQ(reg.List()[1].id, second->id);
}

// A file that cannot be written fails the save (the API answers 500 and
// restores the registrations).
TEST_F(WebhookRegistryTest, ASaveThatCannotWriteFails) {
  std::ofstream(dir_ / "not-a-dir") << "x";
  WebhookRegistryOptions options{.targets = {.allow_private = true}};
  options.file = dir_ / "not-a-dir" / "webhooks.json";
  WebhookRegistry reg(clock_, ids_, pool_, options);
  ASSERT_TRUE(reg.Create(Obj(kValid)).ok());
  EXPECT_FALSE(RunSync(io_, reg.Save()).ok());
}

TEST_F(WebhookRegistryTest, CreateValidatesAndDefaults) {
  auto reg = Make();
  auto w = reg.Create(Obj(kValid));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE(IsUuid(w->id));
  EXPECT_TRUE(w->enabled);
  EXPECT_EQ(w->events.size(), 2u);
  EXPECT_EQ(w->signature_secret, "s3cret");
  EXPECT_EQ(w->created_at, clock_.Now());

  for (
      const char* bad :
      {R"({"url":"http://a/","events":[],"signatureSecret":"s"})",  // no name
       R"({"name":"n","events":[],"signatureSecret":"s"})",         // no url
       R"({"name":"n","url":"http://a/","signatureSecret":"s"})",   // no events
       R"({"name":"n","url":"http://a/","events":[]})",             // no secret
       R"({"name":"","url":"http://a/","events":[],"signatureSecret":"s"})",
       R"({"name":"n","url":"not a url","events":[],"signatureSecret":"s"})",
       R"({"name":"n","url":"ftp://a/","events":[],"signatureSecret":"s"})",
       R"({"name":"n","url":"https://a/","events":[],"signatureSecret":"s"})",
       R"({"name":"n","url":"http://a/","events":["sandbox.lifecycle.exploded"],"signatureSecret":"s"})",
       R"({"name":"n","url":"http://a/","events":"all","signatureSecret":"s"})",
       R"({"name":"n","url":"http://a/","events":[],"signatureSecret":""})",
       R"({"name":"n","url":"http://a/","events":[],"signatureSecret":"s","enabled":"no"})"}) {
    EXPECT_EQ(reg.Create(Obj(bad)).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(reg.List().size(), 1u);
}

TEST_F(WebhookRegistryTest, UpdateReplacesOnlyGivenFields) {
  auto reg = Make();
  auto w = reg.Create(Obj(kValid));
  auto u = reg.Update(w->id, Obj(R"({"enabled":false,"name":"renamed"})"));
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->enabled);
  EXPECT_EQ(u->name, "renamed");
  EXPECT_EQ(u->url, w->url);
  EXPECT_EQ(u->signature_secret, "s3cret");
  // A bad field changes nothing.
  EXPECT_FALSE(reg.Update(w->id, Obj(R"({"name":"x","url":"nope"})")).ok());
  EXPECT_EQ(reg.Get(w->id)->name, "renamed");
  EXPECT_EQ(reg.Update("00000000-0000-4000-8000-000000000001", Obj("{}")).status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(reg.Delete(w->id).ok());
  EXPECT_EQ(reg.Delete(w->id).code(), StatusCode::kNotFound);
  EXPECT_EQ(reg.Get(w->id).status().code(), StatusCode::kNotFound);
}

TEST_F(WebhookRegistryTest, SubscribersAreEnabledAndMatching) {
  auto reg = Make();
  auto some = reg.Create(Obj(kValid));
  auto all =
      reg.Create(Obj(R"({"name":"all","url":"http://a/","events":[],"signatureSecret":"x"})"));
  auto off = reg.Create(
      Obj(R"({"name":"off","url":"http://a/","events":[],"signatureSecret":"x","enabled":false})"));
  auto ids = [](const std::vector<Webhook>& ws) {
    std::vector<std::string> out;
    for (const auto& w : ws) out.push_back(w.id);
    return out;
  };
  EXPECT_EQ(ids(reg.Subscribers("sandbox.lifecycle.paused")),
            (std::vector<std::string>{some->id, all->id}));
  EXPECT_EQ(ids(reg.Subscribers("sandbox.lifecycle.created")), (std::vector<std::string>{all->id}));
}

TEST_F(WebhookRegistryTest, PersistsWithMode0600AndReloads) {
  std::string id;
  {
    auto reg = Make();
    auto w = reg.Create(Obj(kValid));
    id = w->id;
    ASSERT_TRUE(RunSync(io_, reg.Save()).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "webhooks.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto reloaded = Make();
  ASSERT_TRUE(reloaded.Load().ok());
  auto w = reloaded.Get(id);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->signature_secret, "s3cret");
  EXPECT_EQ(w->created_at, TruncateToMillis(clock_.Now()));
  EXPECT_EQ(w->events.size(), 2u);
}

TEST_F(WebhookRegistryTest, BrokenFileIsAnError) {
  {
    std::ofstream out(dir_ / "webhooks.json");
    out << "{not json";
  }
  auto reg = Make();
  EXPECT_EQ(reg.Load().code(), StatusCode::kFailedPrecondition);
}

std::string Registration(const std::string& url) {
  return R"({"name":"n","events":[],"signatureSecret":"s","url":")" + url + "\"}";
}

TEST_F(WebhookRegistryTest, UrlsFollowTheTargetPolicy) {
  WebhookRegistry strict = Make({.targets = {.allow_private = false}});
  for (const char* url : {"http://127.0.0.1:8080/h", "http://localhost:8080/h",
                          "http://app.localhost/h", "http://10.0.0.5/h", "http://192.168.1.1/h",
                          "http://172.20.0.1/h", "http://100.64.0.1/h", "http://[::1]:80/h",
                          "http://[fd00::1]/h", "http://169.254.169.254/latest/meta-data",
                          "http://[fe80::1]/h", "http://0.0.0.0/h", "http://[::ffff:127.0.0.1]/h"}) {
    auto r = strict.Create(Obj(Registration(url)));
    EXPECT_FALSE(r.ok()) << url;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << url;
    }
  }
  // Public addresses and names (checked again at every delivery) are fine.
  for (const char* url : {"http://93.184.216.34/h", "http://hooks.example.com/h"}) {
    EXPECT_TRUE(strict.Create(Obj(Registration(url))).ok()) << url;
  }
  // With private targets allowed, loopback works; link-local never does.
  WebhookRegistry open = Make();
  EXPECT_TRUE(open.Create(Obj(Registration("http://127.0.0.1:8080/h"))).ok());
  EXPECT_TRUE(open.Create(Obj(Registration("http://localhost:8080/h"))).ok());
  auto metadata = open.Create(Obj(Registration("http://169.254.169.254/")));
  ASSERT_FALSE(metadata.ok());
  EXPECT_NE(metadata.error().message().find("link-local"), std::string::npos)
      << metadata.error().message();
  // An update is held to the same policy.
  auto w = strict.Create(Obj(Registration("http://93.184.216.34/h")));
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(strict.Update(w->id, Obj(R"({"url":"http://127.0.0.1/h"})")).ok());
  EXPECT_EQ(strict.Get(w->id)->url, "http://93.184.216.34/h");
}

TEST_F(WebhookRegistryTest, RegistrationsAreCapped) {
  WebhookRegistry registry = Make({.max_webhooks = 3, .targets = {.allow_private = true}});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(registry.Create(Obj(kValid)).ok());
  auto fourth = registry.Create(Obj(kValid));
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fourth.error().message(), "At most 3 webhooks can be registered: delete one first");
  EXPECT_EQ(registry.List().size(), 3u);
  ASSERT_TRUE(registry.Delete(registry.List()[0].id).ok());
  EXPECT_TRUE(registry.Create(Obj(kValid)).ok());
}

TEST(WebhookIdTest, RecognizesUuids) {
  EXPECT_TRUE(IsUuid("3f2a1b4c-0000-4000-8000-00000000abcd"));
  EXPECT_FALSE(IsUuid("3f2a1b4c00004000800000000000abcd"));
  EXPECT_FALSE(IsUuid("3f2a1b4c-0000-4000-8000-00000000abcg"));
  EXPECT_FALSE(IsUuid(""));
}

}  // namespace
}  // namespace sbx::runtime_api
