#include "lifecycle/lifecycle.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "base/log.h"
#include "core/transition.h"

namespace sbx::lifecycle {
namespace {

using core::EventSource;
using core::EventType;
using core::LifecycleEvent;
using core::Sandbox;
using core::SandboxStatus;

using core::IsProviderFact;

// Activity and settings changes move a record but are not lifecycle history.
bool WritesHistory(EventType t) {
  return t != EventType::kActivity && t != EventType::kSettingsChanged;
}

std::string TypeText(const LifecycleEvent& e) {
  return e.raw_type.empty() ? std::string(core::EventTypeName(e.type)) : e.raw_type;
}

}  // namespace

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kApplied: return "applied";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kStale: return "stale";
    case Outcome::kIgnored: return "ignored";
    case Outcome::kOrphan: return "orphan";
  }
  return "applied";
}

// One queued event and how to hand its result to the coroutine awaiting it.
struct Lifecycle::PendingApply {
  LifecycleEvent event;
  Precondition precondition;
  Result<ApplyResult> result = Internal("event was not written");
  std::function<void(Result<ApplyResult>)> complete;  // resumes the caller on its executor
};

// The records as the batch being written sees them: what its earlier events
// changed (written, not yet committed) over the read model. The read model
// learns of the changes only once the batch commits.
class Lifecycle::BatchView {
 public:
  explicit BatchView(const ReadModel& committed) : committed_(committed) {}

  std::optional<Sandbox> Get(const std::string& project_id) const {
    if (auto it = changed_.find(project_id); it != changed_.end()) return it->second;
    return committed_.Get(project_id);
  }

  std::optional<std::string> ProjectOfSandbox(const std::string& sandbox_id) const {
    if (sandbox_id.empty()) return std::nullopt;
    if (auto it = project_by_sandbox_.find(sandbox_id); it != project_by_sandbox_.end()) {
      return it->second;
    }
    auto project = committed_.ProjectOfSandbox(sandbox_id);
    if (project) {
      // The batch gave that project another sandbox since.
      auto it = changed_.find(*project);
      if (it != changed_.end() && it->second.sandbox_id != sandbox_id) return std::nullopt;
    }
    return project;
  }

  bool Changed(const std::string& project_id) const { return changed_.contains(project_id); }

  void Put(const Sandbox& s) {
    auto [it, inserted] = changed_.try_emplace(s.project_id, s);
    if (!inserted) {
      if (it->second.sandbox_id != s.sandbox_id) project_by_sandbox_.erase(it->second.sandbox_id);
      it->second = s;
    }
    if (!s.sandbox_id.empty()) project_by_sandbox_[s.sandbox_id] = s.project_id;
    order_.push_back(s);
  }

  // Every change in the order it was written.
  const std::vector<Sandbox>& order() const { return order_; }

 private:
  const ReadModel& committed_;
  std::unordered_map<std::string, Sandbox> changed_;
  std::unordered_map<std::string, std::string> project_by_sandbox_;
  std::vector<Sandbox> order_;
};

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
      options_(std::move(options)) {}

Lifecycle::~Lifecycle() = default;

Status Lifecycle::Load() {
  SBX_ASSIGN_OR_RETURN(auto all, store_.LoadSandboxes());
  read_model_.Reset(all);
  return OkStatus();
}

Status Lifecycle::Observe(const std::string& project_id, int64_t version) {
  if (read_model_.Version(project_id) >= version) return OkStatus();  // own commit, or seen
  SBX_ASSIGN_OR_RETURN(Sandbox s, store_.GetSandbox(project_id));
  if (read_model_.Put(s)) bus_.Publish(s);
  return OkStatus();
}

Result<int> Lifecycle::Resync() {
  SBX_ASSIGN_OR_RETURN(auto all, store_.LoadSandboxes());
  int changed = 0;
  for (const Sandbox& s : all) {
    if (read_model_.Put(s)) {
      bus_.Publish(s);
      ++changed;
    }
  }
  return changed;
}

