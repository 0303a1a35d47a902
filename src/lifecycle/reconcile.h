// Drift repair: what event brings one sandbox record back to what the
// provider reports (a lost webhook, a crash between a provider call and its
// record, a sandbox removed behind sandboxd's back), and which provider
// sandboxes are orphans to kill (a create that timed out but did create a
// sandbox). PlanRepair and PlanOrphans are the pure decisions;
// Lifecycle::Reconcile (reconcile.cc) lists the provider's sandboxes, applies
// each repair as a `reconciler` event and kills the orphans. Pure;
// thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "core/event.h"
#include "core/sandbox.h"
#include "provider/provider.h"

namespace sbx::lifecycle {

// The reconciler event for one record: its type and payload (the caller adds
// id, source, timestamp and project).
struct RepairPlan {
  core::EventType type = core::EventType::kUnknown;
  std::string sandbox_id;
  std::optional<std::string> url;
  std::optional<core::LastError> error;
  friend bool operator==(const RepairPlan&, const RepairPlan&) = default;
};

// How record `s` must change, given the provider's view of its sandbox
// (`p`: nullptr when the provider does not have it), or nullopt when they
// agree. KILLED records, and STARTING/PAUSING records changed less than
// `in_flight_grace` before `now` (their operation may still be running), are
// left alone. Cases: gone at the provider → killed (or create_failed for a
// create that never got a sandbox); claimed PAUSING but still running at the
// provider → pause_failed (still due); running there → resumed (created for a
// record without a sandbox id); paused there → paused. A `p` other than the
// record's own sandbox (Reconcile passes one only when the record's is gone
// and `p` carries sandboxd's marker for the project) is adopted: resumed or
// paused with its id.
// A create with nothing listed is failed only after `create_grace` (when
// longer than `in_flight_grace`): unlike the others, that repair undoes an
// operation that may still succeed.
std::optional<RepairPlan> PlanRepair(const core::Sandbox& s, const provider::ProviderSandbox* p,
                                     SystemTime now, std::chrono::seconds in_flight_grace,
                                     std::chrono::seconds create_grace = std::chrono::seconds(0));

// Whether a repair of this type settles a crash (a pause claimed but never
// sent: pause_failed; a create that never got a sandbox: create_failed)
// rather than a change the provider made: no webhook would have reported
// it, so it is no drift (DeliveryHealth, Store::SummarizeDelivery).
constexpr bool IsCrashRepair(core::EventType type) {
  return type == core::EventType::kPauseFailed || type == core::EventType::kCreateFailed;
}

// The provider sandboxes to kill as orphans: those that carry sandboxd's
// marker (metadata projectId and provider::kCreateRequestIdKey) but whose id no record
// in `records` names, and that started at least `grace` before `now` (a
// sandbox created moments ago may not be recorded yet). Left alone: sandboxes
// without the marker (not ours, or made by hand), without a start time, and
// those of a project whose record is STARTING (its create may be about to
// record or adopt one). A grace of zero or less
// disables the reaper (nothing is returned).
std::vector<provider::ProviderSandbox> PlanOrphans(
    const std::vector<core::Sandbox>& records,
    const std::vector<provider::ProviderSandbox>& listed, SystemTime now,
    std::chrono::seconds grace);

}  // namespace sbx::lifecycle
