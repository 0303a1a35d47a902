#include "provider/local/egress.h"

#include <arpa/inet.h>

#include <cstdint>

#include <fmt/format.h>

namespace sbx::provider::local {
namespace {

// An address as bytes (4 or 16), or empty when `s` is no IP literal.
std::vector<uint8_t> Bytes(int family, const std::string& s) {
  std::vector<uint8_t> out(family == AF_INET ? 4 : 16);
  if (::inet_pton(family, s.c_str(), out.data()) != 1) return {};
  return out;
}

// True when `range` ("a/n") contains the address `addr` (same family).
bool Contains(int family, const std::string& range, const std::vector<uint8_t>& addr) {
  const size_t slash = range.find('/');
  const std::vector<uint8_t> net = Bytes(family, range.substr(0, slash));
  if (net.empty() || net.size() != addr.size()) return false;
  const int bits = std::stoi(range.substr(slash + 1));
  for (int i = 0; i < bits; ++i) {
    const auto byte = static_cast<size_t>(i / 8);
    const int mask = 0x80 >> (i % 8);
    if ((net[byte] & mask) != (addr[byte] & mask)) return false;
  }
  return true;
}

// Adds `addr` to `set` unless a range or address already there covers it
// (nftables refuses overlapping elements in one set).
void AddAddress(int family, const std::string& addr, std::vector<std::string>& set) {
  const std::vector<uint8_t> bytes = Bytes(family, addr);
  if (bytes.empty()) return;
  for (const auto& item : set) {
    const bool range = item.find('/') != std::string::npos;
    if (range ? Contains(family, item, bytes) : Bytes(family, item) == bytes) return;
  }
  set.push_back(addr);
}

std::string Set(const std::vector<std::string>& items) {
  std::string out = "{ ";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  return out + " }";
}

}  // namespace

const std::vector<std::string>& BlockedIpv4Ranges() {
  static const std::vector<std::string> kRanges = {
      "0.0.0.0/8",      "10.0.0.0/8",    "100.64.0.0/10",  "127.0.0.0/8",
      "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",   "192.168.0.0/16",
      "198.18.0.0/15",  "224.0.0.0/4",   "240.0.0.0/4",
  };
  return kRanges;
}

const std::vector<std::string>& BlockedIpv6Ranges() {
  static const std::vector<std::string> kRanges = {
      "::/127",        // unspecified and loopback
      "::ffff:0:0/96",  // IPv4-mapped: the IPv4 rules must not be bypassed
      "64:ff9b::/96",   // NAT64 of IPv4 addresses
      "100::/64",       // discard
      "fc00::/7",       // unique local
      "fe80::/10",      // link-local
      "fec0::/10",      // site-local (deprecated)
      "ff00::/8",       // multicast
  };
  return kRanges;
}

std::string EgressRuleset(const std::vector<std::string>& host_addresses) {
  std::vector<std::string> v4 = BlockedIpv4Ranges();
  std::vector<std::string> v6 = BlockedIpv6Ranges();
  for (const auto& a : host_addresses) {
    AddAddress(AF_INET, a, v4);
    AddAddress(AF_INET6, a, v6);
  }
  // `flush table` after `add table` makes the file idempotent: a second load
  // replaces the rules instead of appending to them.
  return fmt::format(
      "add table inet {table}\n"
      "flush table inet {table}\n"
      "table inet {table} {{\n"
      "  chain output {{\n"
      "    type filter hook output priority 0; policy accept;\n"
      "    oifname \"lo\" accept\n"
      "    ip daddr {dns} udp dport 53 accept\n"
      "    ip daddr {dns} tcp dport 53 accept\n"
      "    ip daddr {v4} reject with icmpx type admin-prohibited\n"
      "    ip6 daddr {v6} reject with icmpx type admin-prohibited\n"
      "  }}\n"
      "}}\n",
      fmt::arg("table", kEgressTable), fmt::arg("dns", kSlirpDns), fmt::arg("v4", Set(v4)),
      fmt::arg("v6", Set(v6)));
}

std::vector<std::string> SlirpCommand(const std::string& unshare_binary,
                                      const std::string& slirp_binary,
                                      const std::string& netns_path) {
  return {unshare_binary,
          "--mount",
          "--propagation",
          "private",
          slirp_binary,
          "--configure",
          "--mtu=65520",
          "--disable-host-loopback",
          "--enable-sandbox",
          "--enable-seccomp",
          "--netns-type=path",
          netns_path,
          kSlirpTap};
}

}  // namespace sbx::provider::local