Result<Sandbox> Lifecycle::Get(const std::string& project_id) const {
  auto s = read_model_.Get(project_id);
  if (!s) return NotFound(fmt::format("project {} has no sandbox", project_id));
  return *s;
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

Status Lifecycle::RecordOutcome(const LifecycleEvent& event, const std::string& project_id,
                                Outcome outcome, const std::string& detail) {
  store::HistoryRow row;
  row.project_id = project_id;
  row.sandbox_id = event.sandbox_id;
  row.event_id = event.id;
  row.type = TypeText(event);
  row.source = std::string(core::EventSourceName(event.source));
  row.outcome = std::string(OutcomeName(outcome));
  row.at = TruncateToMillis(event.timestamp);
  row.recorded_at = TruncateToMillis(clock_.Now());
  row.detail = detail;
  if (outcome == Outcome::kDuplicate) return store_.AppendHistory(row);
  Status s = store_.RecordEvent(event.id, row);
  if (s.code() == StatusCode::kAlreadyExists) {
    row.outcome = std::string(OutcomeName(Outcome::kDuplicate));
    return store_.AppendHistory(row);
  }
  return s;
}

std::string Lifecycle::ResolveProject(const LifecycleEvent& event, const BatchView& view) const {
  if (auto p = view.ProjectOfSandbox(event.sandbox_id)) return *p;
  // Not a sandbox we know: adopt it if its metadata names a project that is
  // waiting for one (sandboxd asked for it and the provider's events came
  // before the create call returned), or on `created`, one whose last
  // sandbox was killed or that has none yet.
  auto it = event.metadata.find("projectId");
  if (it == event.metadata.end() || it->second.empty()) return "";
  auto current = view.Get(it->second);
  if (!current) return event.type == EventType::kCreated ? it->second : "";
  if (current->sandbox_id.empty()) return it->second;
  if (event.type == EventType::kCreated && current->status == SandboxStatus::kKilled) {
    return it->second;
  }
  return "";
}

Result<ApplyResult> Lifecycle::ApplyOne(const LifecycleEvent& event,
                                        const Precondition& precondition, BatchView& view) {
  metrics_.Inc("sandboxd_events_total",
               {{"source", std::string(core::EventSourceName(event.source))}}, 1,
               "Lifecycle events seen, by source");
  const bool fact = IsProviderFact(event.type);
  if (!event.id.empty() && fact) {
    SBX_ASSIGN_OR_RETURN(bool seen, store_.IsEventProcessed(event.id));
    if (seen) {
      std::string project = event.project_id;
      if (project.empty()) project = view.ProjectOfSandbox(event.sandbox_id).value_or("");
      SBX_RETURN_IF_ERROR(RecordOutcome(event, project, Outcome::kDuplicate, ""));
      return ApplyResult{Outcome::kDuplicate, view.Get(project)};
    }
  }
  // Find the project: by id for commands, by sandbox id for provider events,
  // or adopt a sandbox we created whose `created` event came first.
  std::string project = event.project_id;
  if (fact && project.empty()) project = ResolveProject(event, view);
  std::optional<Sandbox> current;
  if (!project.empty()) current = view.Get(project);
  if (fact && (project.empty() || (!current && event.type != EventType::kCreated))) {
    SBX_RETURN_IF_ERROR(RecordOutcome(event, "", Outcome::kOrphan,
                                      fmt::format("no project has sandbox {}", event.sandbox_id)));
    return ApplyResult{Outcome::kOrphan, std::nullopt};
  }
  for (int attempt = 0;; ++attempt) {
    if (fact && current) {
      const bool other_sandbox = !current->sandbox_id.empty() && !event.sandbox_id.empty() &&
                                 current->sandbox_id != event.sandbox_id;
      const bool adopting = event.type == EventType::kCreated &&
                            (current->status == SandboxStatus::kKilled ||
                             current->sandbox_id.empty());
      if (other_sandbox && !adopting) {
        SBX_RETURN_IF_ERROR(RecordOutcome(
            event, project, Outcome::kStale,
            fmt::format("event for sandbox {}, project now has {}", event.sandbox_id,
                        current->sandbox_id)));
        return ApplyResult{Outcome::kStale, current};
      }
      if (event.timestamp < current->last_event_at) {
        SBX_RETURN_IF_ERROR(RecordOutcome(
            event, project, Outcome::kStale,
            fmt::format("older than the newest applied event ({})",
                        FormatRfc3339(current->last_event_at))));
        return ApplyResult{Outcome::kStale, current};
      }
    }
    if (event.type == EventType::kUnknown) {
      SBX_RETURN_IF_ERROR(RecordOutcome(event, project, Outcome::kIgnored,
                                        "unknown event type " + event.raw_type));
      return ApplyResult{Outcome::kIgnored, current};
    }
    if (precondition) {
      if (!current) return NotFound(fmt::format("project {} has no sandbox", project));
      SBX_RETURN_IF_ERROR(precondition(*current));
    }
    LifecycleEvent e = event;
    e.project_id = project;
    SBX_ASSIGN_OR_RETURN(Sandbox next, core::ApplyEvent(current, e, clock_.Now()));
    std::optional<store::HistoryRow> row;
    if (WritesHistory(event.type)) {
      row.emplace();
      row->project_id = project;
      row->sandbox_id = next.sandbox_id.empty() ? event.sandbox_id : next.sandbox_id;
      row->event_id = event.id;
      row->type = TypeText(event);
      row->source = std::string(core::EventSourceName(event.source));
      row->outcome = std::string(OutcomeName(Outcome::kApplied));
      row->at = TruncateToMillis(event.timestamp);
      row->recorded_at = next.updated_at;
      row->status = std::string(core::StatusName(next.status));
      if (event.error) row->detail = event.error->message;
    }
    const int64_t expected = current ? current->version : 0;
    Status s = store_.CommitTransition(next, expected, fact ? event.id : "", row);
    if (s.ok()) {
      view.Put(next);
      return ApplyResult{Outcome::kApplied, next};
    }
    if (s.code() == StatusCode::kAlreadyExists) {
      SBX_RETURN_IF_ERROR(RecordOutcome(event, project, Outcome::kDuplicate, ""));
      return ApplyResult{Outcome::kDuplicate, current};
    }
    if (s.code() != StatusCode::kFailedPrecondition || attempt + 1 >= options_.max_apply_retries) {
      return s.WithContext(fmt::format("apply {} to project {}", TypeText(event), project));
    }
    // Someone else (another replica) committed first: reload and re-decide.
    auto fresh = store_.GetSandbox(project);
    if (fresh.ok()) {
      // Committed by someone else, unless this batch changed it (then it is
      // this transaction's own write, which the read model gets at commit).
      if (!view.Changed(project)) read_model_.Put(*fresh);
      current = *fresh;
    } else if (fresh.error().code() == StatusCode::kNotFound) {
      current.reset();
    } else {
      return fresh.error();
    }
  }
}

net::awaitable<Result<ApplyResult>> Lifecycle::Apply(LifecycleEvent event,
                                                     Precondition precondition) {
  return net::async_initiate<const net::use_awaitable_t<>, void(Result<ApplyResult>)>(
      [this](auto handler, LifecycleEvent ev, Precondition pre) {
        auto ex = net::get_associated_executor(handler);
        // std::function needs a copyable callable; the handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto pending = std::make_unique<PendingApply>();
        pending->event = std::move(ev);
        pending->precondition = std::move(pre);
        pending->complete = [ex, shared](Result<ApplyResult> r) {
          net::post(ex, [shared, r = std::move(r)]() mutable {
            auto& resume = *shared;
            std::move(resume)(std::move(r));
          });
        };
        Enqueue(std::move(pending));
      },
      net::use_awaitable, std::move(event), std::move(precondition));
}

void Lifecycle::Enqueue(std::unique_ptr<PendingApply> pending) {
  {
    std::lock_guard lock(queue_mu_);
    queue_.push_back(std::move(pending));
    if (writer_active_) return;  // the running writer takes it in its next batch
    writer_active_ = true;
  }
  store_pool_.Post([this] { DrainQueue(); });
}

void Lifecycle::DrainQueue() {
  for (;;) {
    std::vector<std::unique_ptr<PendingApply>> batch;
    {
      std::lock_guard lock(queue_mu_);
      if (queue_.empty()) {
        writer_active_ = false;
        return;
      }
      const size_t n = std::min(queue_.size(), std::max<size_t>(options_.max_batch, 1));
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    WriteBatch(batch);
    for (auto& p : batch) p->complete(std::move(p->result));
  }
}

void Lifecycle::WriteBatch(std::vector<std::unique_ptr<PendingApply>>& batch) {
  BatchView view(read_model_);
  Status committed = store_.Batch([&]() -> Status {
    for (auto& p : batch) {
      try {
        p->result = ApplyOne(p->event, p->precondition, view);
      } catch (const std::exception& e) {
        // Never leave a caller waiting or the transaction open: a throw
        // here is a bug, reported as one.
        p->result = Internal(fmt::format("bug: applying an event threw: {}", e.what()));
      }
    }
    return OkStatus();
  });
  if (!committed.ok()) {
    SBX_LOG_ERROR("commit of {} events failed: {}", batch.size(), committed.ToString());
    for (auto& p : batch) p->result = committed;
    return;
  }
  metrics_.Inc("sandboxd_store_commits_total", {}, 1,
               "Store transactions that committed lifecycle events (group commit: "
               "sandboxd_events_total / this = events per commit)");
  for (const Sandbox& s : view.order()) {
    read_model_.Put(s);
    bus_.Publish(s);
  }
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

net::awaitable<Result<Sandbox>> Lifecycle::ProvisionNew(const std::string& project_id,
                                                        EventSource source) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  provider::CreateRequest req;
  req.project_id = project_id;
  req.template_name = current->template_name;
  req.metadata = current->metadata;
  req.metadata["projectId"] = project_id;
  // Callables are named before co_await: GCC 12 destroys a temporary
  // lambda argument of a coroutine twice.
  auto create = [this, req] { return provider_.Create(req); };
  auto created = co_await CallProvider("create", create);
  if (!created.ok()) {
    LifecycleEvent failed = Command(EventType::kCreateFailed, project_id, source);
    failed.error = core::LastError{"create_failed", created.error().message(), clock_.Now()};
    auto r = co_await Apply(failed);
    if (!r.ok()) SBX_LOG_ERROR("recording create failure of {}: {}", project_id, r.error().ToString());
    co_return created.error().WithContext(fmt::format("create sandbox for project {}", project_id));
  }
  if (auto now = read_model_.Get(project_id); now && now->status == SandboxStatus::kKilled) {
    // Killed while the provider was still creating it: do not resurrect it.
    const std::string id = created->sandbox_id;
    auto kill = [this, id] { return provider_.Kill(id); };
    Status killed = co_await CallProvider("kill", kill);
    if (!killed.ok()) SBX_LOG_WARN("removing {} (killed during create): {}", id, killed.ToString());
    co_return FailedPrecondition(
        fmt::format("sandbox of project {} was killed while being created", project_id));
  }
  LifecycleEvent ev = Command(EventType::kCreated, project_id, source);
  ev.sandbox_id = created->sandbox_id;
  ev.url = created->url;
  ev.metadata = req.metadata;
  ev.end_at = created->end_at;
  auto applied = co_await Apply(ev);
  if (!applied.ok()) co_return applied.error();
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
  auto started = co_await Apply(req);
  if (!started.ok()) {
    if (started.error().code() == StatusCode::kFailedPrecondition) {
      // Another request created it first.
      if (auto current = read_model_.Get(project_id)) co_return CreateResult{*current, false};
    }
    co_return started.error();
  }
  auto running = co_await ProvisionNew(project_id, options.source);
  if (!running.ok()) co_return running.error();
  co_return CreateResult{*running, true};
}

net::awaitable<void> Lifecycle::FinishWake(Sandbox starting) {
  const std::string project = starting.project_id;
  if (starting.sandbox_id.empty()) {
    auto r = co_await ProvisionNew(project, EventSource::kApi);
    if (!r.ok()) SBX_LOG_WARN("wake of {} failed: {}", project, r.error().ToString());
    co_return;
  }
  const std::string id = starting.sandbox_id;
  auto resume = [this, id] { return provider_.Resume(id); };
  auto resumed = co_await CallProvider("resume", resume);
  if (resumed.ok()) {
    LifecycleEvent ev = Command(EventType::kResumed, project, EventSource::kApi);
    ev.sandbox_id = id;
    if (resumed->url) ev.url = resumed->url;
    auto r = co_await Apply(ev);
    if (!r.ok()) SBX_LOG_ERROR("recording resume of {}: {}", project, r.error().ToString());
    co_return;
  }
  SBX_LOG_WARN("resume of {} ({}) failed: {}", project, id, resumed.error().ToString());
  if (resumed.error().code() == StatusCode::kNotFound) {
    // The sandbox is gone at the provider: record that and make a new one.
    LifecycleEvent gone = Command(EventType::kKilled, project, EventSource::kRuntime);
    gone.sandbox_id = id;
    (void)co_await Apply(gone);
    LifecycleEvent req = Command(EventType::kCreateRequested, project, EventSource::kApi);
    if ((co_await Apply(req)).ok()) (void)co_await ProvisionNew(project, EventSource::kApi);
    co_return;
  }
  LifecycleEvent failed = Command(EventType::kResumeFailed, project, EventSource::kApi);
  failed.error = core::LastError{"resume_failed", resumed.error().message(), clock_.Now()};
  auto r = co_await Apply(failed);
  if (!r.ok()) SBX_LOG_ERROR("recording resume failure of {}: {}", project, r.error().ToString());
}

net::awaitable<Result<Sandbox>> Lifecycle::Wake(const std::string& project_id) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  switch (current->status) {
    case SandboxStatus::kRunning:
    case SandboxStatus::kStarting:
      co_return *current;
    case SandboxStatus::kPausing:
      co_return FailedPrecondition(fmt::format(
          "sandbox of project {} is PAUSING; wake it once it is PAUSED", project_id));
    case SandboxStatus::kPaused:
    case SandboxStatus::kKilled:
      break;
  }
  const EventType type = current->status == SandboxStatus::kPaused ? EventType::kWakeRequested
                                                                    : EventType::kCreateRequested;
  LifecycleEvent ev = Command(type, project_id, EventSource::kApi);
  auto r = co_await Apply(ev);
  if (!r.ok()) {
    // Lost the race to a concurrent wake: that one resumes; report its state.
    if (r.error().code() == StatusCode::kFailedPrecondition) {
      if (auto now = read_model_.Get(project_id)) co_return *now;
    }
    co_return r.error();
  }
  Sandbox starting = *r->sandbox;
  auto ex = co_await net::this_coro::executor;
  net::co_spawn(ex, FinishWake(starting), net::detached);
  co_return starting;
}

net::awaitable<void> Lifecycle::FinishPause(Sandbox pausing, EventSource source) {
  const std::string id = pausing.sandbox_id;
  auto pause = [this, id] { return provider_.Pause(id); };
  Status s = co_await CallProvider("pause", pause);
  LifecycleEvent ev = Command(s.ok() ? EventType::kPaused : EventType::kPauseFailed,
                              pausing.project_id, source);
  ev.sandbox_id = id;
  if (!s.ok()) {
    SBX_LOG_WARN("pause of {} ({}) failed: {}", pausing.project_id, id, s.ToString());
    ev.error = core::LastError{"pause_failed", s.message(), clock_.Now()};
  }
  auto r = co_await Apply(ev);
  if (!r.ok()) SBX_LOG_ERROR("recording pause of {}: {}", pausing.project_id, r.error().ToString());
}

net::awaitable<Result<Sandbox>> Lifecycle::Pause(const std::string& project_id) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  if (current->status == SandboxStatus::kPausing || current->status == SandboxStatus::kPaused) {
    co_return *current;
  }
  LifecycleEvent ev = Command(EventType::kPauseRequested, project_id, EventSource::kApi);
  auto r = co_await Apply(ev);
  if (!r.ok()) co_return r.error();
  Sandbox pausing = *r->sandbox;
  auto ex = co_await net::this_coro::executor;
  net::co_spawn(ex, FinishPause(pausing, EventSource::kApi), net::detached);
  co_return pausing;
}

