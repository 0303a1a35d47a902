// E2B webhook signatures (`e2b-signature` header, signature version v1):
// base64(SHA-256(secret bytes ‖ raw body bytes)), a plain hash of the
// concatenation, not an HMAC. The webhook receiver verifies with it and the
// runtime emulator signs with it. Pure functions; thread-safe; never block.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sbx::e2b {

// True when `signature_header` is the signature of `body` under any of
// `secrets` (several during rotation). The header may use the standard base64
// alphabet, with or without its single `=` pad, or the unpadded URL-safe form
// E2B documents (`-` and `_`, no `=`); surrounding spaces and tabs are ignored.
// Anything that does not decode to exactly 32 bytes in canonical base64
// (empty, truncated, extra bytes, other characters) is false, as is an empty
// `secrets`. Empty secrets are skipped: they would let anyone sign. Digests
// are compared in constant time.
bool VerifySignature(std::string_view body, std::string_view signature_header,
                     const std::vector<std::string>& secrets);

// The signature of `body` under `secret`: standard padded base64 (44 chars),
// or with `url_safe` the unpadded base64url form E2B documents (43 chars).
std::string ComputeSignature(std::string_view secret, std::string_view body, bool url_safe);

// Splits a comma-separated secret list ("new,old" during rotation), trims
// spaces and tabs around each entry and drops empty ones. Order is kept.
std::vector<std::string> ParseSecrets(std::string_view comma_separated);

}  // namespace sbx::e2b
