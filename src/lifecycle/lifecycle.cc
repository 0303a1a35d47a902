#include "lifecycle/lifecycle.h"

#include <fmt/format.h>

#include <cstdint>
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "base/log.h"

namespace sbx::lifecycle {

using core::EventSource;
using core::EventType;
using core::LifecycleEvent;
using core::Sandbox;
using core::SandboxStatus;

Lifecycle::Lifecycle(Clock& clock, BlockingPool& store_pool, BlockingPool& provider_pool,
                     store::Store& store, provider::Provider& provider, IdGenerator& ids,
                     ReadModel& read_model, EventBus& bus, Metrics& metrics,
                     LifecycleOptions options)
    : clock_(clock),
      store_pool_(store_pool),
      provider_pool_(provider_pool),
      store_(store),
      provider_(provider),
      ids_(ids),
      read_model_(read_model),
      bus_(bus),
      metrics_(metrics),
      options_(std::move(options)),
      apply_(clock, store_pool, store, read_model, bus, metrics,
             {.max_apply_retries = options_.max_apply_retries,
              .max_batch = options_.max_batch,
              .max_queued = options_.max_queued,
              .max_clock_skew = options_.max_clock_skew,
              .default_idle_timeout_s = options_.default_idle_timeout_s}) {
  metrics_.Inc("sandboxd_store_errors_total", {{"op", "ping"}}, 0, kStoreErrorsHelp);
  metrics_.AddGaugeCallback(
      "sandboxd_webhook_last_verified_timestamp_seconds",
      "Unix time of the newest webhook delivery that passed its signature check (absent until one "
      "has)",
      [this] {
        std::vector<std::pair<Labels, double>> out;
        if (auto at = delivery_.Get().last_webhook) {
          out.push_back({{}, static_cast<double>(ToUnixMillis(*at)) / 1000.0});
        }
        return out;
      });
  metrics_.AddGaugeCallback(
      "sandboxd_drift_since_last_webhook",
      "Records the reconciler repaired since the newest verified webhook (changes a webhook "
      "should have reported)",
      [this] {
        return std::vector<std::pair<Labels, double>>{
            {{}, static_cast<double>(delivery_.Get().drift_since_webhook)}};
      });
}

Lifecycle::~Lifecycle() = default;

Status Lifecycle::Load() {
  SBX_ASSIGN_OR_RETURN(auto all, store_.LoadSandboxes());
  read_model_.Reset(all);
  return OkStatus();
}

bool Lifecycle::Renewed(const Sandbox& stored) const {
  // Versions start over when a forgotten project is made again; a stale
  // read of the held record has no higher version either, but never a later
  // birth.
  auto held = read_model_.Get(stored.project_id);
  return held && stored.version <= held->version && stored.created_at > held->created_at;
}

bool Lifecycle::RemoveRecord(const std::string& project_id, int64_t version) {
  if (!read_model_.Remove(project_id, version)) return false;
  bus_.PublishRemoved(project_id);
  return true;
}

Status Lifecycle::Observe(std::span<const store::Change> changes) {
  if (changes.empty()) return OkStatus();  // a poll that heard nothing waits for no batch
  // This replica's own commits are announced as soon as they commit, which
  // may be before the writer has put them in the read model.
  apply_.AwaitCommitInFlight();
  // The newest change announced per project, for those the read model is
  // behind on (not this replica's own commits, nor changes seen already).
  std::map<std::string, const store::Change*> behind;
  for (const store::Change& c : changes) {
    if (read_model_.Version(c.project_id) >= c.version) continue;
    const store::Change*& newest = behind[c.project_id];
    if (!newest || c.version >= newest->version) newest = &c;
  }
  if (behind.empty()) return OkStatus();
  // The records the changes carried, and one store read for the rest.
  std::vector<Sandbox> records;
  std::vector<std::string> ids;
  for (const auto& [project, change] : behind) {
    if (change->record) {
      records.push_back(*change->record);
    } else {
      ids.push_back(project);
    }
  }
  if (!ids.empty()) {
    SBX_ASSIGN_OR_RETURN(std::vector<Sandbox> loaded, store_.GetSandboxes(ids));
    records.insert(records.end(), std::make_move_iterator(loaded.begin()),
                   std::make_move_iterator(loaded.end()));
  }
  for (const Sandbox& s : records) {
    const int64_t held = read_model_.Version(s.project_id);
    if (Renewed(s)) RemoveRecord(s.project_id, held + 1);
    if (read_model_.Put(s)) bus_.Publish(s);
    behind.erase(s.project_id);
  }
  // No record any more: forgotten on another replica.
  for (const auto& [project, change] : behind) RemoveRecord(project, change->version);
  return OkStatus();
}

Result<int> Lifecycle::Resync() {
  SBX_ASSIGN_OR_RETURN(auto all, store_.LoadSandboxes());
  int changed = 0;
  std::set<std::string> stored;
  for (const Sandbox& s : all) {
    stored.insert(s.project_id);
    if (Renewed(s)) RemoveRecord(s.project_id, read_model_.Version(s.project_id) + 1);
    if (read_model_.Put(s)) {
      bus_.Publish(s);
      ++changed;
    }
  }
  // Records the load did not have were forgotten meanwhile, or made after
  // it: ask again for each (few: forgetting is rare).
  for (const auto& [project, status] : read_model_.Statuses()) {
    if (stored.contains(project)) continue;
    const int64_t held = read_model_.Version(project);
    auto again = store_.GetSandbox(project);
    if (again.ok()) continue;
    if (again.error().code() != StatusCode::kNotFound) return again.status();
    if (RemoveRecord(project, held + 1)) ++changed;
  }
  return changed;
}

Result<Sandbox> Lifecycle::Get(const std::string& project_id) const {
  auto s = read_model_.Get(project_id);
  if (!s) return NotFound(fmt::format("project {} has no sandbox", project_id));
  return *s;
}

net::awaitable<Result<std::vector<store::HistoryRow>>> Lifecycle::History(
    const std::string& project_id, int limit, int64_t before_seq) {
  if (!read_model_.Get(project_id)) {
    co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  }
  auto list = [this, project_id, limit, before_seq] {
    return store_.ListHistory(project_id, limit, before_seq);
  };
  co_return co_await store_pool_.Run(list);
}

net::awaitable<Result<Overview>> Lifecycle::ReadOverview(OverviewWindow window) {
  const SystemTime now = TruncateToMillis(clock_.Now());
  const SystemTime from = OverviewFrom(window, now);
  OverviewInputs in;
  in.current = read_model_.Statuses();
  auto read = [this, &in, from, now, &window]() -> Status {
    SBX_RETURN_IF_ERROR(ReadTransitions(store_, from, kOverviewRowLimit, in));
    SBX_ASSIGN_OR_RETURN(in.counts, store_.CountHistory(from, now + Millis(1), window.bucket));
    return OkStatus();
  };
  Status s = co_await store_pool_.Run(read);
  if (!s.ok()) co_return s;
  co_return Summarize(window, now, in);
}

net::awaitable<Result<PolicyReport>> Lifecycle::ReadPolicyReport(
    SystemTime from, Millis regret_window, size_t top,
    std::vector<std::unique_ptr<policy::Policy>> replay) {
  const SystemTime now = TruncateToMillis(clock_.Now());
  OverviewInputs in;
  std::optional<PolicyReplay> replayed;
  // The replay runs on the store pool too: it is the heavier half.
  auto read = [this, &in, &replay, &replayed, from, now, regret_window]() -> Status {
    SBX_RETURN_IF_ERROR(ReadTransitions(store_, from, kOverviewRowLimit, in));
    if (replay.empty()) return OkStatus();
    std::vector<policy::Policy*> policies;
    for (const auto& p : replay) policies.push_back(p.get());
    replayed = ReplayPolicies(in, now, regret_window, policies);
    return OkStatus();
  };
  Status s = co_await store_pool_.Run(read);
  if (!s.ok()) co_return s;
  PolicyReport report = ReportPolicy(from, now, in, regret_window, top);
  report.replay = std::move(replayed);
  co_return report;
}

net::awaitable<Status> Lifecycle::CheckStore() {
  {
    std::lock_guard lock(ping_.mu);
    const SteadyTime now = clock_.SteadyNow();
    if (ping_.in_flight) {
      // A ping unanswered for longer than the reuse window is an answer.
      if (now - ping_.sent >= kStorePingReuse) {
        co_return Unavailable(fmt::format(
            "the store has not answered a ping for {} ms",
            std::chrono::duration_cast<std::chrono::milliseconds>(now - ping_.sent).count()));
      }
      co_return ping_.last.value_or(Unavailable("the store has not answered its first ping yet"));
    } else if (ping_.last && now - ping_.at < kStorePingReuse) {
      co_return *ping_.last;
    } else {
      ping_.in_flight = true;
      ping_.sent = now;
    }
  }
  auto ping = [this] { return store_.Ping(); };
  Status s = co_await store_pool_.Run(ping);
  {
    std::lock_guard lock(ping_.mu);
    ping_.last = s;
    ping_.at = clock_.SteadyNow();
    ping_.in_flight = false;
  }
  if (!s.ok()) {
    metrics_.Inc("sandboxd_store_errors_total", {{"op", "ping"}}, 1, kStoreErrorsHelp);
  }
  co_return s;
}

net::awaitable<Status> Lifecycle::RefreshDeliveryHealth() {
  const DeliveryHealth::Mark mark = delivery_.Begin();
  auto summarize = [this] { return store_.SummarizeDelivery(); };
  Result<store::DeliverySummary> summary = co_await store_pool_.Run(summarize);
  if (!summary.ok()) co_return summary.error();
  delivery_.Adopt(*summary, mark);
  co_return OkStatus();
}

net::awaitable<Result<ApplyResult>> Lifecycle::Apply(LifecycleEvent event,
                                                     Precondition precondition) {
  return apply_.Apply(std::move(event), std::move(precondition));
}

bool Lifecycle::busy() { return background_ > 0 || apply_.busy(); }

void Lifecycle::Background(net::any_io_executor ex, net::awaitable<void> op) {
  ++background_;
  net::co_spawn(ex, std::move(op), [this](std::exception_ptr e) {
    --background_;
    if (e) SBX_LOG_ERROR("bug: a background lifecycle operation threw");
  });
}

LifecycleEvent Lifecycle::Command(EventType type, const std::string& project_id,
                                  EventSource source) {
  LifecycleEvent e;
  e.id = ids_.NewUuid();
  e.type = type;
  e.source = source;
  e.timestamp = clock_.Now();
  e.project_id = project_id;
  return e;
}

template <typename F>
net::awaitable<std::invoke_result_t<F>> Lifecycle::CallProvider(const char* op, F f) {
  const SteadyTime start = clock_.SteadyNow();
  auto result = co_await provider_pool_.Run(std::move(f));
  const double secs = std::chrono::duration<double>(clock_.SteadyNow() - start).count();
  metrics_.Observe("sandboxd_provider_call_duration_seconds", {{"op", op}}, secs,
                   "Latency of provider calls");
  Status st;
  if constexpr (std::is_same_v<decltype(result), Status>) {
    st = result;
  } else {
    st = result.status();
  }
  if (!st.ok()) {
    metrics_.Inc("sandboxd_provider_call_errors_total",
                 {{"op", op}, {"code", std::string(StatusCodeName(st.code()))}}, 1,
                 "Failed provider calls");
  }
  co_return result;
}

net::awaitable<Result<provider::ListResult>> Lifecycle::ListProvider() {
  auto list = [this] { return provider_.List(); };
  co_return co_await CallProvider("list", list);
}

net::awaitable<Status> Lifecycle::KillAtProvider(const std::string& sandbox_id) {
  auto kill = [this, sandbox_id] { return provider_.Kill(sandbox_id); };
  co_return co_await CallProvider("kill", kill);
}

net::awaitable<Status> Lifecycle::RemoveKilledDuringCreate(const std::string& project_id,
                                                          const std::string& sandbox_id) {
  Status killed = co_await KillAtProvider(sandbox_id);
  if (!killed.ok()) {
    SBX_LOG_WARN("removing {} (killed during create): {}", sandbox_id, killed.ToString());
  }
  // The KILLED record names the removed sandbox, so that the provider's late
  // `created` for it is stale rather than adopted, and, if the removal
  // failed, the reconciler kills it as an orphan. Only over the kill that
  // met this create (an API kill: Lifecycle::Kill); a newer create is left
  // alone.
  LifecycleEvent removed = Command(EventType::kKilled, project_id, EventSource::kApi);
  removed.sandbox_id = sandbox_id;
  Precondition still_killed_without_sandbox = [](const Sandbox& s) -> Status {
    if (s.status != SandboxStatus::kKilled || !s.sandbox_id.empty()) {
      return FailedPrecondition("the project has moved on");
    }
    return OkStatus();
  };
  auto noted = co_await Apply(removed, still_killed_without_sandbox);
  if (!noted.ok() && noted.error().code() != StatusCode::kFailedPrecondition) {
    SBX_LOG_WARN("recording removal of {} (killed during create): {}", sandbox_id,
                 noted.error().ToString());
  }
  co_return FailedPrecondition(
      fmt::format("sandbox of project {} was killed while being created", project_id));
}

uint64_t Lifecycle::WatchKills(const std::string& project) {
  KillWatch& w = kill_watch_[project];
  ++w.watchers;
  return w.kills;
}

uint64_t Lifecycle::KillsOf(const std::string& project) const {
  auto it = kill_watch_.find(project);
  return it == kill_watch_.end() ? 0 : it->second.kills;
}

void Lifecycle::UnwatchKills(const std::string& project) {
  auto it = kill_watch_.find(project);
  if (it != kill_watch_.end() && --it->second.watchers <= 0) kill_watch_.erase(it);
}

bool Lifecycle::OperationInFlight(const std::string& project) const {
  return kill_watch_.contains(project) || pausing_.contains(project);
}

namespace {

// Runs `end` when the scope that holds it ends (a WatchKills, a pause in
// flight), however it ends: a coroutine may leave by co_return or throw.
struct AtScopeEnd {
  std::function<void()> end;
  ~AtScopeEnd() { end(); }
};

}  // namespace

net::awaitable<Result<Sandbox>> Lifecycle::ProvisionNew(const std::string& project_id,
                                                        EventSource source, uint64_t kills_before,
                                                        std::optional<bool> allow_internet_access) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  provider::CreateRequest req;
  req.project_id = project_id;
  req.template_name = current->template_name;
  req.metadata = current->metadata;
  req.metadata["projectId"] = project_id;
  req.allow_internet_access = allow_internet_access;
  // The provider's sandbox carries sandboxd's marker (a request id), so that
  // the orphan reaper may remove it if no record ever names it; the record's
  // metadata stays the project's own. (E2bProvider sets its own request id.)
  provider::CreateRequest marked = req;
  marked.metadata[provider::kCreateRequestIdKey] = ids_.NewUuid();
  // Callables are named before co_await: GCC 12 destroys a temporary
  // lambda argument of a coroutine twice.
  auto create = [this, marked] { return provider_.Create(marked); };
  auto created = co_await CallProvider("create", create);
  if (!created.ok()) {
    LifecycleEvent failed = Command(EventType::kCreateFailed, project_id, source);
    failed.error = core::LastError{"create_failed", created.error().message(), clock_.Now()};
    auto r = co_await Apply(failed);
    if (!r.ok()) SBX_LOG_ERROR("recording create failure of {}: {}", project_id, r.error().ToString());
    co_return created.error().WithContext(fmt::format("create sandbox for project {}", project_id));
  }
  auto now = read_model_.Get(project_id);
  if (!now || now->status == SandboxStatus::kKilled || KillsOf(project_id) != kills_before) {
    // Killed (or forgotten) while the provider was still creating it, maybe
    // with a newer create already under way: do not resurrect it. Checked on
    // the I/O thread right before the write is queued, so a kill committed
    // later was queued after this write and finds it (Kill's next turn).
    co_return co_await RemoveKilledDuringCreate(project_id, created->sandbox_id);
  }
  LifecycleEvent ev = Command(EventType::kCreated, project_id, source);
  ev.sandbox_id = created->sandbox_id;
  ev.url = created->url;
  ev.metadata = req.metadata;
  ev.end_at = created->end_at;
  // A kill may still commit between the check above and this write: the
  // write checks again, atomically, and the new sandbox is removed.
  Precondition not_killed = [](const Sandbox& s) -> Status {
    if (s.status == SandboxStatus::kKilled) return FailedPrecondition("killed while being created");
    return OkStatus();
  };
  auto applied = co_await Apply(ev, not_killed);
  if (!applied.ok() && (applied.error().code() == StatusCode::kFailedPrecondition ||
                        applied.error().code() == StatusCode::kNotFound)) {
    // Killed, or killed and forgotten, while the write waited.
    co_return co_await RemoveKilledDuringCreate(project_id, created->sandbox_id);
  }
  if (!applied.ok()) co_return applied.error();
  if (applied->outcome == Outcome::kStale) {
    // The project was given another sandbox meanwhile (a kill and a new
    // create through another replica): this one is recorded nowhere, so it
    // goes rather than running unseen.
    co_return co_await RemoveKilledDuringCreate(project_id, created->sandbox_id);
  }
  if (!applied->sandbox) co_return Internal("create applied without a record");
  co_return *applied->sandbox;
}