net::awaitable<PauseDecision> Lifecycle::PauseIfIdle(const std::string& project_id,
                                                     std::string* error_out) {
  auto current = read_model_.Get(project_id);
  if (!current || !core::IsIdleDue(*current, clock_.Now())) co_return PauseDecision::kNotDue;
  // The claim re-checks idleness against the record it replaces: activity
  // committed after our read bumps the version, fails the compare-and-set and
  // is seen here on the retry.
  Precondition still_idle = [this](const Sandbox& s) -> Status {
    if (!core::IsIdleDue(s, clock_.Now())) return FailedPrecondition("no longer idle");
    return OkStatus();
  };
  LifecycleEvent claim = Command(EventType::kPauseRequested, project_id, EventSource::kEnforcer);
  auto claimed = co_await Apply(claim, still_idle);
  if (!claimed.ok()) {
    if (claimed.error().code() == StatusCode::kFailedPrecondition) co_return PauseDecision::kNotDue;
    if (error_out) *error_out = claimed.error().message();
    co_return PauseDecision::kFailed;
  }
  const std::string id = claimed->sandbox->sandbox_id;
  auto pause = [this, id] { return provider_.Pause(id); };
  Status s = co_await CallProvider("pause", pause);
  LifecycleEvent ev = Command(s.ok() ? EventType::kPaused : EventType::kPauseFailed, project_id,
                              EventSource::kEnforcer);
  ev.sandbox_id = id;
  if (!s.ok()) ev.error = core::LastError{"pause_failed", s.message(), clock_.Now()};
  auto r = co_await Apply(ev);
  if (!r.ok()) {
    SBX_LOG_ERROR("recording enforcer pause of {}: {}", project_id, r.error().ToString());
  }
  if (!s.ok()) {
    if (error_out) *error_out = fmt::format("{}: {}", project_id, s.message());
    co_return PauseDecision::kFailed;
  }
  co_return PauseDecision::kPaused;
}

