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

  WebhookRegistry Make() {
    return WebhookRegistry(clock_, ids_, pool_, {.file = dir_ / "webhooks.json"});
  }

  std::filesystem::path dir_;
  net::io_context io_;
  FakeClock clock_;
  IdGenerator ids_{11};
  BlockingPool pool_{{.threads = 0}};
};

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

TEST(WebhookIdTest, RecognizesUuids) {
  EXPECT_TRUE(IsUuid("3f2a1b4c-0000-4000-8000-00000000abcd"));
  EXPECT_FALSE(IsUuid("3f2a1b4c00004000800000000000abcd"));
  EXPECT_FALSE(IsUuid("3f2a1b4c-0000-4000-8000-00000000abcg"));
  EXPECT_FALSE(IsUuid(""));
}

}  // namespace
}  // namespace sbx::runtime_api
