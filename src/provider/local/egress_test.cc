#include "provider/local/egress.h"

#include <gtest/gtest.h>

namespace sbx::provider::local {
namespace {

TEST(EgressRulesetTest, RejectsEveryPrivateRangeAndAcceptsLoopbackAndDns) {
  const std::string rules = EgressRuleset({});
  EXPECT_NE(rules.find("table inet sandboxd_egress"), std::string::npos) << rules;
  EXPECT_NE(rules.find("type filter hook output priority 0; policy accept;"), std::string::npos);
  EXPECT_NE(rules.find("oifname \"lo\" accept"), std::string::npos);
  EXPECT_NE(rules.find("ip daddr 10.0.2.3 udp dport 53 accept"), std::string::npos);
  EXPECT_NE(rules.find("ip daddr 10.0.2.3 tcp dport 53 accept"), std::string::npos);
  for (const char* range :
       {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "::/127", "fc00::/7",
        "fe80::/10", "ff00::/8", "::ffff:0:0/96"}) {
    EXPECT_NE(rules.find(range), std::string::npos) << range;
  }
  // Rejected at once (an ICMP error), not silently dropped.
  EXPECT_NE(rules.find("reject with icmpx type admin-prohibited"), std::string::npos);
  EXPECT_EQ(rules.find("drop"), std::string::npos);
  // The accepts come before the rejects: the first match wins.
  EXPECT_LT(rules.find("accept\n"), rules.find("reject"));
  // A second load replaces the rules.
  EXPECT_EQ(rules.find("add table inet sandboxd_egress\nflush table inet sandboxd_egress\n"), 0u);
  // Public addresses (TEST-NET-3 stands for them in the tests) stay reachable.
  EXPECT_EQ(rules.find("203.0.113"), std::string::npos);
}

TEST(EgressRulesetTest, AddsHostAddressesNotAlreadyCovered) {
  const std::string rules =
      EgressRuleset({"192.168.1.7", "10.0.2.15", "203.0.113.9", "2001:db8::5", "fe80::1",
                     "not-an-address", "203.0.113.9"});
  // Public host addresses join the reject sets, once each.
  EXPECT_NE(rules.find("203.0.113.9 }"), std::string::npos) << rules;
  EXPECT_EQ(rules.find("203.0.113.9"), rules.rfind("203.0.113.9"));
  EXPECT_NE(rules.find("2001:db8::5 }"), std::string::npos) << rules;
  // Addresses inside a blocked range would overlap it (nft refuses that).
  EXPECT_EQ(rules.find("192.168.1.7"), std::string::npos);
  EXPECT_EQ(rules.find("10.0.2.15"), std::string::npos);
  EXPECT_EQ(rules.find("fe80::1 "), std::string::npos);
  EXPECT_EQ(rules.find("not-an-address"), std::string::npos);
}

TEST(SlirpCommandTest, ConfiguresTheTapAndKeepsTheHostLoopbackOut) {
  EXPECT_EQ(SlirpCommand("unshare", "slirp4netns", "/run/netns/sbx-1-a"),
            (std::vector<std::string>{"unshare", "--mount", "--propagation", "private",
                                      "slirp4netns", "--configure", "--mtu=65520",
                                      "--disable-host-loopback", "--enable-sandbox",
                                      "--enable-seccomp", "--netns-type=path",
                                      "/run/netns/sbx-1-a", "tap0"}));
}

}  // namespace
}  // namespace sbx::provider::local
