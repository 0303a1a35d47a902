// Where `sandboxd runtime` may send webhooks. A registration names a URL and
// the runtime POSTs to it, so without a policy any API client could make the
// runtime reach addresses only it can reach (cloud metadata, the host's own
// services). Link-local addresses (169.254.0.0/16, fe80::/10: metadata
// endpoints), unspecified, multicast, broadcast and reserved ranges are always
// refused; loopback and private ranges (127.0.0.0/8, ::1, RFC 1918, CGNAT
// 100.64.0.0/10, fc00::/7, …) only when `allow_private` says so. An
// IPv4-mapped IPv6 address is judged by its IPv4 address. The check applies to
// the URL at registration (IP literals, "localhost") and, when delivering, to
// every address a name resolves to: the request goes to an address that
// passed, so DNS cannot rebind a checked name to a refused address.
// Pure functions; thread-safe.
#pragma once

#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "base/status.h"

namespace sbx::runtime_api {

struct WebhookTargetPolicy {
  // Allow loopback and private ranges (a receiver on this machine or a LAN):
  // --webhook-allow-private. Link-local and the like stay refused.
  bool allow_private = false;
};

// OK if the policy lets webhooks go to `address`; kPermissionDenied naming
// the address and its range otherwise.
Status CheckWebhookAddress(const boost::asio::ip::address& address,
                           const WebhookTargetPolicy& policy);

// True for "localhost" and names under ".localhost" (any case, with or
// without a final '.'): loopback by definition (RFC 6761), never looked up.
bool IsLocalhostName(std::string_view host);

// The registration-time check of a URL's host (as written in the URL, IPv6
// without brackets): an IP literal goes through CheckWebhookAddress;
// "localhost" and names under ".localhost" count as loopback; other names are
// OK here (RuntimeServer resolves them through its Resolver and checks the
// addresses with CheckWebhookAddress) and checked again at every delivery.
// kInvalidArgument with the reason.
Status CheckWebhookHost(std::string_view host, const WebhookTargetPolicy& policy);

}  // namespace sbx::runtime_api