net::awaitable<Status> Lifecycle::Kill(const std::string& project_id) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  if (current->status == SandboxStatus::kKilled) co_return OkStatus();
  if (!current->sandbox_id.empty()) {
    const std::string id = current->sandbox_id;
    auto kill = [this, id] { return provider_.Kill(id); };
    Status s = co_await CallProvider("kill", kill);
    if (!s.ok()) co_return s.WithContext(fmt::format("kill sandbox {} of project {}", id, project_id));
  }
  LifecycleEvent ev = Command(EventType::kKilled, project_id, EventSource::kApi);
  ev.sandbox_id = current->sandbox_id;
  auto r = co_await Apply(ev);
  co_return r.status();
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
  auto r = co_await Apply(ev);
  co_return r.status();
}

net::awaitable<Result<Sandbox>> Lifecycle::SetIdleTimeout(const std::string& project_id,
                                                          int64_t idle_timeout_s) {
  if (idle_timeout_s <= 0) co_return InvalidArgument("idleTimeoutSeconds must be greater than 0");
  LifecycleEvent ev = Command(EventType::kSettingsChanged, project_id, EventSource::kApi);
  ev.id.clear();
  ev.idle_timeout_s = idle_timeout_s;
  auto r = co_await Apply(ev);
  if (!r.ok()) co_return r.error();
  co_return *r->sandbox;
}

