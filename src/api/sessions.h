// Sessions are the dashboard's sign-ins: POST /api/session trades the API
// token for a random session id (256 bits from the IdGenerator) that the
// browser keeps in an HttpOnly cookie. The store keeps only a keyed hash of
// the id (HMAC-SHA256 under the API token, so rotating the token ends every
// session) and its expiry, so any replica can check a cookie and sign-out
// revokes it everywhere.
//
// Checks answer from a small in-memory cache of hashes verified against the
// store, so a status read with a cookie does not query the database each
// time. A cached entry is trusted for `revalidate_after` at most; checks for
// requests that change state (`fresh`) always ask the store. Revoke drops the
// entry here at once; another replica stops honouring a revoked cookie for
// reads within `revalidate_after`, for writes at once. While the store
// cannot answer (an outage, not a missing session), reads keep honouring an
// unexpired cached check.
// Thread-safe; store calls run on the given BlockingPool. Callers keep the
// id arguments alive until the call completes.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/net.h"
#include "base/status.h"
#include "store/store.h"

namespace sbx::api {

struct SessionOptions {
  std::string key;                              // the API token: keys the stored hashes
  std::chrono::seconds ttl{7 * 24 * 3600};      // --session-ttl: a session's lifetime
  std::chrono::seconds revalidate_after{5};     // longest trust in a cached check
  size_t max_cached = 4096;                     // cache entries at most
};

class Sessions {
 public:
  Sessions(Clock& clock, BlockingPool& store_pool, store::Store& store, IdGenerator& ids,
           SessionOptions options);

  // A new session, stored with its expiry; returns its id (the cookie value,
  // 64 hex characters). kUnavailable when the store fails.
  net::awaitable<Result<std::string>> Create();
  // OK for a stored, unexpired session. kUnauthenticated for an unknown,
  // malformed, expired or revoked id; kUnavailable when the store fails.
  // `fresh`: skip the cache (requests that change state).
  net::awaitable<Status> Check(const std::string& id, bool fresh = false);
  // Deletes the session from the store (OK when there is none), then tells
  // the revocation listener (open event streams of the session end).
  net::awaitable<Status> Revoke(const std::string& id);
  // Called with the id of each session revoked through this object, on the
  // thread that revoked it. One listener; set it before serving.
  void OnRevoke(std::function<void(const std::string& id)> listener);

  const SessionOptions& options() const { return options_; }
  // The stored hash of `id` (for tests).
  std::string HashOf(std::string_view id) const;

 private:
  struct Cached {
    SystemTime expires_at;
    SteadyTime verified_at;
  };
  // Caches `hash` unless a revocation happened since `generation` (a check
  // that raced a sign-out must not bring the session back).
  void Remember(const std::string& hash, SystemTime expires_at, uint64_t generation);
  uint64_t Generation();
  // Drops `hash` from the cache; `revoked`: it was signed out.
  void Forget(const std::string& hash, bool revoked);

  Clock& clock_;
  BlockingPool& pool_;
  store::Store& store_;
  IdGenerator& ids_;
  SessionOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // by hash; guarded by mu_
  uint64_t revocations_ = 0;                       // guarded by mu_
  std::function<void(const std::string&)> on_revoke_;  // guarded by mu_
};

// Session ids are 64 lowercase hex characters.
bool IsWellFormedSessionId(std::string_view id);

}  // namespace sbx::api
