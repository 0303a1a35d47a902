#include "http/credentials.h"

#include <gtest/gtest.h>

#include <string>

namespace sbx::http_server {
namespace {

TEST(CredentialsTest, CookieValueFindsTheNamedCookieOnly) {
  EXPECT_EQ(CookieValue("a=1; sandboxd_session=abc; b=2", "sandboxd_session"), "abc");
  EXPECT_EQ(CookieValue("sandboxd_session=", "sandboxd_session"), "");
  EXPECT_EQ(CookieValue("xsandboxd_session=1", "sandboxd_session"), "");
  EXPECT_EQ(CookieValue("", "t"), "");
}

TEST(CredentialsTest, ConstantTimeEqualsComparesWholeValues) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace sbx::http_server
