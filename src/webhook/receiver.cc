#include "webhook/receiver.h"

#include <fmt/format.h>

#include "base/log.h"
#include "e2b/signature.h"
#include "core/validation.h"
#include "e2b/webhook_event.h"

namespace sbx::webhook {
namespace {

constexpr char kWebhooksHelp[] = "E2B webhook deliveries by result";

// Ids, the project id and metadata within the limits that hold wherever they
// enter (core/validation.h), so a signed but oversized event cannot create a
// record no route can manage.
Status CheckLimits(const core::LifecycleEvent& e) {
  if (Status s = core::ValidateProviderId("event id", e.id); !s.ok()) return s;
  if (Status s = core::ValidateProviderId("sandbox id", e.sandbox_id); !s.ok()) return s;
  // Kept in the history rows of the event, known or not.
  if (!e.raw_type.empty()) {
    if (Status s = core::ValidateProviderId("type", e.raw_type); !s.ok()) return s;
  }
  if (auto it = e.metadata.find("projectId"); it != e.metadata.end()) {
    if (Status s = core::ValidateProjectId(it->second); !s.ok()) {
      return s.WithContext("sandbox_metadata.projectId");
    }
  }
  if (e.template_name) {
    if (Status s = core::ValidateTemplateId("sandbox_template_id", *e.template_name); !s.ok()) {
      return s;
    }
  }
  // Keys as the provider's clients may write them: the sandbox may have been
  // made by other software of the team, or through `sandboxd runtime`.
  return core::ValidateMetadata(e.metadata, core::MetadataKeys::kText)
      .WithContext("sandbox_metadata");
}

}  // namespace

WebhookReceiver::WebhookReceiver(lifecycle::Lifecycle& lifecycle, Metrics& metrics,
                                 std::vector<std::string> secrets)
    : lifecycle_(lifecycle), metrics_(metrics), secrets_(std::move(secrets)) {
  // The refusals alerted on by their increase (SandboxdWebhooksRejected)
  // exist from the start, at 0: the first burst must show as an increase.
  for (const char* result : {"unconfigured", "unsigned", "bad_signature", "error"}) {
    metrics_.Inc("sandboxd_webhooks_total", {{"result", result}}, 0, kWebhooksHelp);
  }
}

net::awaitable<Result<lifecycle::ApplyResult>> WebhookReceiver::Receive(std::string body,
                                                                        std::string signature) {
  auto count = [this](const char* result) {
    metrics_.Inc("sandboxd_webhooks_total", {{"result", result}}, 1, kWebhooksHelp);
  };
  if (secrets_.empty()) {
    count("unconfigured");
    co_return Unavailable(
        "webhook secret not configured: set --webhook-secret or SANDBOXD_WEBHOOK_SECRET "
        "(sandboxd never accepts unsigned events)");
  }
  if (signature.empty()) {
    count("unsigned");
    co_return Unauthenticated("missing e2b-signature header");
  }
  if (!e2b::VerifySignature(body, signature, secrets_)) {
    count("bad_signature");
    if (auto skipped = bad_signature_log_.Allow(lifecycle_.clock().SteadyNow())) {
      SBX_LOG_WARN("webhook rejected: signature does not match any configured secret{}",
                   *skipped > 0 ? fmt::format(" ({} more since the last such line)", *skipped)
                                : std::string());
    }
    co_return Unauthenticated("e2b-signature does not match");
  }
  // Signed by E2B: delivery works, whatever becomes of the event.
  lifecycle_.delivery().WebhookVerified(lifecycle_.clock().Now());
  auto event = e2b::ParseWebhookEvent(body);
  if (event.ok()) {
    if (Status s = CheckLimits(*event); !s.ok()) event = s;
  }
  if (!event.ok()) {
    count("malformed");
    co_return event.error();
  }
  auto result = co_await lifecycle_.Apply(*event);
  if (!result.ok()) {
    count("error");
    co_return result.error();
  }
  count(std::string(lifecycle::OutcomeName(result->outcome)).c_str());
  co_return result;
}

}  // namespace sbx::webhook