net::awaitable<Result<CreateResult>> Lifecycle::Create(const std::string& project_id,
                                                       CreateOptions options) {
  if (auto current = read_model_.Get(project_id);
      current && current->status != SandboxStatus::kKilled) {
    co_return CreateResult{*current, false};
  }
  const int64_t timeout = options.idle_timeout_s.value_or(options_.default_idle_timeout_s);
  if (timeout <= 0) co_return InvalidArgument("idleTimeoutSeconds must be greater than 0");
  const std::string tmpl = options.template_name.value_or(options_.default_template);
  // Bad input changes nothing: an unknown template is refused before any record exists.
  auto check = [this, tmpl] { return provider_.CheckTemplate(tmpl); };
  if (Status st = co_await provider_pool_.Run(check); !st.ok()) co_return st;
  LifecycleEvent req = Command(EventType::kCreateRequested, project_id, options.source);
  req.template_name = tmpl;
  req.idle_timeout_s = timeout;
  req.metadata = options.metadata;
  req.metadata["projectId"] = project_id;
  const uint64_t kills = WatchKills(project_id);
  const AtScopeEnd unwatch{[this, project_id] { UnwatchKills(project_id); }};
  auto started = co_await Apply(req);
  if (!started.ok()) {
    if (started.error().code() == StatusCode::kFailedPrecondition) {
      // Another request created it first.
      if (auto current = read_model_.Get(project_id)) co_return CreateResult{*current, false};
    }
    co_return started.error();
  }
  auto running =
      co_await ProvisionNew(project_id, options.source, kills, options.allow_internet_access);
  if (!running.ok()) co_return running.error();
  co_return CreateResult{*running, true};
}

