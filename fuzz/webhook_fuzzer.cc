// Webhook receipt: the body parser (e2b::ParseWebhookEvent) and the signature
// check (e2b::VerifySignature, ParseSecrets) on untrusted bytes. Input: the
// first line is the `e2b-signature` header, the rest the body.
// Invariants: a body signed with ComputeSignature verifies (both alphabets)
// and does not verify under another secret; a parsed event written back with
// SerializeWebhookEventV2 parses to the same event.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/time.h"
#include "e2b/signature.h"
#include "e2b/webhook_event.h"
#include "fuzz_check.h"

namespace {

void CheckRoundTrip(const sbx::core::LifecycleEvent& e) {
  sbx::e2b::WebhookEvent w;
  w.id = e.id;
  w.type = e.raw_type;
  w.timestamp = e.timestamp;
  w.sandbox_id = e.sandbox_id;
  w.sandbox_template_id = e.template_name.value_or("");
  w.sandbox_metadata = e.metadata;
  w.set_timeout = e.end_at;
  auto again = sbx::e2b::ParseWebhookEvent(sbx::e2b::SerializeWebhookEventV2(w));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->id == e.id);
  FUZZ_CHECK(again->raw_type == e.raw_type);
  FUZZ_CHECK(again->type == e.type);
  FUZZ_CHECK(again->sandbox_id == e.sandbox_id);
  FUZZ_CHECK(again->timestamp == sbx::TruncateToMillis(e.timestamp));
  FUZZ_CHECK(again->metadata == e.metadata);
  FUZZ_CHECK(again->project_id == e.project_id);
  FUZZ_CHECK(again->template_name == e.template_name);
  FUZZ_CHECK(again->end_at.has_value() == e.end_at.has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  const std::string_view header = eol == std::string_view::npos ? input : input.substr(0, eol);
  const std::string_view body =
      eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);

  auto event = sbx::e2b::ParseWebhookEvent(body);
  if (event.ok()) CheckRoundTrip(*event);

  const std::vector<std::string> secrets = sbx::e2b::ParseSecrets(header);
  for (const std::string& s : secrets) FUZZ_CHECK(!s.empty());
  (void)sbx::e2b::VerifySignature(body, header, secrets);
  (void)sbx::e2b::VerifySignature(body, header, {"whsec", ""});

  for (bool url_safe : {false, true}) {
    const std::string sig = sbx::e2b::ComputeSignature("whsec", body, url_safe);
    FUZZ_CHECK(sbx::e2b::VerifySignature(body, sig, {"other", "whsec"}));
    FUZZ_CHECK(sbx::e2b::VerifySignature(body, " " + sig + "\t", {"whsec"}));
    FUZZ_CHECK(!sbx::e2b::VerifySignature(body, sig, {"other", ""}));
  }
  return 0;
}
