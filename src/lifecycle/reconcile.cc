#include "lifecycle/reconcile.h"

#include <map>

#include "base/log.h"
#include "lifecycle/lifecycle.h"

namespace sbx::lifecycle {

using core::EventType;
using core::Sandbox;
using core::SandboxStatus;
using provider::ProviderState;

std::optional<RepairPlan> PlanRepair(const Sandbox& s, const provider::ProviderSandbox* p,
                                     SystemTime now, std::chrono::seconds in_flight_grace) {
  if (s.status == SandboxStatus::kKilled) return std::nullopt;
  const bool in_flight = s.status == SandboxStatus::kStarting || s.status == SandboxStatus::kPausing;
  if (in_flight && now - s.updated_at < in_flight_grace) return std::nullopt;
  RepairPlan plan;
  plan.sandbox_id = s.sandbox_id;
  if (!p) {
    if (!s.sandbox_id.empty()) {
      plan.type = EventType::kKilled;
      return plan;
    }
    // A create that never finished (crash): nothing runs for it.
    if (s.status != SandboxStatus::kStarting) return std::nullopt;
    plan.type = EventType::kCreateFailed;
    plan.error = core::LastError{"create_interrupted",
                                 "sandboxd stopped while creating this sandbox", now};
    return plan;
  }
  if (p->state == ProviderState::kRunning && s.status == SandboxStatus::kPausing) {
    // A pause claimed by a replica that died before calling the provider:
    // back to RUNNING with its idle clock untouched, so it is still due.
    plan.type = EventType::kPauseFailed;
    plan.error = core::LastError{"pause_interrupted",
                                 "the pause was claimed but never reached the provider", now};
    return plan;
  }
  if (p->state == ProviderState::kRunning && s.status != SandboxStatus::kRunning) {
    plan.type = s.sandbox_id.empty() ? EventType::kCreated : EventType::kResumed;
    plan.sandbox_id = p->sandbox_id;
    plan.url = p->url;
    return plan;
  }
  if (p->state == ProviderState::kPaused && s.status != SandboxStatus::kPaused) {
    plan.type = EventType::kPaused;
    plan.sandbox_id = p->sandbox_id;
    return plan;
  }
  return std::nullopt;
}

net::awaitable<Result<int>> Lifecycle::Reconcile(std::chrono::seconds in_flight_grace) {
  auto listed = co_await ListProvider();
  if (!listed.ok()) co_return listed.error().WithContext("reconcile: list provider sandboxes");
  if (!listed->complete) co_return Unavailable("reconcile: provider listing incomplete");
  std::map<std::string, provider::ProviderSandbox> by_id;
  std::map<std::string, provider::ProviderSandbox> by_project;
  for (const auto& p : listed->sandboxes) {
    by_id[p.sandbox_id] = p;
    if (auto it = p.metadata.find("projectId"); it != p.metadata.end()) by_project[it->second] = p;
  }
  int repaired = 0;
  for (const Sandbox& s : read_model_.All()) {
    const provider::ProviderSandbox* p = nullptr;
    if (auto it = by_id.find(s.sandbox_id); !s.sandbox_id.empty() && it != by_id.end()) {
      p = &it->second;
    } else if (s.sandbox_id.empty()) {
      if (auto jt = by_project.find(s.project_id); jt != by_project.end()) p = &jt->second;
    }
    auto plan = PlanRepair(s, p, clock_.Now(), in_flight_grace);
    if (!plan) continue;
    core::LifecycleEvent ev = Command(plan->type, s.project_id, core::EventSource::kReconciler);
    ev.sandbox_id = plan->sandbox_id;
    ev.url = plan->url;
    ev.error = plan->error;
    SBX_LOG_WARN("drift: project {} sandbox {} is {} here; repairing with {}", s.project_id,
                 s.sandbox_id, core::StatusName(s.status), core::EventTypeName(ev.type));
    auto r = co_await Apply(ev);
    if (!r.ok()) {
      SBX_LOG_ERROR("drift repair of {}: {}", s.project_id, r.error().ToString());
      continue;
    }
    metrics_.Inc("sandboxd_drift_repaired_total", {{"to", std::string(core::EventTypeName(ev.type))}},
                 1, "Records repaired by the reconciler (lost webhooks or a crash)");
    ++repaired;
  }
  co_return repaired;
}

}  // namespace sbx::lifecycle
