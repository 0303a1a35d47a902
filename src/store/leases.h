// LeaseStore: named leases with fencing tokens, for one leader among replicas
// that share a store (jobs::LeaseLeadership holds "sandboxd-leader").
// PostgresStore implements it; a single node needs none (jobs::AlwaysLeader).
// Thread-safe. Every call blocks: run it off the I/O threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "base/time.h"

namespace sbx::store {

// The result of TryAcquireLease.
struct Lease {
  bool held = false;  // the caller holds the lease now
  // When held: increases every time the lease changes hands, never within
  // one holder's tenure. Writes made on behalf of a lease carry it, so a
  // deposed holder's late writes can be told apart. 0 when not held.
  int64_t token = 0;
  friend bool operator==(const Lease&, const Lease&) = default;
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  // Takes the lease `name` for `holder` until now + ttl if it is free,
  // expired (expiry <= now), released, or already held by `holder` (which
  // renews it). Otherwise returns {.held = false} and changes nothing. Every
  // replica's clock must roughly agree: `now` decides expiry.
  // kInvalidArgument for an empty name or holder, or a ttl <= 0;
  // kUnavailable when the store cannot be reached.
  virtual Result<Lease> TryAcquireLease(const std::string& name, const std::string& holder,
                                        std::chrono::milliseconds ttl, SystemTime now) = 0;
  // Gives the lease up if `holder` holds it, so another can take it at once
  // (with the next token). OK and no change when `holder` does not hold it.
  virtual Status ReleaseLease(const std::string& name, const std::string& holder) = 0;
};

}  // namespace sbx::store
