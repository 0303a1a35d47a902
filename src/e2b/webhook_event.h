// E2B lifecycle webhook bodies. ParseWebhookEvent turns a delivered body into
// a core::LifecycleEvent for lifecycle::Apply (webhook/, the receiver);
// SerializeWebhookEventV2 writes one (runtime_api/, the emulator that sends
// webhooks). Wire format: shared/reference/e2b-api.md §4. Pure functions;
// thread-safe; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/time.h"
#include "core/event.h"
#include "core/sandbox.h"

namespace sbx::e2b {

// Parses an E2B lifecycle event body. Accepts the delivered v2 snake_case form
// (`sandbox_id`, `event_data.sandbox_metadata`, `event_data.set_timeout`,
// `sandbox_template_id`, …) and the older v1 camelCase form (`sandboxId`,
// `eventData.sandboxMetadata`, `eventData.setTimeout`, `sandboxTemplateId`, …);
// when both spellings are present the snake_case one wins.
// The event gets: id, raw_type (the full type string), type (created,
// updated, paused, resumed, killed, checkpointed, with or without the
// "sandbox.lifecycle." prefix; any other string is EventType::kUnknown, not an
// error), source = kWebhook, timestamp, sandbox_id, metadata (non-string
// values as their JSON text), project_id = metadata["projectId"] if present,
// end_at = set_timeout if present, template_name = sandbox_template_id if
// present and non-empty. Other fields (version, category, label, execution,
// kill_reason, team/build/execution ids) are ignored.
// Returns kInvalidArgument for malformed JSON ("malformed JSON: …"), a body
// that is not an object, a missing, null or ill-typed required field (id and
// sandbox id: non-empty strings; type: string; timestamp: RFC 3339 string),
// or an ill-typed optional field that is used (event_data, sandbox_metadata:
// objects; set_timeout: RFC 3339 string; sandbox_template_id: string; null is
// the same as absent). The message names the field.
Result<core::LifecycleEvent> ParseWebhookEvent(std::string_view body);

// The E2B type string of a provider event type ("sandbox.lifecycle.paused"
// for kPaused); empty for kUnknown and sandboxd's own command types.
std::string_view WebhookEventType(core::EventType type);

// Every E2B lifecycle event type string, in the order of §4.1 (created,
// resumed, updated, paused, killed, checkpointed): what a webhook may
// subscribe to.
const std::vector<std::string>& WebhookEventTypes();

// Input of SerializeWebhookEventV2: one E2B lifecycle event.
struct WebhookEvent {
  std::string id;    // event id (a UUID at E2B); receivers deduplicate by it
  std::string type;  // full type string, e.g. "sandbox.lifecycle.paused"
  SystemTime timestamp{};
  std::string sandbox_id;
  std::string sandbox_execution_id;  // new for every start/resume
  std::string sandbox_template_id;
  std::string sandbox_build_id;
  std::string sandbox_team_id;
  core::Metadata sandbox_metadata;         // event_data.sandbox_metadata; omitted when empty
  std::optional<SystemTime> set_timeout;   // event_data.set_timeout (updated events)
  std::optional<std::string> kill_reason;  // event_data.kill_reason (killed events)
};

// The v2 snake_case body E2B delivers: id, version "v2", type, timestamp
// (RFC 3339, milliseconds), event_category "lifecycle", event_label (create,
// resume, update, pause, kill, checkpoint; for other types the text after
// "sandbox.lifecycle."), event_data (only when it has a key), sandbox_id,
// sandbox_execution_id, sandbox_template_id, sandbox_build_id,
// sandbox_team_id. ParseWebhookEvent reads it back.
std::string SerializeWebhookEventV2(const WebhookEvent& fields);

}  // namespace sbx::e2b
