// TrafficTokens: the per-sandbox tokens that --preview-auth token requires on
// preview requests (like E2B's trafficAccessToken). A token is
// hex(HMAC-SHA256(secret, "sandboxd-preview-v1:" + sandboxId)): derived, so
// nothing is stored, every replica with the same secret agrees, and rotating
// the secret revokes every token. Thread-safe (immutable after construction).
#pragma once

#include <string>
#include <string_view>

namespace sbx::gateway {

class TrafficTokens {
 public:
  // REQUIRES: `secret` is non-empty.
  explicit TrafficTokens(std::string secret);

  // The token of `sandbox_id` (64 hex characters).
  std::string For(std::string_view sandbox_id) const;
  // Whether `token` is the token of `sandbox_id`, compared in constant time.
  bool Check(std::string_view sandbox_id, std::string_view token) const;

 private:
  std::string secret_;
};

}  // namespace sbx::gateway
