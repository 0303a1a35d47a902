#include "core/transition.h"

#include <fmt/format.h>

namespace sbx::core {
namespace {

using S = SandboxStatus;

Status NotAllowed(std::optional<S> from, EventType type) {
  return FailedPrecondition(fmt::format("cannot {} a sandbox that is {}", EventTypeName(type),
                                        from ? StatusName(*from) : "absent"));
}

}  // namespace

Result<SandboxStatus> NextStatus(std::optional<SandboxStatus> from, EventType type) {
  if (!from.has_value()) {
    // Only a create (ours, or a provider's `created` being adopted) can
    // bring a record into existence.
    if (type == EventType::kCreateRequested) return S::kStarting;
    if (type == EventType::kCreated) return S::kRunning;
    return NotFound(fmt::format("no sandbox to apply {} to", EventTypeName(type)));
  }
  const S f = *from;
  switch (type) {
    // Provider events are facts: they are always accepted. KILLED is
    // terminal for everything but a new `created`.
    case EventType::kCreated: return S::kRunning;
    case EventType::kResumed: return f == S::kKilled ? f : S::kRunning;
    case EventType::kPaused: return f == S::kKilled ? f : S::kPaused;
    case EventType::kKilled: return S::kKilled;
    case EventType::kUpdated:
    case EventType::kCheckpointed:
    case EventType::kUnknown:
    case EventType::kActivity:
    case EventType::kSettingsChanged:
    case EventType::kHoldReleased:
      return f;
    case EventType::kHoldPlaced:
      if (f == S::kStarting || f == S::kRunning) return f;
      break;
    // Commands are only allowed from specific states.
    case EventType::kCreateRequested:
      if (f == S::kKilled) return S::kStarting;
      break;
    case EventType::kWakeRequested:
      if (f == S::kPaused) return S::kStarting;
      break;
    case EventType::kPauseRequested:
      if (f == S::kRunning) return S::kPausing;
      break;
    case EventType::kPauseFailed:
      if (f == S::kPausing) return S::kRunning;
      break;
    case EventType::kResumeFailed:
      if (f == S::kStarting) return S::kPaused;
      break;
    case EventType::kCreateFailed:
      if (f == S::kStarting) return S::kKilled;
      break;
  }
  return NotAllowed(from, type);
}

Result<Sandbox> ApplyEvent(const std::optional<Sandbox>& current, const LifecycleEvent& event,
                           SystemTime now, std::chrono::milliseconds max_clock_skew) {
  SBX_ASSIGN_OR_RETURN(
      S next_status,
      NextStatus(current ? std::optional<S>(current->status) : std::nullopt, event.type));
  Sandbox next;
  const bool fresh = !current.has_value() || event.type == EventType::kCreateRequested ||
                     (event.type == EventType::kCreated && current->status == S::kKilled &&
                      current->sandbox_id != event.sandbox_id);
  if (current.has_value()) next = *current;
  now = TruncateToMillis(now);
  if (fresh) {
    // A new sandbox for the project: keep only identity, settings and version.
    const int64_t version = current ? current->version : 0;
    const int64_t timeout = current ? current->idle_timeout_s : next.idle_timeout_s;
    const std::string tmpl = current ? current->template_name : "";
    std::string idle_policy = current ? current->idle_policy : "";
    next = Sandbox{};
    next.project_id = event.project_id.empty() && current ? current->project_id : event.project_id;
    next.version = version;
    next.idle_timeout_s = timeout;
    next.template_name = tmpl;
    next.idle_policy = std::move(idle_policy);
    next.created_at = now;
    next.last_activity_at = now;
    next.last_event_at = current ? current->last_event_at : SystemTime{};
    // A re-created sandbox keeps the project's metadata.
    if (current && event.metadata.empty()) next.metadata = current->metadata;
  }
  const S before = current && !fresh ? current->status : S::kKilled;
  next.status = next_status;
  if (!event.sandbox_id.empty()) next.sandbox_id = event.sandbox_id;
  // The template is chosen when a sandbox is made; later provider events
  // (which name E2B's template id) do not rename it.
  if (event.template_name && (fresh || next.template_name.empty())) {
    next.template_name = *event.template_name;
  }
  if (event.idle_timeout_s) next.idle_timeout_s = *event.idle_timeout_s;
  if (event.idle_policy) next.idle_policy = *event.idle_policy;
  if (event.url) next.url = *event.url;
  if (!event.metadata.empty()) next.metadata = event.metadata;
  if (event.end_at) next.provider_end_at = std::min(*event.end_at, now + kMaxProviderTimeout);
  const SystemTime at = TruncateToMillis(event.timestamp);
  // Activity never lands in the future, whoever dated the event.
  const SystemTime active_at = std::min(at, now);
  auto active = [&](std::string source) {
    next.last_activity_at = std::max(next.last_activity_at, active_at);
    SystemTime& seen = next.activity[std::move(source)];
    seen = std::max(seen, active_at);
  };
  if (event.type == EventType::kActivity) active(std::string(EventSourceName(event.source)));
  // Starting to run (created or resumed) counts as activity: the idle clock
  // restarts. A failed pause going back to RUNNING does not: it stays due.
  if ((event.type == EventType::kCreated || event.type == EventType::kResumed) &&
      next_status == S::kRunning && before != S::kRunning) {
    active("start");
  }
  switch (event.type) {
    case EventType::kPauseFailed:
    case EventType::kResumeFailed:
    case EventType::kCreateFailed:
      next.last_error = event.error;
      break;
    case EventType::kPaused:
    case EventType::kResumed:
    case EventType::kCreated:
      // A successful transition clears the error it may have followed.
      if (next_status != before) next.last_error.reset();
      break;
    default:
      break;
  }
  if (next_status == S::kKilled) next.url.reset();
  // Holds: expired ones go at every write; a pause or kill ends them all.
  std::erase_if(next.holds, [&](const auto& hold) { return hold.second <= now; });
  if (event.type == EventType::kHoldPlaced && event.hold_until) {
    next.holds[event.hold_name] = TruncateToMillis(*event.hold_until);
  }
  if (event.type == EventType::kHoldReleased) next.holds.erase(event.hold_name);
  if (next_status == S::kPaused || next_status == S::kPausing || next_status == S::kKilled) {
    next.holds.clear();
  }
  // Ordering is among provider facts only: activity and sandboxd's commands
  // must not make a provider's event look stale.
  if (IsProviderFact(event.type)) {
    const SystemTime mark = event.source == EventSource::kWebhook
                                ? at
                                : TruncateToMillis(now - max_clock_skew);
    next.last_event_at = std::max(next.last_event_at, mark);
  }
  next.updated_at = now;
  next.version += 1;
  return next;
}

}  // namespace sbx::core
