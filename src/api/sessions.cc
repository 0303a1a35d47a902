#include "api/sessions.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace sbx::api {

namespace {

constexpr size_t kIdHexChars = 64;  // 256 bits

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

}  // namespace

bool IsWellFormedSessionId(std::string_view id) {
  return id.size() == kIdHexChars && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Sessions::Sessions(Clock& clock, BlockingPool& store_pool, store::Store& store, IdGenerator& ids,
                   SessionOptions options)
    : clock_(clock), pool_(store_pool), store_(store), ids_(ids), options_(std::move(options)) {}

std::string Sessions::HashOf(std::string_view id) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), options_.key.data(), static_cast<int>(options_.key.size()),
       reinterpret_cast<const unsigned char*>(id.data()), id.size(), mac, &len);
  return Hex(mac, len);
}

uint64_t Sessions::Generation() {
  std::lock_guard lock(mu_);
  return revocations_;
}

void Sessions::Remember(const std::string& hash, SystemTime expires_at, uint64_t generation) {
  std::lock_guard lock(mu_);
  if (generation != revocations_) return;
  if (cache_.size() >= options_.max_cached && !cache_.contains(hash)) {
    const SystemTime now = clock_.Now();
    const SteadyTime stale = clock_.SteadyNow() - options_.revalidate_after;
    std::erase_if(cache_, [&](const auto& e) {
      return e.second.expires_at <= now || e.second.verified_at <= stale;
    });
    if (cache_.size() >= options_.max_cached) cache_.clear();
  }
  cache_[hash] = {expires_at, clock_.SteadyNow()};
}

void Sessions::Forget(const std::string& hash, bool revoked) {
  std::lock_guard lock(mu_);
  if (revoked) ++revocations_;
  cache_.erase(hash);
}

net::awaitable<Result<std::string>> Sessions::Create() {
  std::string id = ids_.NewHex(kIdHexChars);
  std::string hash = HashOf(id);
  const SystemTime now = clock_.Now();
  const SystemTime expires = now + options_.ttl;
  const uint64_t generation = Generation();
  // Callables are named before co_await: GCC 12 destroys a temporary
  // lambda argument of a coroutine twice.
  auto create = [this, hash, now, expires] { return store_.CreateSession(hash, now, expires); };
  Status s = co_await pool_.Run(create);
  if (!s.ok()) co_return s.WithContext("store the session");
  Remember(hash, expires, generation);
  co_return id;
}

net::awaitable<Status> Sessions::Check(const std::string& id, bool fresh) {
  if (!IsWellFormedSessionId(id)) co_return Unauthenticated("unknown session: sign in again");
  std::string hash = HashOf(id);
  if (!fresh) {
    std::lock_guard lock(mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && it->second.expires_at > clock_.Now() &&
        clock_.SteadyNow() - it->second.verified_at < options_.revalidate_after) {
      co_return OkStatus();
    }
  }
  const uint64_t generation = Generation();
  auto get = [this, hash] { return store_.GetSession(hash); };
  auto record = co_await pool_.Run(get);
  if (!record.ok()) {
    if (record.error().code() == StatusCode::kNotFound) {
      Forget(hash, false);
      co_return Unauthenticated("session ended (signed out or unknown): sign in again");
    }
    // The store cannot say (an outage). A read keeps the last check's answer
    // while the session it saw has not expired: status reads answer from
    // memory through an outage, with a cookie as with the token. Requests
    // that change state need the store anyway, and fail.
    if (!fresh) {
      std::lock_guard lock(mu_);
      auto it = cache_.find(hash);
      if (it != cache_.end() && it->second.expires_at > clock_.Now()) co_return OkStatus();
    }
    co_return record.error().WithContext("check the session");
  }
  if (record->expires_at <= clock_.Now()) {
    Forget(hash, false);
    co_return Unauthenticated("session expired: sign in again");
  }
  Remember(hash, record->expires_at, generation);
  co_return OkStatus();
}

net::awaitable<Status> Sessions::Revoke(const std::string& id) {
  if (!IsWellFormedSessionId(id)) co_return OkStatus();
  std::string hash = HashOf(id);
  Forget(hash, true);
  auto del = [this, hash] { return store_.DeleteSession(hash); };
  Status s = co_await pool_.Run(del);
  // Again: a check that read the session while it was being deleted must
  // not cache it.
  Forget(hash, true);
  if (!s.ok()) co_return s.WithContext("delete the session");
  std::function<void(const std::string&)> listener;
  {
    std::lock_guard lock(mu_);
    listener = on_revoke_;
  }
  if (listener) listener(id);
  co_return OkStatus();
}

void Sessions::OnRevoke(std::function<void(const std::string& id)> listener) {
  std::lock_guard lock(mu_);
  on_revoke_ = std::move(listener);
}

}  // namespace sbx::api