net::awaitable<void> Lifecycle::FinishWake(Sandbox starting, EventSource source,
                                           uint64_t kills) {
  const std::string project = starting.project_id;
  const AtScopeEnd unwatch{[this, project] { UnwatchKills(project); }};  // Wake's watch
  if (starting.sandbox_id.empty()) {
    auto r = co_await ProvisionNew(project, source, kills);
    if (!r.ok()) SBX_LOG_WARN("wake of {} failed: {}", project, r.error().ToString());
    co_return;
  }
  const std::string id = starting.sandbox_id;
  auto resume = [this, id] { return provider_.Resume(id); };
  auto resumed = co_await CallProvider("resume", resume);
  if (resumed.ok()) {
    LifecycleEvent ev = Command(EventType::kResumed, project, source);
    ev.sandbox_id = id;
    if (resumed->url) ev.url = resumed->url;
    auto r = co_await Apply(ev);
    if (!r.ok()) SBX_LOG_ERROR("recording resume of {}: {}", project, r.error().ToString());
    co_return;
  }
  SBX_LOG_WARN("resume of {} ({}) failed: {}", project, id, resumed.error().ToString());
  if (resumed.error().code() == StatusCode::kNotFound) {
    // The sandbox is gone at the provider: record that and make a new one,
    // unless a kill got there first (the record is no longer this wake's).
    LifecycleEvent gone = Command(EventType::kKilled, project, EventSource::kRuntime);
    gone.sandbox_id = id;
    Precondition still_waking = [id](const Sandbox& s) -> Status {
      if (s.status != SandboxStatus::kStarting || s.sandbox_id != id) {
        return FailedPrecondition("the sandbox was killed or changed during its wake");
      }
      return OkStatus();
    };
    // A kill committed meanwhile left the record KILLED (or a newer create
    // restarted it): the precondition refuses, and nothing is made.
    const uint64_t kills_now = KillsOf(project);
    if (!(co_await Apply(gone, still_waking)).ok()) co_return;
    LifecycleEvent req = Command(EventType::kCreateRequested, project, source);
    if ((co_await Apply(req)).ok()) (void)co_await ProvisionNew(project, source, kills_now);
    co_return;
  }
  LifecycleEvent failed = Command(EventType::kResumeFailed, project, source);
  failed.error = core::LastError{"resume_failed", resumed.error().message(), clock_.Now()};
  auto r = co_await Apply(failed);
  if (!r.ok()) SBX_LOG_ERROR("recording resume failure of {}: {}", project, r.error().ToString());
}

