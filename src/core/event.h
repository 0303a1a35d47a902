// LifecycleEvent: every change to a sandbox, whoever causes it (a provider
// webhook, the enforcer, an API call, the reconciler, the local runtime,
// traffic to the preview gateway), is
// described as one of these and applied by lifecycle::Apply. Pure data.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/time.h"
#include "core/sandbox.h"

namespace sbx::core {

enum class EventType {
  // Provider lifecycle events (E2B `sandbox.lifecycle.*`, local runtime).
  kCreated,
  kResumed,
  kUpdated,
  kPaused,
  kKilled,
  kCheckpointed,
  kUnknown,  // a provider type sandboxd does not know: recorded, ignored
  // sandboxd's own commands.
  kCreateRequested,  // a new sandbox is being made for the project
  kWakeRequested,    // resume of a PAUSED sandbox started
  kPauseRequested,   // pause started (enforcer or API)
  kPauseFailed,      // provider pause failed: back to RUNNING with lastError
  kResumeFailed,     // provider resume failed: back to PAUSED with lastError
  kCreateFailed,     // provider create failed: KILLED with lastError
  kActivity,         // activity moved lastActivityAt (no history row)
  kSettingsChanged,  // idle timeout changed (no status change)
  kHoldPlaced,       // a busy hold placed or renewed (STARTING/RUNNING only)
  kHoldReleased,     // a busy hold removed
};

// Who caused an event. kPreview: traffic through the preview gateway (its
// activity and the wakes it triggers); kPresence: open dashboard streams
// (their activity); kKeepAlive: the job that renews the provider's timeout;
// kPolicy: the idle policy (the timeouts it sets, the pre-wakes it makes).
enum class EventSource {
  kWebhook, kEnforcer, kApi, kReconciler, kRuntime, kPreview, kPresence, kKeepAlive, kPolicy
};

std::string_view EventTypeName(EventType t);  // "created", "pause_requested", …
// True for the provider's lifecycle facts (created … unknown), false for
// sandboxd's commands. Facts are deduplicated by id and ordered by timestamp.
bool IsProviderFact(EventType t);
std::string_view EventSourceName(EventSource s);  // "webhook", "enforcer", …, "preview"

struct LifecycleEvent {
  std::string id;  // unique; provider events are deduplicated by it
  EventType type = EventType::kUnknown;
  std::string raw_type;  // the provider's type string, kept for history
  EventSource source = EventSource::kApi;
  SystemTime timestamp{};  // when it happened (provider time for webhooks)
  std::string project_id;  // may be empty for provider events: found by sandbox id
  std::string sandbox_id;
  // Payload; which fields matter depends on `type`.
  std::optional<std::string> url;
  std::optional<SystemTime> end_at;  // kUpdated: provider-side end time
  std::optional<LastError> error;    // kPauseFailed, kResumeFailed, kCreateFailed
  std::optional<int64_t> idle_timeout_s;  // kCreateRequested, kSettingsChanged
  // kSettingsChanged: the project's idle policy ("" = the deployment's).
  std::optional<std::string> idle_policy;
  std::optional<std::string> template_name;  // kCreateRequested
  Metadata metadata;  // kCreateRequested, kCreated
  std::string hold_name;                // kHoldPlaced, kHoldReleased
  std::optional<SystemTime> hold_until;  // kHoldPlaced: when the hold expires
  // What an automatic decision (or a user's command) saw when it was taken,
  // as a JSON object (the record version, lastActivityAt, the timeout, the
  // clock, the trigger, the replica): kept in the event's history row so that
  // GET …/sandbox/explain reads it back instead of reconstructing it. Empty:
  // none.
  std::string inputs;
  // Why, in words, for the history row ("adaptive: regret: …"). A settings
  // change with one is kept in history; errors and holds say their own.
  std::string detail;
};

}  // namespace sbx::core
