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

// How far provider and sandboxd clocks may disagree (lifecycle rejects
// webhooks dated further ahead than this).
inline constexpr std::chrono::milliseconds kDefaultMaxClockSkew = std::chrono::minutes(5);

// The longest a provider keeps a sandbox running on one timeout (E2B's
// limit, and the local runtime's): a provider end time further ahead is
// taken as this far, so a bogus one (a signed event saying 2199) cannot stop
// the keep-alive job from renewing the timeout.
inline constexpr std::chrono::hours kMaxProviderTimeout{24};

// Computes the record after `event`, given the current record (nullopt if
// none). Does not check ordering or ids; lifecycle::Apply does. Sets status,
// payload fields, updated_at = now, version + 1 and last_event_at.
// Time rules (invariant 14): lastActivityAt never moves past `now`, whatever
// the event's timestamp; providerEndAt never past `now + kMaxProviderTimeout`.
// last_event_at, the ordering mark of provider facts, moves to a webhook's
// own timestamp; sandboxd's own facts (the results of
// its provider calls, made just now) move it to `now - max_clock_skew` at
// most, so a webhook dated clearly before them is stale while a provider
// clock running ahead never makes sandboxd's results look stale.
Result<Sandbox> ApplyEvent(const std::optional<Sandbox>& current, const LifecycleEvent& event,
                           SystemTime now,
                           std::chrono::milliseconds max_clock_skew = kDefaultMaxClockSkew);

}  // namespace sbx::core
