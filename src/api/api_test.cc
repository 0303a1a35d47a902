#include "api/api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "lifecycle/testing.h"

namespace sbx::api {
namespace {

using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : api_(h_.lifecycle, enforcer_, h_.metrics, h_.ids, {.api_token = "secret"}) {
    api_.Register(router_);
  }

  http_server::Response Call(http::verb method, const std::string& target, std::string body = "",
                             bool auth = true) {
    http_server::Request req{method, target, 11};
    if (auth) req.set(http::field::authorization, "Bearer secret");
    req.body() = std::move(body);
    req.prepare_payload();
    http_server::RequestContext ctx{req, {}, {}, {}, {}};
    EXPECT_TRUE(http_server::ParseTarget(target, ctx.path, ctx.query));
    auto m = router_.Find(method, ctx);
    if (!m.route) return http_server::ErrorResponse(req, http::status::not_found, "not_found", "");
    auto res = RunSync(h_.io, m.route->handler(ctx));
    h_.Drain();
    return res;
  }

  bool Authenticate(const std::string& cookie) {
    http_server::Request req{http::verb::get, "/api/sandboxes", 11};
    req.set(http::field::cookie, "other=1; " + cookie);
    return api_.Authenticate(req).ok();
  }

  static boost::json::value Json(const http_server::Response& r) {
    return boost::json::parse(r.body());
  }

  Harness h_;
  jobs::AlwaysLeader leader_;
  jobs::IdleEnforcer enforcer_{h_.clock,   h_.pool,    *h_.store, h_.lifecycle,
                               h_.bus,     h_.metrics, leader_,   {}};
  Api api_;
  http_server::Router router_;
};

TEST_F(ApiTest, EveryApiRouteNeedsTheToken) {
  for (auto [verb, target] : std::vector<std::pair<http::verb, std::string>>{
           {http::verb::get, "/api/projects/p1/sandbox"},
           {http::verb::post, "/api/projects/p1/sandbox"},
           {http::verb::post, "/api/projects/p1/sandbox/wake"},
           {http::verb::delete_, "/api/projects/p1/sandbox"},
           {http::verb::get, "/api/sandboxes"},
           {http::verb::get, "/api/jobs/idle-enforcer/runs"}}) {
    auto r = Call(verb, target, "", false);
    EXPECT_EQ(r.result(), http::status::unauthorized) << target;
    EXPECT_EQ(Json(r).at("error").at("code"), "unauthenticated");
  }
  EXPECT_EQ(h_.provider.calls("create"), 0);
}

TEST_F(ApiTest, CreateGetAndLifecycleRoutes) {
  auto c = Call(http::verb::post, "/api/projects/demo/sandbox", R"({"idleTimeoutSeconds":60})");
  ASSERT_EQ(c.result(), http::status::created) << c.body();
  auto j = Json(c);
  EXPECT_EQ(j.at("status"), "RUNNING");
  EXPECT_EQ(j.at("idleTimeoutSeconds"), 60);
  EXPECT_TRUE(j.at("pauseAt").is_string());
  EXPECT_TRUE(j.at("lastError").is_null());
  EXPECT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox").result(), http::status::ok);
  auto g = Call(http::verb::get, "/api/projects/demo/sandbox");
  EXPECT_EQ(g.result(), http::status::ok);
  EXPECT_EQ(Json(g).at("projectId"), "demo");
  EXPECT_EQ(Call(http::verb::post, "/api/projects/demo/sandbox/activity").result(),
            http::status::no_content);
  auto p = Call(http::verb::post, "/api/projects/demo/sandbox/pause");
  EXPECT_EQ(p.result(), http::status::accepted);
  EXPECT_EQ(Json(p).at("status"), "PAUSING");
  EXPECT_EQ(h_.lifecycle.Get("demo")->status, core::SandboxStatus::kPaused);
  auto w = Call(http::verb::post, "/api/projects/demo/sandbox/wake");
  EXPECT_EQ(w.result(), http::status::accepted);
  EXPECT_EQ(Json(w).at("status"), "STARTING");
  auto patch = Call(http::verb::patch, "/api/projects/demo/sandbox", R"({"idleTimeoutSeconds":30})");
  EXPECT_EQ(Json(patch).at("idleTimeoutSeconds"), 30);
  auto hist = Call(http::verb::get, "/api/projects/demo/sandbox/history");
  EXPECT_GE(Json(hist).at("events").as_array().size(), 5u);
  EXPECT_EQ(Call(http::verb::delete_, "/api/projects/demo/sandbox").result(),
            http::status::no_content);
  EXPECT_EQ(Json(Call(http::verb::get, "/api/projects/demo/sandbox")).at("status"), "KILLED");
}

TEST_F(ApiTest, BadInputGetsClear4xxAndChangesNothing) {
  auto bad = Call(http::verb::post, "/api/projects/p1/sandbox", "{not json");
  EXPECT_EQ(bad.result(), http::status::bad_request);
  EXPECT_EQ(Json(bad).at("error").at("code"), "invalid_argument");
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p1/sandbox", "[1]").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p1/sandbox", R"({"idleTimeoutSeconds":-1})").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p1/sandbox", R"({"template":5})").result(),
            http::status::bad_request);
  EXPECT_EQ(Call(http::verb::post, "/api/projects/bad%20id/sandbox").result(),
            http::status::bad_request);
  // "." and ".." are not project ids, and metadata has limits.
  EXPECT_EQ(Call(http::verb::post, "/api/projects/../sandbox").result(), http::status::bad_request);
  EXPECT_EQ(Call(http::verb::post, "/api/projects/./sandbox").result(), http::status::bad_request);
  std::string huge = R"({"metadata":{)";
  for (int i = 0; i < 40; ++i) huge += (i ? "," : "") + fmt::format(R"("k{}":"v")", i);
  huge += "}}";
  auto too_many = Call(http::verb::post, "/api/projects/p1/sandbox", huge);
  EXPECT_EQ(too_many.result(), http::status::bad_request);
  EXPECT_NE(too_many.body().find("at most 32"), std::string::npos) << too_many.body();
  EXPECT_EQ(Call(http::verb::post, "/api/projects/p1/sandbox",
                 R"({"metadata":{"k":")" + std::string(2000, 'v') + R"("}})")
                .result(),
            http::status::bad_request);
  EXPECT_EQ(h_.provider.calls("create"), 0);
  EXPECT_FALSE(h_.lifecycle.Get("p1").ok());
  auto nf = Call(http::verb::get, "/api/projects/nope/sandbox");
  EXPECT_EQ(nf.result(), http::status::not_found);
  EXPECT_EQ(Json(nf).at("error").at("code"), "not_found");
  EXPECT_EQ(Call(http::verb::post, "/api/projects/nope/sandbox/wake").result(),
            http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/api/sandboxes?limit=0").result(), http::status::bad_request);
  EXPECT_EQ(Call(http::verb::get, "/api/sandboxes?status=SLEEPING").result(),
            http::status::bad_request);
}

