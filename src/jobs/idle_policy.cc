#include "jobs/idle_policy.h"

#include <fmt/format.h>

#include <vector>

#include "base/log.h"
#include "lifecycle/policy_report.h"

namespace sbx::jobs {
namespace {

using core::SandboxStatus;

// Rows are re-read this far back each pass: a row committed late (another
// replica's, or a slow transaction's) is still taught once.
constexpr auto kReadMargin = std::chrono::minutes(5);

constexpr const char* kPolicyNames[] = {"fixed", "adaptive", "warmup"};

bool UserSource(const std::string& source) {
  return source == "api" || source == "preview" || source == "presence";
}

}  // namespace

Result<std::unique_ptr<IdlePolicyJob>> IdlePolicyJob::Make(
    Clock& clock, BlockingPool& store_pool, store::Store& store, lifecycle::Lifecycle& lifecycle,
    Leadership& leadership, Metrics& metrics, IdlePolicyOptions options) {
  // (MakePolicy checks the shadow's name; the default's is only looked up.)
  SBX_RETURN_IF_ERROR(policy::CheckPolicyName(options.default_policy));
  std::unique_ptr<IdlePolicyJob> job(
      new IdlePolicyJob(clock, store_pool, store, lifecycle, leadership, metrics, options));
  for (const char* name : kPolicyNames) {
    SBX_ASSIGN_OR_RETURN(job->policies_[name], policy::MakePolicy(name, options.config));
  }
  if (!options.shadow.empty()) {
    SBX_ASSIGN_OR_RETURN(job->shadow_, policy::MakePolicy(options.shadow, options.config));
  }
  return job;
}

IdlePolicyJob::IdlePolicyJob(Clock& clock, BlockingPool& store_pool, store::Store& store,
                             lifecycle::Lifecycle& lifecycle, Leadership& leadership,
                             Metrics& metrics, IdlePolicyOptions options)
    : clock_(clock),
      store_pool_(store_pool),
      store_(store),
      lifecycle_(lifecycle),
      leadership_(leadership),
      metrics_(metrics),
      options_(std::move(options)),
      made_at_(clock.Now()),
      job_(clock, "idle-policy", options_.schedule, [this] { return Pass(); }) {}

Status IdlePolicyJob::Start(net::any_io_executor executor) { return job_.Start(executor); }
void IdlePolicyJob::Stop() { job_.Stop(); }

const std::string& IdlePolicyJob::Governing(const core::Sandbox& s) const {
  return s.idle_policy.empty() ? options_.default_policy : s.idle_policy;
}

net::awaitable<void> IdlePolicyJob::Pass() {
  const SystemTime now = clock_.Now();
  if (!co_await Learn(now)) co_return;
  // What history taught about the time before this job was made was acted
  // on then (by the job before it, if any).
  const SystemTime acted_before = learned_ ? SystemTime::min() : made_at_;
  learned_ = true;
  auto take = [acted_before](policy::Policy& p) {
    std::vector<policy::Change> changes = p.TakeChanges();
    std::erase_if(changes, [&](const policy::Change& c) { return c.at < acted_before; });
    return changes;
  };
  FollowPreWakes();
  if (shadow_) {
    const auto changes = take(*shadow_);
    for (const policy::Change& c : changes) {
      SBX_LOG_DEBUG("shadow policy {} would set {}'s idle timeout: {}", shadow_->name(),
                    c.project, c.reason);
    }
    metrics_.Inc("sandboxd_policy_shadow_changes_total",
                 {{"policy", std::string(shadow_->name())}}, static_cast<double>(changes.size()),
                 "Idle timeout changes the shadow policy would have made (--policy-shadow)");
  }
  if (!leadership_.IsLeader()) {
    for (auto& [name, p] : policies_) (void)p->TakeChanges();
    co_return;
  }
  for (auto& [name, p] : policies_) {
    // Named, not temporaries in the co_await: GCC 12 mishandles those.
    std::string governing = name;
    std::vector<policy::Change> changes = take(*p);
    co_await ApplyChanges(std::move(governing), std::move(changes));
  }
  co_await PreWake(now);
}

net::awaitable<bool> IdlePolicyJob::Learn(SystemTime now) {
  const SystemTime from =
      last_read_ ? *last_read_ - kReadMargin : now - options_.learn_window;
  lifecycle::OverviewInputs in;
  auto read = [this, &in, from] {
    return lifecycle::ReadTransitions(store_, from, lifecycle::Lifecycle::kOverviewRowLimit, in);
  };
  Status s = co_await store_pool_.Run(read);
  if (!s.ok()) {
    SBX_LOG_WARN("idle policy: reading history: {}", s.ToString());
    co_return false;
  }
  if (learned_) {
    // A record's timeout is where its policy steps from.
    for (const core::Sandbox& sb : lifecycle_.read_model().All()) {
      auto p = policies_.find(Governing(sb));
      if (p != policies_.end()) {
        p->second->Adopt(sb.project_id, std::chrono::seconds(sb.idle_timeout_s));
      }
    }
  }
  const std::vector<policy::Policy*> all = Learners();
  for (const policy::Moment& m : lifecycle::MomentsFrom(in)) {
    // A pre-wake ends the pause without a return: FollowPreWakes teaches
    // the user's return, if one comes, with the pause it kept (pre_woken_).
    if (seen_.emplace(m.seq, m.at).second) teacher_.Feed(m, all);
  }
  std::erase_if(seen_, [from](const auto& e) { return e.second < from - kReadMargin; });
  last_read_ = now;
  co_return true;
}

net::awaitable<void> IdlePolicyJob::ApplyChanges(std::string name,
                                                std::vector<policy::Change> changes) {
  // The newest change of each project.
  std::map<std::string, policy::Change> latest;
  for (policy::Change& c : changes) latest[c.project] = std::move(c);
  for (auto& [project, c] : latest) {
    auto current = lifecycle_.Get(project);
    if (!current.ok() || Governing(*current) != name) continue;
    if (current->status == SandboxStatus::kKilled) continue;
    const int64_t to = std::chrono::duration_cast<std::chrono::seconds>(c.to).count();
    const int64_t seen = current->idle_timeout_s;
    if (to == seen) continue;
    lifecycle::SettingsChange change{
        .idle_timeout_s = to,
        .source = core::EventSource::kPolicy,
        .detail = fmt::format("{}: {}", name, c.reason),
        .inputs = lifecycle::DecisionInputs(
            DeciderFor(leadership_, "policy"),
            {{"policy", name},
             {"fromSeconds", std::chrono::duration_cast<std::chrono::seconds>(c.from).count()},
             {"toSeconds", to}})};
    // Nobody changed the policy or the timeout since this was decided.
    const std::string& fallback = options_.default_policy;
    // Named (not temporaries in the co_await: GCC 12 mishandles those).
    lifecycle::Precondition unchanged = [name, seen,
                                         fallback](const core::Sandbox& s) -> Status {
      const std::string& governing = s.idle_policy.empty() ? fallback : s.idle_policy;
      if (governing != name || s.idle_timeout_s != seen) {
        return FailedPrecondition("the idle timeout or policy changed meanwhile");
      }
      return OkStatus();
    };
    auto r = co_await lifecycle_.ChangeSettings(project, std::move(change), std::move(unchanged));
    if (!r.ok()) {
      SBX_LOG_INFO("idle policy {} left {}'s timeout: {}", name, project, r.error().ToString());
      continue;
    }
    metrics_.Inc("sandboxd_policy_changes_total", {{"policy", name}}, 1,
                 "Idle timeouts changed by the idle policy governing the project");
    SBX_LOG_INFO("idle policy {} set {}'s idle timeout to {}s: {}", name, project, to, c.reason);
  }
}

net::awaitable<void> IdlePolicyJob::PreWake(SystemTime now) {
  struct Due {
    std::string project;
    policy::Policy* governing;
    SystemTime paused_at;
  };
  std::vector<Due> due;
  for (const core::Sandbox& s : lifecycle_.read_model().All()) {
    if (s.status != SandboxStatus::kPaused) continue;
    const SystemTime paused_at = teacher_.PausedAt(s.project_id).value_or(s.updated_at);
    if (shadow_ && shadow_->PreWake(s.project_id, now, paused_at)) {
      metrics_.Inc("sandboxd_policy_shadow_prewakes_total",
                   {{"policy", std::string(shadow_->name())}}, 1,
                   "Pre-wakes the shadow policy would have made (--policy-shadow)");
      SBX_LOG_DEBUG("shadow policy {} would pre-wake {}", shadow_->name(), s.project_id);
    }
    auto p = policies_.find(Governing(s));
    if (p == policies_.end() || p->second->PreWakeGrace() <= Millis::zero()) continue;
    if (!p->second->PreWake(s.project_id, now, paused_at)) continue;
    due.push_back({s.project_id, p->second.get(), paused_at});
    pre_woken_[s.project_id] = {.paused_at = paused_at, .woke_at = now};
  }
  // Each policy's reasons, taken once: one policy may pre-wake several.
  std::map<std::string, std::string> reasons;  // project -> why
  for (const Due& d : due) {
    for (policy::Change& c : d.governing->TakeChanges()) {
      SBX_LOG_INFO("idle policy {} wakes {}: {}", d.governing->name(), c.project, c.reason);
      reasons[c.project] = std::move(c.reason);
    }
  }
  for (const auto& [project, governing, paused_at] : due) {
    const auto grace = std::chrono::ceil<std::chrono::seconds>(governing->PreWakeGrace());
    // What the decision saw, for its history row and explain.
    std::string inputs = lifecycle::DecisionInputs(
        DeciderFor(leadership_, "prewake"),
        {{"policy", std::string(governing->name())},
         {"pausedAt", FormatRfc3339(paused_at)},
         {"graceSeconds", grace.count()},
         {"reason", reasons[project]}});
    auto woken = co_await lifecycle_.Wake(project, core::EventSource::kPolicy,
                                          /*create_if_killed=*/false, std::move(inputs));
    if (!woken.ok()) {
      SBX_LOG_WARN("idle policy: pre-wake of {}: {}", project, woken.error().ToString());
      pre_woken_.erase(project);
      continue;
    }
    std::string hold = kPreWakeHold;
    auto held = co_await lifecycle_.PlaceHold(project, std::move(hold), grace,
                                              core::EventSource::kPolicy);
    if (!held.ok()) {
      SBX_LOG_WARN("idle policy: holding pre-woken {}: {}", project, held.error().ToString());
    }
    metrics_.Inc("sandboxd_policy_prewakes_total",
                 {{"policy", std::string(governing->name())}, {"outcome", "made"}}, 1,
                 "Pre-wakes by the idle policy: made, then hit (its user came) or miss");
  }
}

std::vector<policy::Policy*> IdlePolicyJob::Learners() {
  std::vector<policy::Policy*> all;
  for (auto& [name, p] : policies_) all.push_back(p.get());
  if (shadow_) all.push_back(shadow_.get());
  return all;
}

void IdlePolicyJob::FollowPreWakes() {
  const std::vector<policy::Policy*> all = Learners();
  for (auto it = pre_woken_.begin(); it != pre_woken_.end();) {
    auto s = lifecycle_.Get(it->first);
    std::optional<SystemTime> came;
    if (s.ok()) {
      for (const auto& [source, at] : s->activity) {
        if (UserSource(source) && at > it->second.woke_at && (!came || at < *came)) came = at;
      }
    }
    const bool paused_again = !s.ok() || (s->status != SandboxStatus::kStarting &&
                                          s->status != SandboxStatus::kRunning);
    if (!came && !paused_again) {
      ++it;
      continue;
    }
    const std::string outcome = came ? "hit" : "miss";
    if (came) {
      for (policy::Policy* p : all) p->OnReturn(it->first, *came, it->second.paused_at);
    }
    const std::string& governing = s.ok() ? Governing(*s) : options_.default_policy;
    metrics_.Inc("sandboxd_policy_prewakes_total", {{"policy", governing}, {"outcome", outcome}},
                 1, "Pre-wakes by the idle policy: made, then hit (its user came) or miss");
    it = pre_woken_.erase(it);
  }
}

}  // namespace sbx::jobs
