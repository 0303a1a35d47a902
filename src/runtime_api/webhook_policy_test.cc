#include "runtime_api/webhook_policy.h"

#include <gtest/gtest.h>

namespace sbx::runtime_api {
namespace {

namespace ip = boost::asio::ip;

StatusCode CodeFor(const char* address, bool allow_private) {
  return CheckWebhookAddress(ip::make_address(address), {.allow_private = allow_private}).code();
}

TEST(WebhookPolicyTest, PublicAddressesAreAllowed) {
  for (const char* a : {"93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111",
                        "::ffff:93.184.216.34", "64:ff9b::808:808"}) {
    EXPECT_EQ(CodeFor(a, false), StatusCode::kOk) << a;
  }
}

TEST(WebhookPolicyTest, PrivateAndLoopbackNeedTheFlag) {
  for (const char* a :
       {"127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1",
        "100.64.0.1", "100.127.255.255", "::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1",
        "::ffff:10.1.2.3", "64:ff9b::a00:1", "2002:7f00:1::", "2002:c0a8:101::1"}) {
    EXPECT_EQ(CodeFor(a, false), StatusCode::kPermissionDenied) << a;
    EXPECT_EQ(CodeFor(a, true), StatusCode::kOk) << a;
  }
  // Just outside the ranges.
  for (const char* a : {"172.15.255.255", "172.32.0.0", "100.63.255.255", "100.128.0.0",
                        "11.0.0.1", "192.169.0.1", "2002:b00:1::", "2001:200::1",
                        "2606:4700::1", "100:0:0:1::1"}) {
    EXPECT_EQ(CodeFor(a, false), StatusCode::kOk) << a;
  }
}

TEST(WebhookPolicyTest, LinkLocalAndSpecialRangesAreNeverAllowed) {
  for (const char* a : {"169.254.169.254", "169.254.0.1", "fe80::1", "febf::1",
                        "::ffff:169.254.169.254", "0.0.0.0", "0.1.2.3", "::", "224.0.0.1",
                        "239.255.255.250", "255.255.255.255", "240.0.0.1", "ff02::1",
                        "192.0.2.1", "2001:db8::1", "fec0::1", "64:ff9b::a9fe:a9fe",
                        "2002:a9fe:a9fe::", "2001::1", "2001:0:4136:e378::1", "2001:1ff::1",
                        "100::1"}) {
    EXPECT_EQ(CodeFor(a, true), StatusCode::kPermissionDenied) << a;
  }
  const Status s = CheckWebhookAddress(ip::make_address("169.254.169.254"), {.allow_private = true});
  EXPECT_NE(s.message().find("link-local 169.254.0.0/16"), std::string::npos) << s.message();
  const Status p = CheckWebhookAddress(ip::make_address("10.0.0.1"), {});
  EXPECT_NE(p.message().find("--webhook-allow-private"), std::string::npos) << p.message();
}

TEST(WebhookPolicyTest, HostsAtRegistration) {
  const WebhookTargetPolicy strict{};
  const WebhookTargetPolicy open{.allow_private = true};
  EXPECT_EQ(CheckWebhookHost("localhost", strict).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckWebhookHost("LocalHost.", strict).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckWebhookHost("x.localhost", strict).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckWebhookHost("localhost", open).ok());
  EXPECT_EQ(CheckWebhookHost("127.0.0.1", strict).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckWebhookHost("::1", strict).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckWebhookHost("169.254.169.254", open).code(), StatusCode::kInvalidArgument);
  // Names resolve only when delivering, where every address is checked.
  EXPECT_TRUE(CheckWebhookHost("hooks.example.com", strict).ok());
  EXPECT_TRUE(CheckWebhookHost("93.184.216.34", strict).ok());
}

}  // namespace
}  // namespace sbx::runtime_api