net::awaitable<Result<Sandbox>> Lifecycle::Wake(const std::string& project_id,
                                                EventSource source, bool create_if_killed,
                                                std::string inputs) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  switch (current->status) {
    case SandboxStatus::kRunning:
    case SandboxStatus::kStarting:
      co_return *current;
    case SandboxStatus::kPausing:
      co_return FailedPrecondition(fmt::format(
          "sandbox of project {} is PAUSING; wake it once it is PAUSED", project_id));
    case SandboxStatus::kKilled:
      if (!create_if_killed) {
        co_return FailedPrecondition(fmt::format("sandbox of project {} is KILLED", project_id));
      }
      break;
    case SandboxStatus::kPaused:
      break;
  }
  const EventType type = current->status == SandboxStatus::kPaused ? EventType::kWakeRequested
                                                                    : EventType::kCreateRequested;
  LifecycleEvent ev = Command(type, project_id, source);
  ev.inputs = std::move(inputs);
  const uint64_t kills = WatchKills(project_id);  // ended by FinishWake, or below
  auto r = co_await Apply(ev);
  if (!r.ok()) {
    UnwatchKills(project_id);
    // Lost the race to a concurrent wake: that one resumes; report its state.
    if (r.error().code() == StatusCode::kFailedPrecondition) {
      if (auto now = read_model_.Get(project_id)) co_return *now;
    }
    co_return r.error();
  }
  Sandbox starting = *r->sandbox;
  Background(co_await net::this_coro::executor, FinishWake(starting, source, kills));
  co_return starting;
}

