#include "runtime_api/webhook_policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace sbx::runtime_api {
namespace {

namespace ip = boost::asio::ip;

enum class Verdict { kAllowed, kPrivate, kRefused };

struct Range {
  uint32_t base;
  int prefix;
  Verdict verdict;
  const char* name;
};

constexpr uint32_t V4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// IANA special-purpose IPv4 ranges that are not the public internet.
constexpr std::array<Range, 14> kV4Ranges = {{
    {V4(0, 0, 0, 0), 8, Verdict::kRefused, "\"this network\" 0.0.0.0/8"},
    {V4(169, 254, 0, 0), 16, Verdict::kRefused, "link-local 169.254.0.0/16"},
    {V4(192, 0, 0, 0), 24, Verdict::kRefused, "IETF protocol assignments 192.0.0.0/24"},
    {V4(192, 0, 2, 0), 24, Verdict::kRefused, "documentation 192.0.2.0/24"},
    {V4(198, 18, 0, 0), 15, Verdict::kRefused, "benchmarking 198.18.0.0/15"},
    {V4(198, 51, 100, 0), 24, Verdict::kRefused, "documentation 198.51.100.0/24"},
    {V4(203, 0, 113, 0), 24, Verdict::kRefused, "documentation 203.0.113.0/24"},
    {V4(224, 0, 0, 0), 4, Verdict::kRefused, "multicast 224.0.0.0/4"},
    {V4(240, 0, 0, 0), 4, Verdict::kRefused, "reserved 240.0.0.0/4"},
    {V4(127, 0, 0, 0), 8, Verdict::kPrivate, "loopback 127.0.0.0/8"},
    {V4(10, 0, 0, 0), 8, Verdict::kPrivate, "private 10.0.0.0/8"},
    {V4(172, 16, 0, 0), 12, Verdict::kPrivate, "private 172.16.0.0/12"},
    {V4(192, 168, 0, 0), 16, Verdict::kPrivate, "private 192.168.0.0/16"},
    {V4(100, 64, 0, 0), 10, Verdict::kPrivate, "shared (CGNAT) 100.64.0.0/10"},
}};

bool InV4(uint32_t a, const Range& r) {
  const uint32_t mask = r.prefix == 0 ? 0 : ~uint32_t{0} << (32 - r.prefix);
  return (a & mask) == (r.base & mask);
}

std::pair<Verdict, const char*> ClassifyV4(const ip::address_v4& address) {
  const uint32_t a = address.to_uint();
  for (const Range& r : kV4Ranges) {
    if (InV4(a, r)) return {r.verdict, r.name};
  }
  return {Verdict::kAllowed, ""};
}

std::pair<Verdict, const char*> ClassifyV6(const ip::address_v6& address) {
  if (address.is_v4_mapped()) {
    return ClassifyV4(ip::make_address_v4(ip::v4_mapped, address));
  }
  const ip::address_v6::bytes_type b = address.to_bytes();
  if (address.is_unspecified()) return {Verdict::kRefused, "unspecified ::"};
  if (address.is_loopback()) return {Verdict::kPrivate, "loopback ::1"};
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return {Verdict::kRefused, "link-local fe80::/10"};
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return {Verdict::kRefused, "site-local fec0::/10"};
  if (b[0] == 0xff) return {Verdict::kRefused, "multicast ff00::/8"};
  if ((b[0] & 0xfe) == 0xfc) return {Verdict::kPrivate, "unique local fc00::/7"};
  // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 64:ff9b::/96 embed an
  // IPv4 address that decides where the packet ends up.
  const bool v4_compatible = std::all_of(b.begin(), b.begin() + 12, [](uint8_t x) { return x == 0; });
  const bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
                     std::all_of(b.begin() + 4, b.begin() + 12, [](uint8_t x) { return x == 0; });
  if (v4_compatible || nat64) {
    const ip::address_v4::bytes_type v4 = {b[12], b[13], b[14], b[15]};
    return ClassifyV4(ip::address_v4(v4));
  }
  // 6to4 2002::/16 carries the IPv4 address its packets go to in bits 16-47.
  if (b[0] == 0x20 && b[1] == 0x02) {
    const ip::address_v4::bytes_type v4 = {b[2], b[3], b[4], b[5]};
    return ClassifyV4(ip::address_v4(v4));
  }
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {
    return {Verdict::kRefused, "documentation 2001:db8::/32"};
  }
  // 2001::/23 (Teredo 2001::/32 among them), as 192.0.0.0/24 for IPv4.
  if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0x00) {
    return {Verdict::kRefused, "IETF protocol assignments 2001::/23"};
  }
  if (b[0] == 0x01 && std::all_of(b.begin() + 1, b.begin() + 8, [](uint8_t x) { return x == 0; })) {
    return {Verdict::kRefused, "discard-only 100::/64"};
  }
  return {Verdict::kAllowed, ""};
}

}  // namespace

bool IsLocalhostName(std::string_view host) {
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h == "localhost" || h.ends_with(".localhost");
}

Status CheckWebhookAddress(const ip::address& address, const WebhookTargetPolicy& policy) {
  if (address.is_v4() && address.to_v4() == ip::address_v4::broadcast()) {
    return Status(StatusCode::kPermissionDenied, "webhook target 255.255.255.255 is the broadcast address");
  }
  const auto [verdict, name] =
      address.is_v4() ? ClassifyV4(address.to_v4()) : ClassifyV6(address.to_v6());
  if (verdict == Verdict::kAllowed) return OkStatus();
  if (verdict == Verdict::kPrivate && policy.allow_private) return OkStatus();
  if (verdict == Verdict::kPrivate) {
    return Status(StatusCode::kPermissionDenied, fmt::format(
        "webhook target {} is in {}: private and loopback targets need --webhook-allow-private",
        address.to_string(), name));
  }
  return Status(StatusCode::kPermissionDenied, 
      fmt::format("webhook target {} is in {}, which is never allowed", address.to_string(), name));
}

Status CheckWebhookHost(std::string_view host, const WebhookTargetPolicy& policy) {
  if (IsLocalhostName(host)) {
    if (policy.allow_private) return OkStatus();
    return InvalidArgument(
        "Field 'url': localhost is a loopback target and needs --webhook-allow-private");
  }
  boost::system::error_code ec;
  const ip::address address = ip::make_address(std::string(host), ec);
  if (ec) return OkStatus();  // a name: checked at delivery, address by address
  if (Status s = CheckWebhookAddress(address, policy); !s.ok()) {
    return InvalidArgument(fmt::format("Field 'url': {}", s.message()));
  }
  return OkStatus();
}

}  // namespace sbx::runtime_api
