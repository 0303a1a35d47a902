// E2bUpstream reaches E2B sandboxes where E2B serves them: port P of sandbox
// S is the host "P-S.<domain>" (the domain of the sandbox's stored URL, else
// E2B_DOMAIN), over TLS on 443 with the certificate verified against the
// system's trust store and the host name. So that it can be exercised without
// the cloud: when the E2B API URL is plain http:// on a loopback address
// (that is `sandboxd runtime`, which serves previews by Host header on its API
// listener), it connects to that address instead and sends
// `Host: P-S.<domain>`. Thread-safe after Create.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "base/resolver.h"
#include "gateway/upstream.h"

namespace sbx::gateway {

struct E2bUpstreamOptions {
  std::string api_url = "https://api.e2b.app";  // E2B_API_URL (see the header comment)
  std::string domain = "e2b.app";               // E2B_DOMAIN, when the stored URL has none
  // Connect + TLS handshake; the name lookup before them has the Resolver's
  // own deadline (SystemResolver: 5 s).
  std::chrono::milliseconds connect_timeout{10000};
  std::string ca_file;  // PEM file of extra trusted CAs; default: the system's store only
  uint16_t tls_port = 443;  // tests serve TLS on another port of the resolved address
};

class E2bUpstream final : public Upstream {
 public:
  // kInvalidArgument for an api_url that is not http(s)://, kUnavailable when
  // the TLS context cannot load its trust store. `resolver` looks up sandbox
  // hosts for TLS (its deadline bounds a stuck DNS server; Asio's resolver
  // would queue every lookup of the io_context behind it); it must outlive
  // the upstream.
  static Result<std::unique_ptr<E2bUpstream>> Create(E2bUpstreamOptions options,
                                                     Resolver& resolver);

  // Upstream
  net::awaitable<Result<std::unique_ptr<UpstreamConnection>>> Connect(
      const core::Sandbox& sandbox, uint16_t port) override;

  // "P-S.<domain>" for `port` of `sandbox`.
  std::string HostFor(const core::Sandbox& sandbox, uint16_t port) const;
  // Where plain connections go (sandboxd runtime), or nullopt for TLS to E2B.
  const std::optional<net::ip::tcp::endpoint>& plain_endpoint() const { return plain_; }

 private:
  E2bUpstream(E2bUpstreamOptions options, Resolver& resolver, net::ssl::context tls,
              std::optional<net::ip::tcp::endpoint> plain);
  net::awaitable<Result<std::unique_ptr<UpstreamConnection>>> ConnectTls(const std::string& host);

  E2bUpstreamOptions options_;
  Resolver& resolver_;
  net::ssl::context tls_;
  std::optional<net::ip::tcp::endpoint> plain_;
};

}  // namespace sbx::gateway
