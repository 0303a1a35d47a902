#include "e2b/signature.h"

#include <algorithm>
#include <array>
#include <memory>
#include <optional>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/check.h"

namespace sbx::e2b {
namespace {

constexpr size_t kDigestBytes = 32;
// base64 of 32 bytes: 43 significant characters, then one `=` pad.
constexpr size_t kUnpaddedChars = 43;
constexpr size_t kPaddedChars = 44;

using Digest = std::array<unsigned char, kDigestBytes>;

Digest Sha256(std::string_view secret, std::string_view body) {
  // Two updates hash the concatenation without copying the body.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  Digest digest{};
  unsigned int size = 0;
  const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx.get(), secret.data(), secret.size()) == 1 &&
                  EVP_DigestUpdate(ctx.get(), body.data(), body.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) == 1 && size == kDigestBytes;
  // Only an out-of-memory or a broken libcrypto gets here.
  SBX_CHECK(ok) << "OpenSSL SHA-256 failed";
  return digest;
}

// The 6-bit value of a standard-alphabet base64 character, or -1.
int SextetValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Decodes a header in either alphabet, padded or not, to the 32 digest bytes.
std::optional<Digest> DecodeSignature(std::string_view header) {
  header = TrimBlanks(header);
  if (header.size() == kPaddedChars && header.back() == '=') header.remove_suffix(1);
  if (header.size() != kUnpaddedChars) return std::nullopt;

  std::array<unsigned char, kPaddedChars> text{};
  for (size_t i = 0; i < kUnpaddedChars; ++i) {
    char c = header[i];
    if (c == '-') c = '+';
    if (c == '_') c = '/';
    if (SextetValue(c) < 0) return std::nullopt;
    text[i] = static_cast<unsigned char>(c);
  }
  // 43 characters carry 258 bits for 256: in the canonical encoding the last
  // character's two low bits are zero. Rejecting the other three spellings
  // keeps "one digest, one accepted text" (per alphabet).
  if ((SextetValue(static_cast<char>(text[kUnpaddedChars - 1])) & 0x3) != 0) return std::nullopt;
  text[kUnpaddedChars] = '=';

  // EVP_DecodeBlock does not subtract padding: 44 chars always give 33 bytes,
  // the last being the zero filler for `=`.
  std::array<unsigned char, kDigestBytes + 1> raw{};
  if (EVP_DecodeBlock(raw.data(), text.data(), static_cast<int>(text.size())) !=
      static_cast<int>(raw.size())) {
    return std::nullopt;
  }
  Digest digest{};
  std::copy(raw.begin(), raw.begin() + kDigestBytes, digest.begin());
  return digest;
}

}  // namespace

bool VerifySignature(std::string_view body, std::string_view signature_header,
                     const std::vector<std::string>& secrets) {
  const std::optional<Digest> given = DecodeSignature(signature_header);
  if (!given) return false;
  bool match = false;
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    const Digest expected = Sha256(secret, body);
    // No early exit: the time taken does not depend on which secret matched.
    if (CRYPTO_memcmp(expected.data(), given->data(), kDigestBytes) == 0) match = true;
  }
  return match;
}

std::string ComputeSignature(std::string_view secret, std::string_view body, bool url_safe) {
  const Digest digest = Sha256(secret, body);
  std::array<unsigned char, kPaddedChars + 1> text{};  // EVP_EncodeBlock adds a NUL
  const int n = EVP_EncodeBlock(text.data(), digest.data(), static_cast<int>(digest.size()));
  SBX_CHECK(n == static_cast<int>(kPaddedChars)) << "EVP_EncodeBlock returned " << n;
  std::string out(reinterpret_cast<const char*>(text.data()), kPaddedChars);
  if (url_safe) {
    for (char& c : out) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    out.pop_back();  // the single `=`
  }
  return out;
}

std::vector<std::string> ParseSecrets(std::string_view comma_separated) {
  std::vector<std::string> secrets;
  size_t pos = 0;
  for (;;) {
    const size_t comma = comma_separated.find(',', pos);
    const std::string_view entry = TrimBlanks(comma_separated.substr(
        pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (!entry.empty()) secrets.emplace_back(entry);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return secrets;
}

}  // namespace sbx::e2b
