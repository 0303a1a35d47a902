#include "lifecycle/reconcile.h"

#include <map>
#include <set>

#include "base/log.h"
#include "lifecycle/lifecycle.h"

namespace sbx::lifecycle {

using core::EventType;
using core::Sandbox;
using core::SandboxStatus;
using provider::ProviderState;

std::optional<RepairPlan> PlanRepair(const Sandbox& s, const provider::ProviderSandbox* p,
                                     SystemTime now, std::chrono::seconds in_flight_grace,
                                     std::chrono::seconds create_grace) {
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
    // A create that never finished (crash): nothing runs for it, unless
    // it is still at the provider elsewhere.
    if (s.status != SandboxStatus::kStarting) return std::nullopt;
    if (now - s.updated_at < std::max(in_flight_grace, create_grace)) return std::nullopt;
    plan.type = EventType::kCreateFailed;
    plan.error = core::LastError{"create_interrupted",
                                 "sandboxd stopped while creating this sandbox", now};
    return plan;
  }
  if (!s.sandbox_id.empty() && p->sandbox_id != s.sandbox_id) {
    // The record's sandbox is gone and the provider has another of this
    // project with sandboxd's marker (records restored from a backup older
    // than it): the project's sandbox is that one, adopted, not reaped.
    plan.sandbox_id = p->sandbox_id;
    plan.url = p->url;
    plan.type = p->state == ProviderState::kRunning ? EventType::kResumed : EventType::kPaused;
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

std::vector<provider::ProviderSandbox> PlanOrphans(
    const std::vector<Sandbox>& records, const std::vector<provider::ProviderSandbox>& listed,
    SystemTime now, std::chrono::seconds grace) {
  std::vector<provider::ProviderSandbox> orphans;
  if (grace <= std::chrono::seconds(0)) return orphans;
  std::set<std::string> recorded;
  std::set<std::string> creating;
  for (const Sandbox& s : records) {
    // A KILLED record's sandbox is not kept: if it still runs (its removal
    // failed), it is killed like any other orphan.
    if (!s.sandbox_id.empty() && s.status != SandboxStatus::kKilled) {
      recorded.insert(s.sandbox_id);
    }
    // A create in flight (a new one, or one replacing a killed sandbox) may
    // be about to record or adopt the sandbox it made.
    if (s.status == SandboxStatus::kStarting) creating.insert(s.project_id);
  }
  for (const provider::ProviderSandbox& p : listed) {
    auto project = p.metadata.find("projectId");
    if (project == p.metadata.end() || !p.metadata.contains(provider::kCreateRequestIdKey)) continue;
    if (recorded.contains(p.sandbox_id) || creating.contains(project->second)) continue;
    if (p.started_at == SystemTime{} || now - p.started_at < grace) continue;
    orphans.push_back(p);
  }
  return orphans;
}

net::awaitable<Result<int>> Lifecycle::Reconcile(std::chrono::seconds in_flight_grace,
                                                 Decider by) {
  // The records as they were before the listing began. Each repair applies
  // only to the very version it was planned on (below): a record that
  // changed since (a pause, a wake, a webhook while the listing was taken,
  // or a kill and a new create while earlier repairs were written) may be
  // newer than what the listing says, and is left to the next pass.
  const std::vector<Sandbox> records = read_model_.All();
  auto listed = co_await ListProvider();
  if (!listed.ok()) co_return listed.error().WithContext("reconcile: list provider sandboxes");
  if (!listed->complete) co_return Unavailable("reconcile: provider listing incomplete");
  std::set<std::string> named;  // sandboxes some record names
  for (const Sandbox& s : records) {
    if (!s.sandbox_id.empty()) named.insert(s.sandbox_id);
  }
  std::map<std::string, provider::ProviderSandbox> by_id;
  std::map<std::string, provider::ProviderSandbox> by_project;
  // Per project, its newest sandbox with sandboxd's marker that no record
  // names: the one a record whose own sandbox is gone adopts.
  std::map<std::string, provider::ProviderSandbox> adoptable;
  for (const auto& p : listed->sandboxes) {
    by_id[p.sandbox_id] = p;
    auto it = p.metadata.find("projectId");
    if (it == p.metadata.end()) continue;
    by_project[it->second] = p;
    if (!p.metadata.contains(provider::kCreateRequestIdKey) || named.contains(p.sandbox_id)) {
      continue;
    }
    auto [slot, added] = adoptable.try_emplace(it->second, p);
    if (!added && slot->second.started_at < p.started_at) slot->second = p;
  }
  int repaired = 0;
  for (const Sandbox& s : records) {
    // Its create, wake or pause is still at the provider here: what the
    // listing says of it is not settled yet, whatever the grace.
    if (OperationInFlight(s.project_id)) continue;
    const provider::ProviderSandbox* p = nullptr;
    if (auto it = by_id.find(s.sandbox_id); !s.sandbox_id.empty() && it != by_id.end()) {
      p = &it->second;
    } else if (s.sandbox_id.empty()) {
      // A create that never recorded its sandbox: the project's, if listed.
      if (auto jt = by_project.find(s.project_id); jt != by_project.end()) p = &jt->second;
    } else if (auto jt = adoptable.find(s.project_id); jt != adoptable.end()) {
      p = &jt->second;  // the record's is gone
    }
    // No grace at all (the start-up pass: nothing runs yet) means none for
    // creates either.
    const std::chrono::seconds create_grace =
        in_flight_grace.count() == 0 ? in_flight_grace : options_.create_grace;
    auto plan = PlanRepair(s, p, clock_.Now(), in_flight_grace, create_grace);
    if (!plan) continue;
    core::LifecycleEvent ev = Command(plan->type, s.project_id, core::EventSource::kReconciler);
    ev.sandbox_id = plan->sandbox_id;
    ev.url = plan->url;
    ev.error = plan->error;
    const char* state = !p ? "absent" : p->state == ProviderState::kRunning ? "running" : "paused";
    boost::json::object seen{{"providerState", state},
                             {"inFlightGraceSeconds", in_flight_grace.count()}};
    ev.inputs = DecisionInputs(by, std::move(seen));
    SBX_LOG_WARN("drift: project {} sandbox {} is {} here; repairing with {}", s.project_id,
                 s.sandbox_id, core::StatusName(s.status), core::EventTypeName(ev.type));
    // Applied to the very record it was planned on, never to one that moved
    // since (given another sandbox's repair, say).
    const int64_t planned_on = s.version;
    Precondition unchanged = [planned_on](const Sandbox& current) {
      return current.version == planned_on
                 ? OkStatus()
                 : FailedPrecondition("the record changed since the repair was planned");
    };
    auto r = co_await Apply(ev, std::move(unchanged));
    if (!r.ok()) {
      if (r.error().code() == StatusCode::kFailedPrecondition) continue;
      SBX_LOG_ERROR("drift repair of {}: {}", s.project_id, r.error().ToString());
      continue;
    }
    // Stale: the record moved meanwhile (a webhook arrived, say); nothing
    // was repaired.
    if (r->outcome != Outcome::kApplied) continue;
    metrics_.Inc("sandboxd_drift_repaired_total", {{"to", std::string(core::EventTypeName(ev.type))}},
                 1, "Records repaired by the reconciler (lost webhooks or a crash)");
    // A settled crash (an interrupted pause or create) is no change a
    // webhook should have reported: it is repaired, not counted as drift.
    if (!IsCrashRepair(ev.type)) delivery_.DriftRepaired(clock_.Now());
    ++repaired;
  }
  co_await KillOrphans(listed->sandboxes);
  co_return repaired;
}

net::awaitable<void> Lifecycle::KillOrphans(const std::vector<provider::ProviderSandbox>& listed) {
  // After the repairs above, so a sandbox a repair just adopted is recorded.
  const auto orphans =
      PlanOrphans(read_model_.All(), listed, clock_.Now(), options_.orphan_grace);
  for (const provider::ProviderSandbox& p : orphans) {
    const std::string& project = p.metadata.at("projectId");
    SBX_LOG_WARN("orphan: provider sandbox {} of project {} (started {}, create request {}) "
                 "matches no record; killing it",
                 p.sandbox_id, project, FormatRfc3339(p.started_at),
                 p.metadata.at(provider::kCreateRequestIdKey));
    Status killed = co_await KillAtProvider(p.sandbox_id);
    if (!killed.ok()) {
      SBX_LOG_ERROR("orphan {}: kill failed: {}", p.sandbox_id, killed.ToString());
      continue;
    }
    metrics_.Inc("sandboxd_orphans_killed_total", {}, 1,
                 "Provider sandboxes with sandboxd's marker and no record, killed by the reconciler");
  }
}

}  // namespace sbx::lifecycle
