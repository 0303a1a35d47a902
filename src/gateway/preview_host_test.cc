#include "gateway/preview_host.h"

#include <gtest/gtest.h>

namespace sbx::gateway {
namespace {

PreviewDomain Domain(const std::string& text) {
  auto d = ParsePreviewDomain(text);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : PreviewDomain{};
}

TEST(PreviewDomainTest, ParsesHostPortAndScheme) {
  auto d = Domain("localhost:8081");
  EXPECT_EQ(d.scheme, "http");
  EXPECT_EQ(d.host, "localhost:8081");
  d = Domain("https://Preview.Example.com/");
  EXPECT_EQ(d.scheme, "https");
  EXPECT_EQ(d.host, "preview.example.com");
  for (const char* bad : {"", "http://", "ftp://x.com", "x.com/path", "x_y.com", ".x.com",
                          "x.com:abc", "https://http://x"}) {
    EXPECT_FALSE(ParsePreviewDomain(bad).ok()) << bad;
  }
}

TEST(PreviewHostTest, ReadsPortAndIdIgnoringCaseAndPort) {
  const auto d = Domain("localhost:8081");
  auto h = ParsePreviewHost("40000-sbxabc123.localhost:8081", d);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->port, 40000);
  EXPECT_EQ(h->sandbox_id, "sbxabc123");
  // Browsers lowercase hosts; a proxy in front may drop or change the port.
  h = ParsePreviewHost("3000-SBXABC.LocalHost", d);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->port, 3000);
  EXPECT_EQ(h->sandbox_id, "sbxabc");
  h = ParsePreviewHost("49999-i1x2.preview.example.com:443", Domain("https://preview.example.com"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->sandbox_id, "i1x2");
}

TEST(PreviewHostTest, BareDomainIsNotFound) {
  const auto d = Domain("localhost:8081");
  EXPECT_EQ(ParsePreviewHost("localhost:8081", d).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ParsePreviewHost("LOCALHOST", d).status().code(), StatusCode::kNotFound);
}

TEST(PreviewHostTest, MalformedHostsAreInvalid) {
  const auto d = Domain("localhost:8081");
  for (const char* bad :
       {"", "example.com", "40000-abc.example.com", "40000-abc.notlocalhost",  // other domains
        "abc.localhost", "-abc.localhost", "40000-.localhost", "40000abc.localhost",
        "0-abc.localhost", "65536-abc.localhost", "99999999999-abc.localhost",
        "40000-a.b.localhost", "x.40000-abc.localhost", "40000-ab_c.localhost",
        "40000-ab-c.localhost", "[::1]:8081", "40000-abc.localhost:x",
        "40000-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.localhost"}) {
    auto h = ParsePreviewHost(bad, d);
    EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(PreviewHostTest, UrlRoundTrips) {
  const auto d = Domain("localhost:8081");
  const std::string url = PreviewUrl(d, 40000, "sbxabc");
  EXPECT_EQ(url, "http://40000-sbxabc.localhost:8081/");
  auto h = ParsePreviewHost("40000-sbxabc.localhost:8081", d);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(PreviewUrl(d, h->port, h->sandbox_id), url);
  EXPECT_EQ(PreviewUrl(Domain("https://p.example.com"), 3000, "i9"), "https://3000-i9.p.example.com/");
}

}  // namespace
}  // namespace sbx::gateway
