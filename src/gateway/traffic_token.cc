#include "gateway/traffic_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/check.h"
#include "http/credentials.h"

namespace sbx::gateway {

TrafficTokens::TrafficTokens(std::string secret) : secret_(std::move(secret)) {
  SBX_CHECK(!secret_.empty()) << "preview token secret must not be empty";
}

std::string TrafficTokens::For(std::string_view sandbox_id) const {
  const std::string message = "sandboxd-preview-v1:" + std::string(sandbox_id);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[mac[i] >> 4];
    out[2 * i + 1] = kHex[mac[i] & 15];
  }
  return out;
}

bool TrafficTokens::Check(std::string_view sandbox_id, std::string_view token) const {
  const std::string want = For(sandbox_id);
  return http_server::ConstantTimeEquals(token, want);
}

}  // namespace sbx::gateway
