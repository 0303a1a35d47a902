#include "api/wire.h"

#include <gtest/gtest.h>

namespace sbx::api {
namespace {

core::Sandbox Running(const std::string& url) {
  core::Sandbox s;
  s.project_id = "p";
  s.sandbox_id = "sbx1";
  s.status = core::SandboxStatus::kRunning;
  s.url = url;
  return s;
}

TEST(WireTest, PreviewPortOfProviderUrls) {
  EXPECT_EQ(PreviewPortOf("http://127.0.0.1:40000/"), 40000);
  EXPECT_EQ(PreviewPortOf("https://49999-i1.e2b.app/"), 49999);
  EXPECT_EQ(PreviewPortOf("http://49999-i1.sbx.local:3000/"), 49999) << "the label wins";
  EXPECT_EQ(PreviewPortOf("http://[::1]:8080/x"), 8080);
  EXPECT_FALSE(PreviewPortOf("https://e2b.app/"));
  EXPECT_FALSE(PreviewPortOf("http://my-host.example/"));
  EXPECT_FALSE(PreviewPortOf("http://127.0.0.1:0/"));
  EXPECT_FALSE(PreviewPortOf("not a url"));
}

TEST(WireTest, UrlIsTheGatewayAddressAndTheRecordKeepsTheProviders) {
  const SandboxView view{.scheme = "http", .domain = "localhost:8081"};
  const core::Sandbox local = Running("http://127.0.0.1:40000/");
  auto o = SandboxJson(local, view, {});
  EXPECT_EQ(o["url"], "http://40000-sbx1.localhost:8081/");
  EXPECT_TRUE(o["trafficAccessToken"].is_null());
  EXPECT_EQ(*local.url, "http://127.0.0.1:40000/");

  auto e2b = SandboxJson(Running("https://49999-sbx1.e2b.app/"),
                         {.scheme = "https", .domain = "preview.example.com"}, {});
  EXPECT_EQ(e2b["url"], "https://49999-sbx1.preview.example.com/");

  core::Sandbox starting = Running("");
  starting.url.reset();
  EXPECT_TRUE(SandboxJson(starting, view, {})["url"].is_null());
  EXPECT_EQ(SandboxJson(local, SandboxView{}, {})["url"], "http://127.0.0.1:40000/")
      << "no domain: the provider's URL as it is";
}

TEST(WireTest, TrafficTokenWhenConfigured) {
  SandboxView view{.domain = "localhost:8081"};
  view.traffic_token = [](const std::string& id) { return "tok-" + id; };
  EXPECT_EQ(SandboxJson(Running("http://127.0.0.1:40000/"), view, {})["trafficAccessToken"],
            "tok-sbx1");
  core::Sandbox none = Running("http://127.0.0.1:40000/");
  none.sandbox_id.clear();
  EXPECT_TRUE(SandboxJson(none, view, {})["trafficAccessToken"].is_null());
}

// The record keeps an expired hold until its next write; the object, as of
// its time, does not list it.
TEST(WireTest, HoldsAreThoseUnexpiredAtTheObjectsTime) {
  using namespace std::chrono_literals;
  core::Sandbox s = Running("http://127.0.0.1:40000/");
  const SystemTime t0 = SystemTime{} + 1000h;
  s.holds["build"] = t0 + 10min;
  s.holds["deploy"] = t0 + 20min;
  EXPECT_EQ(SandboxJson(s, {}, t0)["holds"].as_array().size(), 2u);
  const auto later = SandboxJson(s, {}, t0 + 10min)["holds"].as_array();
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].as_object().at("name"), "deploy");
  EXPECT_TRUE(SandboxJson(s, {}, t0 + 1h)["holds"].as_array().empty());
  EXPECT_EQ(NextHoldExpiry(s.holds, t0), t0 + 10min);
  EXPECT_EQ(NextHoldExpiry(s.holds, t0 + 10min), t0 + 20min);
  EXPECT_FALSE(NextHoldExpiry(s.holds, t0 + 20min).has_value());
}

// The newest activity of each source rides in the sandbox object, so a
// client can tell which source moved pauseAt without asking explain again.
TEST(WireTest, TheObjectCarriesTheNewestActivityOfEachSource) {
  core::Sandbox s = Running("http://127.0.0.1:40000/");
  s.activity = {{"presence", FromUnixMillis(1'767'225'601'000)},
                {"start", FromUnixMillis(1'767'225'600'000)}};
  const auto activity = SandboxJson(s, {}, FromUnixMillis(1'767'225'602'000))["activity"];
  EXPECT_EQ(activity, (boost::json::object{{"presence", "2026-01-01T00:00:01.000Z"},
                                            {"start", "2026-01-01T00:00:00.000Z"}}));
}

}  // namespace
}  // namespace sbx::api