net::awaitable<Status> Lifecycle::ExtendProviderTimeout(const std::string& project_id,
                                                        std::chrono::seconds ttl) {
  auto current = read_model_.Get(project_id);
  if (!current) co_return NotFound(fmt::format("project {} has no sandbox", project_id));
  if (current->status != SandboxStatus::kRunning) {
    co_return FailedPrecondition(fmt::format("sandbox of project {} is not RUNNING", project_id));
  }
  const std::string id = current->sandbox_id;
  auto set = [this, id, ttl] { return provider_.SetTimeout(id, ttl); };
  Status s = co_await CallProvider("set_timeout", set);
  if (!s.ok()) co_return s;
  LifecycleEvent ev = Command(EventType::kUpdated, project_id, EventSource::kApi);
  ev.id.clear();  // bookkeeping, not a provider event
  ev.sandbox_id = id;
  ev.end_at = TruncateToMillis(clock_.Now() + ttl);
  auto r = co_await Apply(ev);
  co_return r.status();
}

net::awaitable<Result<int>> Lifecycle::Reconcile(std::chrono::seconds in_flight_grace) {
  auto list = [this] { return provider_.List(); };
  auto listed = co_await CallProvider("list", list);
  if (!listed.ok()) co_return listed.error().WithContext("reconcile: list provider sandboxes");
  if (!listed->complete) co_return Unavailable("reconcile: provider listing incomplete");
  std::map<std::string, provider::ProviderSandbox> by_id;
  std::map<std::string, provider::ProviderSandbox> by_project;
  for (const auto& p : listed->sandboxes) {
    by_id[p.sandbox_id] = p;
    if (auto it = p.metadata.find("projectId"); it != p.metadata.end()) by_project[it->second] = p;
  }
  int repaired = 0;
  const SystemTime now = clock_.Now();
  for (const Sandbox& s : read_model_.All()) {
    if (s.status == SandboxStatus::kKilled) continue;
    const bool in_flight =
        s.status == SandboxStatus::kStarting || s.status == SandboxStatus::kPausing;
    if (in_flight && now - s.updated_at < in_flight_grace) continue;
    LifecycleEvent ev = Command(EventType::kUnknown, s.project_id, EventSource::kReconciler);
    ev.sandbox_id = s.sandbox_id;
    const provider::ProviderSandbox* p = nullptr;
    if (auto it = by_id.find(s.sandbox_id); !s.sandbox_id.empty() && it != by_id.end()) {
      p = &it->second;
    } else if (s.sandbox_id.empty()) {
      if (auto jt = by_project.find(s.project_id); jt != by_project.end()) p = &jt->second;
    }
    if (!p) {
      if (s.sandbox_id.empty()) {
        // A create that never finished (crash): nothing runs for it.
        if (s.status != SandboxStatus::kStarting) continue;
        ev.type = EventType::kCreateFailed;
        ev.error = core::LastError{"create_interrupted",
                                   "sandboxd stopped while creating this sandbox", clock_.Now()};
      } else {
        ev.type = EventType::kKilled;
      }
    } else if (p->state == provider::ProviderState::kRunning &&
               s.status == SandboxStatus::kPausing) {
      // A pause claimed by a replica that died before calling the provider:
      // back to RUNNING with its idle clock untouched, so it is still due.
      ev.type = EventType::kPauseFailed;
      ev.error = core::LastError{"pause_interrupted",
                                 "the pause was claimed but never reached the provider",
                                 clock_.Now()};
    } else if (p->state == provider::ProviderState::kRunning &&
               s.status != SandboxStatus::kRunning) {
      ev.type = s.sandbox_id.empty() ? EventType::kCreated : EventType::kResumed;
      ev.sandbox_id = p->sandbox_id;
      ev.url = p->url;
    } else if (p->state == provider::ProviderState::kPaused &&
               s.status != SandboxStatus::kPaused) {
      ev.type = EventType::kPaused;
      ev.sandbox_id = p->sandbox_id;
    } else {
      continue;
    }
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