net::awaitable<Status> Lifecycle::PauseClaimed(const Sandbox& pausing, EventSource source) {
  const std::string id = pausing.sandbox_id;
  const std::string project = pausing.project_id;
  ++pausing_[project];
  Status s;
  {
    const AtScopeEnd paused{[this, project] {
      if (auto it = pausing_.find(project); it != pausing_.end() && --it->second <= 0) {
        pausing_.erase(it);
      }
    }};
    auto pause = [this, id] { return provider_.Pause(id); };
    s = co_await CallProvider("pause", pause);
  }
  LifecycleEvent ev =
      Command(s.ok() ? EventType::kPaused : EventType::kPauseFailed, project, source);
  ev.sandbox_id = id;
  if (!s.ok()) {
    SBX_LOG_WARN("pause of {} ({}) failed: {}", project, id, s.ToString());
    ev.error = core::LastError{"pause_failed", s.message(), clock_.Now()};
  }
  auto r = co_await Apply(ev);
  if (!r.ok()) SBX_LOG_ERROR("recording pause of {}: {}", project, r.error().ToString());
  co_return s;
}

net::awaitable<void> Lifecycle::FinishPause(Sandbox pausing, EventSource source) {
  (void)co_await PauseClaimed(pausing, source);
}

net::awaitable<Result<Sandbox>> Lifecycle::Pause(const std::string& project_id) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  if (current->status == SandboxStatus::kPausing || current->status == SandboxStatus::kPaused) {
    co_return *current;
  }
  LifecycleEvent ev = Command(EventType::kPauseRequested, project_id, EventSource::kApi);
  ev.inputs = DecisionInputs({.trigger = "request"});
  auto r = co_await Apply(ev);
  if (!r.ok()) co_return r.error();
  Sandbox pausing = *r->sandbox;
  Background(co_await net::this_coro::executor, FinishPause(pausing, EventSource::kApi));
  co_return pausing;
}