TEST_F(ApiTest, ListPagesWithCursor) {
  for (const char* p : {"a", "b", "c"}) {
    ASSERT_EQ(Call(http::verb::post, std::string("/api/projects/") + p + "/sandbox").result(),
              http::status::created);
  }
  auto page1 = Json(Call(http::verb::get, "/api/sandboxes?limit=2"));
  ASSERT_EQ(page1.at("sandboxes").as_array().size(), 2u);
  EXPECT_EQ(page1.at("nextCursor"), "b");
  auto page2 = Json(Call(http::verb::get, "/api/sandboxes?limit=2&cursor=b"));
  ASSERT_EQ(page2.at("sandboxes").as_array().size(), 1u);
  EXPECT_TRUE(page2.at("nextCursor").is_null());
  auto running = Json(Call(http::verb::get, "/api/sandboxes?status=PAUSED"));
  EXPECT_TRUE(running.at("sandboxes").as_array().empty());
}

TEST_F(ApiTest, SessionCookieSignsInAndWrongTokenDoesNot) {
  auto in = Call(http::verb::post, "/api/session");
  ASSERT_EQ(in.result(), http::status::no_content);
  std::string cookie(in[http::field::set_cookie]);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(Authenticate("sandboxd_session=" + api_.SessionCookieValue()), true);
  EXPECT_EQ(Authenticate("sandboxd_session=forged"), false);
  http_server::Request req{http::verb::post, "/api/session", 11};
  req.set(http::field::authorization, "Bearer wrong");
  EXPECT_FALSE(api_.Authenticate(req).ok());
}

}  // namespace
}  // namespace sbx::api
