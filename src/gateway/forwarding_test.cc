#include "gateway/forwarding.h"

#include <gtest/gtest.h>

#include "http/credentials.h"

namespace sbx::gateway {
namespace {

http::request<http::buffer_body> Request() {
  http::request<http::buffer_body> req{http::verb::get, "/x", 11};
  req.set(http::field::host, "40000-sbx1.localhost:8081");
  return req;
}

TEST(ForwardingTest, DropsHopByHopAndAddsForwardedHeaders) {
  auto req = Request();
  req.set(http::field::connection, "keep-alive, X-Private");
  req.set(http::field::keep_alive, "timeout=5");
  req.set("X-Private", "secret");
  req.set(http::field::te, "trailers");
  req.set(http::field::trailer, "X-T");
  req.set(http::field::proxy_authorization, "Basic abc");
  req.set(http::field::upgrade, "h2c");
  req.set(http::field::expect, "100-continue");
  req.set("X-Forwarded-For", "10.0.0.1");
  req.set(kTrafficTokenHeader, "tok");
  req.set(http::field::cookie, "a=1; sandboxd_preview_token=tok; b=2");
  req.set("X-App", "kept");
  req.version(10);
  PrepareUpstreamRequest(req, {"127.0.0.1", "http"}, false);
  for (auto f : {http::field::connection, http::field::keep_alive, http::field::te,
                 http::field::trailer, http::field::proxy_authorization, http::field::upgrade,
                 http::field::expect}) {
    EXPECT_EQ(req.count(f), 0u) << f;
  }
  EXPECT_EQ(req.count("X-Private"), 0u);
  EXPECT_EQ(req.count(kTrafficTokenHeader), 0u);
  EXPECT_EQ(req[http::field::cookie], "a=1; b=2");
  EXPECT_EQ(req["X-App"], "kept");
  EXPECT_EQ(req["X-Forwarded-For"], "10.0.0.1, 127.0.0.1");
  EXPECT_EQ(req["X-Forwarded-Proto"], "http");
  EXPECT_EQ(req["X-Forwarded-Host"], "40000-sbx1.localhost:8081");
  EXPECT_EQ(req[http::field::host], "40000-sbx1.localhost:8081");
  EXPECT_EQ(req.version(), 11u);
  EXPECT_TRUE(req.keep_alive());
}

TEST(ForwardingTest, KeepsBodyFraming) {
  auto req = Request();
  req.method(http::verb::post);
  req.set(http::field::transfer_encoding, "chunked");
  req.set(http::field::connection, "close, transfer-encoding");
  PrepareUpstreamRequest(req, {"127.0.0.1", "https"}, false);
  EXPECT_TRUE(req.chunked());
  EXPECT_EQ(req["X-Forwarded-Proto"], "https");
  EXPECT_EQ(req.count("X-Forwarded-For"), 1u);
}

TEST(ForwardingTest, UpgradeKeepsUpgradeHeaders) {
  auto req = Request();
  req.set(http::field::connection, "keep-alive, Upgrade");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::sec_websocket_key, "k");
  ASSERT_TRUE(IsUpgradeRequest(req));
  PrepareUpstreamRequest(req, {"127.0.0.1", "http"}, true);
  EXPECT_EQ(req[http::field::connection], "Upgrade");
  EXPECT_EQ(req[http::field::upgrade], "websocket");
  EXPECT_EQ(req[http::field::sec_websocket_key], "k");
}

TEST(ForwardingTest, RecognisesUpgradesAndPageLoads) {
  auto req = Request();
  EXPECT_FALSE(IsUpgradeRequest(req));
  req.set(http::field::upgrade, "websocket");
  EXPECT_FALSE(IsUpgradeRequest(req)) << "Upgrade without Connection: upgrade";
  req.set(http::field::connection, "UPGRADE");
  EXPECT_TRUE(IsUpgradeRequest(req));

  auto page = Request();
  page.set(http::field::accept, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8");
  EXPECT_TRUE(WantsHtml(page));
  page.method(http::verb::post);
  EXPECT_FALSE(WantsHtml(page));
  auto api = Request();
  api.set(http::field::accept, "*/*");
  EXPECT_FALSE(WantsHtml(api));
  EXPECT_FALSE(WantsHtml(Request()));
}

TEST(ForwardingTest, ResponseFramingForTheClient) {
  http::response<http::buffer_body> res{http::status::ok, 11};
  res.set(http::field::connection, "close, X-Hop");
  res.set("X-Hop", "1");
  res.set(http::field::keep_alive, "timeout=5");
  res.set(http::field::proxy_authenticate, "Basic");
  res.set("X-App", "kept");
  PrepareClientResponse(res, {.version = 11, .keep_alive = true, .body_until_eof = true});
  EXPECT_EQ(res.count("X-Hop"), 0u);
  EXPECT_EQ(res.count(http::field::keep_alive), 0u);
  EXPECT_EQ(res.count(http::field::proxy_authenticate), 0u);
  EXPECT_EQ(res["X-App"], "kept");
  EXPECT_TRUE(res.chunked()) << "a close-delimited body is re-chunked for HTTP/1.1";
  EXPECT_TRUE(res.keep_alive());

  http::response<http::buffer_body> chunked{http::status::ok, 11};
  chunked.chunked(true);
  PrepareClientResponse(chunked, {.version = 10, .keep_alive = true});
  EXPECT_FALSE(chunked.chunked()) << "HTTP/1.0 has no chunking";
  EXPECT_FALSE(chunked.keep_alive()) << "so the body ends with the connection";
  EXPECT_EQ(chunked.version(), 10u);

  http::response<http::buffer_body> sized{http::status::ok, 11};
  sized.content_length(5);
  PrepareClientResponse(sized, {.version = 11, .keep_alive = false});
  EXPECT_FALSE(sized.keep_alive());
  EXPECT_EQ(sized[http::field::connection], "close");

  http::response<http::buffer_body> switching{http::status::switching_protocols, 11};
  switching.set(http::field::connection, "upgrade");
  switching.set(http::field::upgrade, "websocket");
  switching.set(http::field::sec_websocket_accept, "a");
  PrepareClientResponse(switching, {.version = 11, .upgrade = true});
  EXPECT_EQ(switching[http::field::connection], "Upgrade");
  EXPECT_EQ(switching[http::field::upgrade], "websocket");
  EXPECT_EQ(switching[http::field::sec_websocket_accept], "a");
}

TEST(ForwardingTest, Cookies) {
  EXPECT_EQ(http_server::CookieValue("a=1; t=xyz; b=2", "t"), "xyz");
  EXPECT_EQ(http_server::CookieValue("a=1;t=xyz", "t"), "xyz");
  EXPECT_EQ(http_server::CookieValue("tt=1", "t"), "");
  EXPECT_EQ(WithoutCookie("a=1; t=xyz; b=2", "t"), "a=1; b=2");
  EXPECT_EQ(WithoutCookie("t=xyz", "t"), "");
  EXPECT_EQ(WithoutCookie("tt=1; t=2", "t"), "tt=1");
}

// What a request or an app cannot do through the gateway: strip the Host
// the sandbox needs, pass for one of the gateway's own answers, or hide a
// traffic token in a second Cookie header.
TEST(ForwardingTest, HostStaysAppMarkersGoAndCookieHeadersAreJoined) {
  auto req = Request();
  req.set(http::field::connection, "Host, X-Hop");
  req.set("X-Hop", "1");
  PrepareUpstreamRequest(req, {"127.0.0.1", "http"}, false);
  EXPECT_EQ(req[http::field::host], "40000-sbx1.localhost:8081");
  EXPECT_EQ(req.count("X-Hop"), 0u);

  http::response<http::buffer_body> res{http::status::service_unavailable, 11};
  res.set(kPreviewAnswerHeader, "waking");
  PrepareClientResponse(res, {.version = 11, .keep_alive = true});
  EXPECT_EQ(res.count(kPreviewAnswerHeader), 0u);

  auto two = Request();
  two.insert(http::field::cookie, "a=1");
  two.insert(http::field::cookie, "sandboxd_preview_token=tok; b=2");
  MergeCookieHeaders(two);
  ASSERT_EQ(two.count(http::field::cookie), 1u);
  EXPECT_EQ(two[http::field::cookie], "a=1; sandboxd_preview_token=tok; b=2");
  PrepareUpstreamRequest(two, {"127.0.0.1", "http"}, false);
  EXPECT_EQ(two[http::field::cookie], "a=1; b=2");
  auto one = Request();
  one.set(http::field::cookie, "a=1");
  MergeCookieHeaders(one);
  EXPECT_EQ(one[http::field::cookie], "a=1");
}

TEST(ForwardingTest, AbsoluteFormTargetsBecomeOriginFormWithTheirHost) {
  auto req = Request();
  req.target("http://40000-sbx2.localhost:8081/a/b?c=d&e");
  ASSERT_TRUE(ToOriginForm(req));
  EXPECT_EQ(req.target(), "/a/b?c=d&e");
  EXPECT_EQ(req[http::field::host], "40000-sbx2.localhost:8081");  // the target's, not sbx1
  req.target("https://40000-sbx3.localhost");
  ASSERT_TRUE(ToOriginForm(req));
  EXPECT_EQ(req.target(), "/");
  EXPECT_EQ(req[http::field::host], "40000-sbx3.localhost");
  // Origin form and OPTIONS * stay as they are.
  auto plain = Request();
  ASSERT_TRUE(ToOriginForm(plain));
  EXPECT_EQ(plain.target(), "/x");
  EXPECT_EQ(plain[http::field::host], "40000-sbx1.localhost:8081");
  http::request<http::buffer_body> star{http::verb::options, "*", 11};
  EXPECT_TRUE(ToOriginForm(star));
  // Anything else is refused.
  for (const char* bad : {"x", "*", "ftp://h/", "http:///nohost", "mailto:a@b", "http://h/%zz"}) {
    auto r = Request();
    r.target(bad);
    EXPECT_FALSE(ToOriginForm(r)) << bad;
  }
}

TEST(ForwardingTest, TakeQueryParam) {
  auto t = TakeQueryParam("/a?x=1&tok=abc&y=2", "tok");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, "abc");
  EXPECT_EQ(t->target, "/a?x=1&y=2");
  t = TakeQueryParam("/?tok=abc", "tok");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->target, "/");
  EXPECT_FALSE(TakeQueryParam("/a?tokx=1", "tok"));
  EXPECT_FALSE(TakeQueryParam("/a", "tok"));
}

}  // namespace
}  // namespace sbx::gateway
