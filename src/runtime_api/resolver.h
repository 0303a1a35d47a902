// Resolver turns a host name into addresses: the DNS seam of webhook
// delivery, which checks every address against the target policy
// (webhook_policy.h) and then connects to one that passed. AsioResolver asks
// the system (getaddrinfo, on Asio's resolver thread); tests use
// FakeResolver (runtime_api/testing/). Calls never block the I/O thread.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "base/net.h"
#include "base/status.h"

namespace sbx::runtime_api {

class Resolver {
 public:
  virtual ~Resolver() = default;
  // The addresses of `host`, in the system's order; an IP literal is its own
  // single address. kUnavailable when the name does not resolve.
  virtual net::awaitable<Result<std::vector<boost::asio::ip::address>>> Resolve(
      const std::string& host) = 0;
};

class AsioResolver final : public Resolver {
 public:
  // Resolver
  net::awaitable<Result<std::vector<boost::asio::ip::address>>> Resolve(
      const std::string& host) override;
};

}  // namespace sbx::runtime_api
