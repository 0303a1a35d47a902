// The egress policy of a local sandbox as data: the nftables ruleset installed
// in the network namespace of an `internet` sandbox (by sandboxd, as host root,
// so the sandbox cannot change it) and the slirp4netns command line that gives
// that namespace its user-mode uplink. A `none` sandbox gets neither: its
// namespace has only `lo`. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace sbx::provider::local {

// The tap device slirp4netns creates in the namespace, and its fixed
// addresses (slirp's defaults for 10.0.2.0/24).
inline constexpr char kSlirpTap[] = "tap0";
inline constexpr char kSlirpGateway[] = "10.0.2.2";
inline constexpr char kSlirpDns[] = "10.0.2.3";
// The nftables table sandboxd owns in an `internet` sandbox's namespace.
inline constexpr char kEgressTable[] = "sandboxd_egress";

// IPv4 and IPv6 destinations no sandbox may reach, whatever its policy:
// "this network", loopback, RFC 1918, CGNAT, link-local (cloud metadata),
// IETF/benchmarking ranges, multicast, reserved and broadcast, and the IPv6
// equivalents. Slirp's own network (gateway = host) is inside 10.0.0.0/8.
const std::vector<std::string>& BlockedIpv4Ranges();
const std::vector<std::string>& BlockedIpv6Ranges();

// The `nft -f` text for an `internet` sandbox: a table kEgressTable whose
// output chain accepts `lo`, DNS to slirp's resolver, and rejects (at once,
// with an ICMP error, not a silent drop) every blocked range and each of
// `host_addresses` (the host's own addresses, IPv4 or IPv6 literals; others
// are ignored), so the host is unreachable even on a public address.
std::string EgressRuleset(const std::vector<std::string>& host_addresses);

// argv of slirp4netns for the namespace at `netns_path`: configures tap0
// (address, route, DNS), refuses connections to the host's loopback, and
// sandboxes itself (own mount namespace, capabilities dropped, seccomp). It
// starts under `unshare --mount --propagation private`: slirp4netns's own
// sandboxing unmounts the old root, which would otherwise propagate to the
// host and unpin every namespace in a shared /run/netns.
std::vector<std::string> SlirpCommand(const std::string& unshare_binary,
                                      const std::string& slirp_binary,
                                      const std::string& netns_path);

}  // namespace sbx::provider::local
