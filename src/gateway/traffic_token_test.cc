#include "gateway/traffic_token.h"

#include <gtest/gtest.h>

namespace sbx::gateway {
namespace {

TEST(TrafficTokensTest, DerivedPerSandboxAndSecret) {
  TrafficTokens a("secret-a");
  TrafficTokens b("secret-b");
  const std::string t = a.For("sbx1");
  EXPECT_EQ(t.size(), 64u);
  EXPECT_EQ(t, TrafficTokens("secret-a").For("sbx1"));  // stateless: any replica agrees
  EXPECT_NE(t, a.For("sbx2"));
  EXPECT_NE(t, b.For("sbx1"));
  EXPECT_TRUE(a.Check("sbx1", t));
  EXPECT_FALSE(a.Check("sbx2", t));
  EXPECT_FALSE(b.Check("sbx1", t));
  EXPECT_FALSE(a.Check("sbx1", ""));
  EXPECT_FALSE(a.Check("sbx1", t.substr(0, 63)));
}

}  // namespace
}  // namespace sbx::gateway
