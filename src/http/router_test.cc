#include "http/router.h"

#include <gtest/gtest.h>

namespace sbx::http_server {
namespace {

net::awaitable<Response> Ok(RequestContext& ctx) {
  co_return JsonResponse(ctx.request, http::status::ok, "{}");
}

TEST(RouterTest, MatchesPlaceholdersAndMethods) {
  Router r;
  r.Add(http::verb::get, "/api/projects/{projectId}/sandbox", Ok);
  r.Add(http::verb::post, "/api/projects/{projectId}/sandbox/wake", Ok);
  Request req;
  RequestContext ctx{req, {}, "/api/projects/demo/sandbox", {}, {}};
  auto m = r.Find(http::verb::get, ctx);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(ctx.params["projectId"], "demo");
  EXPECT_EQ(ctx.route, "/api/projects/{projectId}/sandbox");
  RequestContext ctx2{req, {}, "/api/projects/demo/sandbox/wake", {}, {}};
  auto m2 = r.Find(http::verb::get, ctx2);
  EXPECT_EQ(m2.route, nullptr);
  EXPECT_TRUE(m2.method_not_allowed);
  EXPECT_EQ(m2.allow, "POST");
  RequestContext ctx3{req, {}, "/api/projects/demo/other", {}, {}};
  auto m3 = r.Find(http::verb::get, ctx3);
  EXPECT_EQ(m3.route, nullptr);
  EXPECT_FALSE(m3.method_not_allowed);
}

net::awaitable<void> Streams(RequestContext&, StreamWriter&) { co_return; }

TEST(RouterTest, AStreamWithAConditionServesOnlyTheRequestsItAccepts) {
  Router r;
  r.Add(http::verb::get, "/logs/{id}", Ok);  // added first: the stream still gets its requests
  r.AddStream(http::verb::get, "/logs/{id}", nullptr, Streams,
              [](const RequestContext& ctx) { return ctx.query.contains("follow"); });
  Request req;
  RequestContext plain{req, {}, "/logs/a", {}, {}};
  auto m = r.Find(http::verb::get, plain);
  ASSERT_NE(m.route, nullptr);
  EXPECT_TRUE(m.route->handler);
  EXPECT_FALSE(m.route->stream);
  RequestContext follow{req, {}, "/logs/a", {{"follow", "1"}}, {}};
  auto s = r.Find(http::verb::get, follow);
  ASSERT_NE(s.route, nullptr);
  EXPECT_TRUE(s.route->stream);
  EXPECT_EQ(follow.params["id"], "a");
  RequestContext post{req, {}, "/logs/a", {{"follow", "1"}}, {}};
  auto p = r.Find(http::verb::post, post);
  EXPECT_EQ(p.route, nullptr);
  EXPECT_TRUE(p.method_not_allowed);
  EXPECT_EQ(p.allow, "GET, HEAD");  // once, though two routes take GET
}

TEST(RouterTest, ParsesTargetsAndDecodesQuery) {
  std::string path;
  std::map<std::string, std::string> q;
  ASSERT_TRUE(ParseTarget("/api/sandboxes?status=RUNNING&cursor=a%20b", path, q));
  EXPECT_EQ(path, "/api/sandboxes");
  EXPECT_EQ(q["status"], "RUNNING");
  EXPECT_EQ(q["cursor"], "a b");
  EXPECT_FALSE(ParseTarget("no-slash", path, q));
  // The absolute form (RFC 9112 §3.2.2): its path and query.
  q.clear();
  ASSERT_TRUE(ParseTarget("http://127.0.0.1:8080/api/sandboxes?status=PAUSED", path, q));
  EXPECT_EQ(path, "/api/sandboxes");
  EXPECT_EQ(q["status"], "PAUSED");
  ASSERT_TRUE(ParseTarget("https://sandboxd.example", path, q));
  EXPECT_EQ(path, "/");
  EXPECT_FALSE(ParseTarget("ftp://h/api", path, q));
  EXPECT_FALSE(ParseTarget("http:/api", path, q));
  EXPECT_FALSE(ParseTarget("http:///api", path, q));  // no host
}

TEST(RouterTest, ErrorBodyHasCodeAndMessage) {
  Request req;
  auto res = ErrorResponse(req, http::status::not_found, "not_found", "project x has no sandbox");
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_EQ(res.body(), R"({"error":{"code":"not_found","message":"project x has no sandbox"}})");
  EXPECT_EQ(res[http::field::content_type], "application/json");
}

TEST(RouterTest, WhatAHeadAnnouncesOfItsBody) {
  Request req{http::verb::post, "/x", 11};
  EXPECT_FALSE(AnnouncesBody(req));
  EXPECT_FALSE(ContentLengthOf(req).has_value());
  req.set(http::field::content_length, "0");
  EXPECT_FALSE(AnnouncesBody(req));
  EXPECT_EQ(ContentLengthOf(req), 0u);
  req.set(http::field::content_length, "8000000");
  EXPECT_TRUE(AnnouncesBody(req));
  EXPECT_EQ(ContentLengthOf(req), 8'000'000u);
  req.erase(http::field::content_length);
  req.set(http::field::transfer_encoding, "chunked");
  EXPECT_TRUE(AnnouncesBody(req));
  EXPECT_FALSE(ContentLengthOf(req).has_value());
}

}  // namespace
}  // namespace sbx::http_server