net::awaitable<PauseResult> Lifecycle::PauseIfIdle(const std::string& project_id,
                                                   const Decider& by) {
  auto current = read_model_.Get(project_id);
  if (!current || !core::IsIdleDue(*current, clock_.Now())) co_return PauseResult{};
  // The claim re-checks idleness against the record it replaces: activity
  // committed after our read bumps the version, fails the compare-and-set and
  // is seen here on the retry.
  Precondition still_idle = [this](const Sandbox& s) -> Status {
    if (!core::IsIdleDue(s, clock_.Now())) return FailedPrecondition("no longer idle");
    return OkStatus();
  };
  LifecycleEvent claim = Command(EventType::kPauseRequested, project_id, EventSource::kEnforcer);
  claim.inputs = DecisionInputs(by);
  auto claimed = co_await Apply(claim, still_idle);
  if (!claimed.ok()) {
    if (claimed.error().code() == StatusCode::kFailedPrecondition) co_return PauseResult{};
    co_return PauseResult{PauseDecision::kFailed, claimed.error().message()};
  }
  Status s = co_await PauseClaimed(*claimed->sandbox, EventSource::kEnforcer);
  if (!s.ok()) {
    co_return PauseResult{PauseDecision::kFailed, fmt::format("{}: {}", project_id, s.message())};
  }
  co_return PauseResult{PauseDecision::kPaused, ""};
}

