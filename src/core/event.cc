#include "core/event.h"

namespace sbx::core {

std::string_view EventTypeName(EventType t) {
  switch (t) {
    case EventType::kCreated: return "created";
    case EventType::kResumed: return "resumed";
    case EventType::kUpdated: return "updated";
    case EventType::kPaused: return "paused";
    case EventType::kKilled: return "killed";
    case EventType::kCheckpointed: return "checkpointed";
    case EventType::kUnknown: return "unknown";
    case EventType::kCreateRequested: return "create_requested";
    case EventType::kWakeRequested: return "wake_requested";
    case EventType::kPauseRequested: return "pause_requested";
    case EventType::kPauseFailed: return "pause_failed";
    case EventType::kResumeFailed: return "resume_failed";
    case EventType::kCreateFailed: return "create_failed";
    case EventType::kActivity: return "activity";
    case EventType::kSettingsChanged: return "settings_changed";
    case EventType::kHoldPlaced: return "hold_placed";
    case EventType::kHoldReleased: return "hold_released";
  }
  return "unknown";
}

bool IsProviderFact(EventType t) {
  switch (t) {
    case EventType::kCreated:
    case EventType::kResumed:
    case EventType::kUpdated:
    case EventType::kPaused:
    case EventType::kKilled:
    case EventType::kCheckpointed:
    case EventType::kUnknown:
      return true;
    default:
      return false;
  }
}

std::string_view EventSourceName(EventSource s) {
  switch (s) {
    case EventSource::kWebhook: return "webhook";
    case EventSource::kEnforcer: return "enforcer";
    case EventSource::kApi: return "api";
    case EventSource::kReconciler: return "reconciler";
    case EventSource::kRuntime: return "runtime";
    case EventSource::kPreview: return "preview";
    case EventSource::kPresence: return "presence";
    case EventSource::kKeepAlive: return "keep-alive";
    case EventSource::kPolicy: return "policy";
  }
  return "api";
}

}  // namespace sbx::core
