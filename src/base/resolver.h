// Resolver turns a host name into addresses: the DNS seam of the runtime's
// webhook delivery (which checks every address against its target policy,
// runtime_api/webhook_policy.h, then connects to one that passed) and of the
// preview gateway's E2B upstream. SystemResolver asks the system
// (getaddrinfo) on threads of its own, under a deadline; tests use
// FakeResolver (base/testing/). Calls never block the I/O thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "base/clock.h"
#include "base/net.h"
#include "base/status.h"

namespace sbx {

class Resolver {
 public:
  virtual ~Resolver() = default;
  // The addresses of `host`, in the system's order; an IP literal is its own
  // single address. kUnavailable when the name does not resolve,
  // kDeadlineExceeded when no answer came in time.
  virtual net::awaitable<Result<std::vector<boost::asio::ip::address>>> Resolve(
      const std::string& host) = 0;
};

// One blocking lookup: getaddrinfo for SystemResolver, a stand-in in tests.
using LookupFn = std::function<Result<std::vector<boost::asio::ip::address>>(const std::string&)>;

// The system's lookup (getaddrinfo: /etc/hosts, DNS, whatever nsswitch says),
// addresses deduplicated in the system's order. Blocks.
Result<std::vector<boost::asio::ip::address>> SystemLookup(const std::string& host);

struct SystemResolverOptions {
  int threads = 2;  // lookups at once; more wait their turn (within their deadline)
  std::chrono::milliseconds timeout{5000};  // per Resolve, waiting for a thread included
};

// getaddrinfo cannot be interrupted, and Asio's resolver runs every lookup of
// an io_context on one thread, so one name whose DNS server never answers
// held up every other lookup (and every connect made through it) for as long
// as glibc's own timeouts, about 30 s. Here lookups run on a few threads of
// their own and each Resolve gives up at its deadline; a lookup given up
// before a thread took it is never made, one already running finishes on its
// thread and its answer is dropped. IP literals are answered at once. The
// threads are detached: a lookup still stuck at shutdown does not hold the
// process. c-ares would make DNS itself cancellable but would bypass nsswitch
// (and so the system's name service) that getaddrinfo honours.
// REQUIRES: Resolve is called from one thread (the runtime's I/O thread).
class SystemResolver final : public Resolver {
 public:
  SystemResolver(Clock& clock, SystemResolverOptions options = {}, LookupFn lookup = SystemLookup);
  ~SystemResolver() override;
  SystemResolver(const SystemResolver&) = delete;
  SystemResolver& operator=(const SystemResolver&) = delete;

  // Resolver
  net::awaitable<Result<std::vector<boost::asio::ip::address>>> Resolve(
      const std::string& host) override;

 private:
  struct Shared;
  Clock& clock_;
  SystemResolverOptions options_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace sbx
