// The runtime API's request decoding (runtime_api/wire.h and the e2b/rest.h
// codecs it applies to bodies): JSON bodies, path ids, list cursors, metadata
// and state queries, preview hosts and base64url, all on the same bytes.
// Invariants: decoded REST objects encode (ToJson) to JSON that decodes again;
// cursors and base64url round-trip; a normalized id is non-empty [a-z0-9].
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "e2b/rest.h"
#include "fuzz_check.h"
#include "runtime_api/wire.h"

namespace {

namespace e2b = sbx::e2b;
namespace rt = sbx::runtime_api;

// Parse → ToJson → Parse must succeed again.
template <typename ParseFn>
void CheckCodec(std::string_view body, ParseFn parse) {
  auto decoded = rt::ParseBody(body, false, parse);
  if (!decoded.ok()) return;
  auto again = parse(boost::json::value(e2b::ToJson(*decoded)));
  FUZZ_CHECK(again.ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  (void)rt::ParseJsonObject(text, true);
  CheckCodec(text, e2b::ParseNewSandbox);
  CheckCodec(text, e2b::ParseConnectSandbox);
  CheckCodec(text, e2b::ParseResumedSandbox);
  CheckCodec(text, e2b::ParseSandboxTimeoutRequest);
  CheckCodec(text, e2b::ParseSandboxRefreshRequest);
  CheckCodec(text, e2b::ParseSandboxPauseRequest);
  CheckCodec(text, e2b::ParseSandbox);
  CheckCodec(text, e2b::ParseSandboxDetail);
  CheckCodec(text, e2b::ParseErrorBody);
  // Client side of the list call: an array body.
  boost::system::error_code ec;
  if (const boost::json::value v = boost::json::parse(text, ec); !ec && v.is_array()) {
    if (auto listed = e2b::ParseListedSandboxes(v); listed.ok()) {
      FUZZ_CHECK(e2b::ParseListedSandboxes(boost::json::value(e2b::ToJson(*listed))).ok());
    }
  }

  if (auto id = rt::NormalizeSandboxId(text); id.ok()) {
    FUZZ_CHECK(!id->empty());
    for (char c : *id) FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  }
  if (auto cursor = rt::DecodeCursor(text); cursor.ok()) {
    auto again = rt::DecodeCursor(rt::EncodeCursor(*cursor));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *cursor);
  }
  if (auto bytes = rt::Base64UrlDecode(text)) {
    FUZZ_CHECK(rt::Base64UrlDecode(rt::Base64UrlEncode(*bytes)) == *bytes);
  }
  FUZZ_CHECK(rt::Base64UrlDecode(rt::Base64UrlEncode(text)) == std::string(text));
  (void)rt::ParseMetadataQuery(text);
  (void)rt::ParseStateQuery(std::string(text));
  if (auto host = rt::ParsePreviewHost(text, "sbx.local")) {
    FUZZ_CHECK(!host->sandbox_id.empty());
  }
  return 0;
}