net::awaitable<Status> Lifecycle::Kill(const std::string& project_id) {
  // The record is written KILLED only if it still names the sandbox that was
  // killed: a create that committed meanwhile (the kill read STARTING with
  // no sandbox yet) gets its sandbox killed on the next turn, not leaked.
  constexpr int kTurns = 3;
  for (int turn = 1;; ++turn) {
    auto current = read_model_.Get(project_id);
    if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
    if (current->status == SandboxStatus::kKilled) co_return OkStatus();
    const std::string id = current->sandbox_id;
    if (!id.empty()) {
      Status s = co_await KillAtProvider(id);
      if (!s.ok()) {
        co_return s.WithContext(fmt::format("kill sandbox {} of project {}", id, project_id));
      }
    }
    LifecycleEvent ev = Command(EventType::kKilled, project_id, EventSource::kApi);
    ev.sandbox_id = id;
    Precondition same_sandbox = [id](const Sandbox& s) -> Status {
      if (s.status != SandboxStatus::kKilled && s.sandbox_id != id) {
        return FailedPrecondition("the project was given another sandbox meanwhile");
      }
      return OkStatus();
    };
    auto r = co_await Apply(ev, same_sandbox);
    if (r.ok()) {
      // Creates begun before it must not record theirs.
      if (auto w = kill_watch_.find(project_id); w != kill_watch_.end()) ++w->second.kills;
    }
    if (r.ok() || r.error().code() != StatusCode::kFailedPrecondition || turn == kTurns) {
      co_return r.status();
    }
  }
}

net::awaitable<Result<int64_t>> Lifecycle::Forget(const std::string& project_id,
                                                  bool remove_history) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  if (current->status != SandboxStatus::kKilled) {
    co_return FailedPrecondition(fmt::format(
        "the sandbox of project {} is {}: only a killed project can be forgotten (kill it "
        "first)",
        project_id, core::StatusName(current->status)));
  }
  const SystemTime now = TruncateToMillis(clock_.Now());
  store::HistoryRow row{.project_id = project_id,
                        .sandbox_id = current->sandbox_id,
                        .type = "forgotten",
                        .source = std::string(core::EventSourceName(EventSource::kApi)),
                        .outcome = "applied",
                        .at = now,
                        .recorded_at = now,
                        .detail = remove_history ? "record and history forgotten"
                                                 : "record forgotten, history kept"};
  const int64_t version = current->version;
  auto forget = [this, project_id, version, row, remove_history] {
    return store_.ForgetSandbox(project_id, version, row, remove_history);
  };
  auto removed = co_await store_pool_.Run(forget);
  if (!removed.ok()) co_return removed.status();
  RemoveRecord(project_id, version + 1);
  SBX_LOG_INFO("project {} forgotten ({} history rows removed)", project_id, *removed);
  co_return *removed;
}

net::awaitable<Status> Lifecycle::RecordActivity(const std::string& project_id,
                                                 EventSource source) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  LifecycleEvent ev = Command(EventType::kActivity, project_id, source);
  ev.id.clear();  // activity is not deduplicated or kept in history
  // Coalescing: a request whose time is already covered by the stored
  // lastActivityAt (same millisecond) needs no write.
  if (TruncateToMillis(ev.timestamp) <= current->last_activity_at) co_return OkStatus();
  metrics_.Inc("sandboxd_activity_total", {{"source", std::string(core::EventSourceName(source))}},
               1, "Activity writes, by source (api: clients; presence: open SSE streams; preview: gateway)");
  auto r = co_await Apply(ev);
  co_return r.status();
}

net::awaitable<Result<Sandbox>> Lifecycle::SetIdleTimeout(const std::string& project_id,
                                                          int64_t idle_timeout_s) {
  // Named, not a temporary in the co_await: GCC 12 mishandles those.
  SettingsChange change{.idle_timeout_s = idle_timeout_s};
  co_return co_await ChangeSettings(project_id, std::move(change));
}

