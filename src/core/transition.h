// The transition table: which status an event moves a sandbox to. Pure.
#pragma once

#include <optional>

#include "base/status.h"
#include "core/event.h"
#include "core/sandbox.h"

namespace sbx::core {

// The status after applying `type` to a sandbox in `from`.
// - value == from: the event is accepted and changes no status (e.g. kUpdated);
// - kFailedPrecondition: the command is not allowed in `from` (pausing a PAUSED
//   sandbox); provider events are always accepted.
// `from` is nullopt when the project has no sandbox record yet.
Result<SandboxStatus> NextStatus(std::optional<SandboxStatus> from, EventType type);

// Computes the record after `event`, given the current record (nullopt if
// none). Does not check ordering or ids; lifecycle::Apply does. Sets status,
// payload fields, updated_at = now, version + 1 and last_event_at.
Result<Sandbox> ApplyEvent(const std::optional<Sandbox>& current, const LifecycleEvent& event,
                           SystemTime now);

}  // namespace sbx::core