net::awaitable<Result<Sandbox>> Lifecycle::ChangeSettings(const std::string& project_id,
                                                          SettingsChange change,
                                                          Precondition precondition) {
  if (change.idle_timeout_s && *change.idle_timeout_s <= 0) {
    co_return InvalidArgument("idleTimeoutSeconds must be greater than 0");
  }
  if (change.idle_policy && !change.idle_policy->empty()) {
    Status named = policy::CheckPolicyName(*change.idle_policy);
    if (!named.ok()) co_return named;
  }
  LifecycleEvent ev = Command(EventType::kSettingsChanged, project_id, change.source);
  if (change.detail.empty()) ev.id.clear();  // no history row to name it
  ev.idle_timeout_s = change.idle_timeout_s;
  ev.idle_policy = std::move(change.idle_policy);
  ev.detail = std::move(change.detail);
  ev.inputs = std::move(change.inputs);
  auto r = co_await Apply(ev, std::move(precondition));
  if (!r.ok()) co_return r.error();
  co_return *r->sandbox;
}

net::awaitable<Result<Sandbox>> Lifecycle::PlaceHold(const std::string& project_id,
                                                     std::string name, std::chrono::seconds ttl,
                                                     core::EventSource source) {
  if (ttl <= std::chrono::seconds(0) || ttl > options_.max_hold_ttl) {
    co_return InvalidArgument(fmt::format("ttlSeconds must be between 1 and {} (--max-hold-ttl)",
                                          options_.max_hold_ttl.count()));
  }
  LifecycleEvent ev = Command(EventType::kHoldPlaced, project_id, source);
  ev.hold_name = name;
  ev.hold_until = TruncateToMillis(clock_.Now() + ttl);
  const size_t max_holds = options_.max_holds;
  const SystemTime now = clock_.Now();
  Precondition room = [name, max_holds, now](const Sandbox& current) -> Status {
    if (current.status != SandboxStatus::kStarting && current.status != SandboxStatus::kRunning) {
      return FailedPrecondition(
          fmt::format("sandbox of project {} is {}: holds keep a running sandbox awake; wake it "
                      "first",
                      current.project_id, core::StatusName(current.status)));
    }
    size_t live = 0;
    for (const auto& [n, expires_at] : current.holds) {
      if (n != name && expires_at > now) ++live;
    }
    if (live >= max_holds) {
      return FailedPrecondition(fmt::format(
          "sandbox of project {} already has {} holds (the most one sandbox may have)",
          current.project_id, max_holds));
    }
    return OkStatus();
  };
  auto r = co_await Apply(ev, room);
  if (!r.ok()) co_return r.error();
  co_return *r->sandbox;
}

net::awaitable<Result<Sandbox>> Lifecycle::ReleaseHold(const std::string& project_id,
                                                       std::string name) {
  LifecycleEvent ev = Command(EventType::kHoldReleased, project_id, EventSource::kApi);
  ev.hold_name = name;
  const SystemTime now = clock_.Now();
  Precondition held = [name, now](const Sandbox& current) -> Status {
    auto it = current.holds.find(name);
    if (it == current.holds.end() || it->second <= now) {
      return NotFound(
          fmt::format("sandbox of project {} has no hold named \"{}\"", current.project_id, name));
    }
    return OkStatus();
  };
  auto r = co_await Apply(ev, held);
  if (!r.ok()) co_return r.error();
  co_return *r->sandbox;
}

net::awaitable<Result<provider::OutputChunk>> Lifecycle::ReadOutput(const std::string& project_id,
                                                                    provider::OutputQuery query) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  if (current->sandbox_id.empty()) {
    co_return NotFound(fmt::format("project {} has no sandbox yet", project_id));
  }
  const std::string id = current->sandbox_id;
  auto read = [this, id, query] { return provider_.ReadOutput(id, query); };
  co_return co_await provider_pool_.Run(read);
}

net::awaitable<Status> Lifecycle::ExtendProviderTimeout(const std::string& project_id,
                                                        std::chrono::seconds ttl,
                                                        const Decider& by,
                                                        boost::json::object seen) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  if (current->status != SandboxStatus::kRunning) {
    co_return FailedPrecondition(fmt::format("sandbox of project {} is not RUNNING", project_id));
  }
  const std::string id = current->sandbox_id;
  auto set = [this, id, ttl] { return provider_.SetTimeout(id, ttl); };
  Status s = co_await CallProvider("set_timeout", set);
  if (!s.ok()) co_return s;
  LifecycleEvent ev = Command(EventType::kUpdated, project_id, EventSource::kKeepAlive);
  ev.id.clear();  // bookkeeping, not a provider event
  ev.sandbox_id = id;
  ev.end_at = TruncateToMillis(clock_.Now() + ttl);
  seen["ttlSeconds"] = ttl.count();
  ev.inputs = DecisionInputs(by, std::move(seen));
  auto r = co_await Apply(ev);
  co_return r.status();
}

}  // namespace sbx::lifecycle
