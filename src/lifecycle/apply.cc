#include "lifecycle/apply.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <algorithm>
#include <exception>
#include <unordered_map>
#include <unordered_set>

#include "base/log.h"
#include "core/transition.h"

namespace sbx::lifecycle {
namespace {

using core::EventType;
using core::LifecycleEvent;
using core::Sandbox;
using core::SandboxStatus;

// A group commit this slow is logged (it holds up every decision waiting for it).
constexpr std::chrono::milliseconds kSlowCommit{1000};

// Activity and settings changes move a record but are not lifecycle history,
// except a settings change that says why (the idle policy's, a change of
// policy).
bool WritesHistory(const LifecycleEvent& e) {
  if (e.type == EventType::kSettingsChanged) return !e.detail.empty();
  return e.type != EventType::kActivity;
}

// An applied event's history detail: the error it reports, the hold it
// places or releases, or the reason it gives.
std::string Detail(const LifecycleEvent& e) {
  if (e.error) return e.error->message;
  if (!e.detail.empty()) return e.detail;
  if (e.type == EventType::kHoldPlaced && e.hold_until) {
    return fmt::format("{} until {}", e.hold_name, FormatRfc3339(*e.hold_until));
  }
  if (e.type == EventType::kHoldReleased) return e.hold_name;
  return "";
}

// `inputs` (a decision's, DecisionInputs) with the record the decision is
// committed against and the clock at that moment.
std::string WithRecord(const std::string& inputs, const std::optional<Sandbox>& current,
                       SystemTime now) {
  namespace json = boost::json;
  boost::system::error_code ec;
  json::value parsed = json::parse(inputs, ec);
  json::object o = !ec && parsed.is_object() ? std::move(parsed.get_object()) : json::object{};
  o["now"] = FormatRfc3339(now);
  if (!current) return json::serialize(o);
  const Sandbox& s = *current;
  json::object r{{"version", s.version},
                 {"status", core::StatusName(s.status)},
                 {"lastActivityAt", FormatRfc3339(s.last_activity_at)},
                 {"idleTimeoutSeconds", s.idle_timeout_s}};
  if (auto at = core::PauseAt(s)) r["pauseAt"] = FormatRfc3339(*at);
  auto times = [](const std::map<std::string, SystemTime>& m) {
    json::object t;
    for (const auto& [name, at] : m) t[name] = FormatRfc3339(at);
    return t;
  };
  if (!s.holds.empty()) r["holds"] = times(s.holds);
  if (!s.activity.empty()) r["activity"] = times(s.activity);
  o["record"] = std::move(r);
  return json::serialize(o);
}

std::string TypeText(const LifecycleEvent& e) {
  return e.raw_type.empty() ? std::string(core::EventTypeName(e.type)) : e.raw_type;
}

}  // namespace

std::string DecisionInputs(const Decider& by, boost::json::object extra) {
  if (!by.trigger.empty()) extra["trigger"] = by.trigger;
  if (!by.replica.empty()) extra["replica"] = by.replica;
  if (by.leader_term > 0) extra["leaderTerm"] = by.leader_term;
  return boost::json::serialize(extra);
}

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

store::HistoryRow HistoryRowFor(const LifecycleEvent& event, const std::string& project_id,
                                Outcome outcome, SystemTime recorded_at,
                                std::optional<SandboxStatus> status, std::string detail) {
  store::HistoryRow row;
  row.project_id = project_id;
  row.sandbox_id = event.sandbox_id;
  row.event_id = event.id;
  row.type = TypeText(event);
  row.source = std::string(core::EventSourceName(event.source));
  row.outcome = std::string(OutcomeName(outcome));
  row.at = TruncateToMillis(event.timestamp);
  row.recorded_at = TruncateToMillis(recorded_at);
  if (status) row.status = std::string(core::StatusName(*status));
  row.detail = std::move(detail);
  row.inputs = event.inputs;
  return row;
}

// One queued event and how to hand its result to the coroutine awaiting it.
struct ApplyPipeline::Pending {
  LifecycleEvent event;
  Precondition precondition;
  Result<ApplyResult> result = Internal("event was not written");
  std::function<void(Result<ApplyResult>)> complete;  // resumes the caller on its executor
};

// The records as the batch being written sees them: what its earlier events
// changed (written, not yet committed) over the read model. The read model
// learns of the changes only once the batch commits.
class ApplyPipeline::BatchView {
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

  // Event ids processed before the batch (asked of the store once per
  // batch) or written by it.
  void SetProcessed(std::unordered_set<std::string> ids) { processed_ = std::move(ids); }
  bool Processed(const std::string& event_id) const { return processed_.contains(event_id); }
  void MarkProcessed(const std::string& event_id) {
    if (!event_id.empty()) processed_.insert(event_id);
  }
  // Event ids whose redelivery this batch wrote a `duplicate` row for.
  bool HasDuplicateRow(const std::string& event_id) const {
    return duplicate_rows_.contains(event_id);
  }
  void NoteDuplicateRow(const std::string& event_id) { duplicate_rows_.insert(event_id); }
  const std::unordered_set<std::string>& duplicate_rows() const { return duplicate_rows_; }

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
  // A batch of several events holds its records' writes to send them
  // together; a lone event writes at once (its conflicts are retried).
  void SetHoldWrites(bool hold) { hold_writes_ = hold; }
  bool hold_writes() const { return hold_writes_; }
  std::vector<store::TransitionWrite>& held() { return held_; }
  // The first failure to send held writes. Those writes belong to earlier
  // events whose results already say "applied": whichever event's flush met
  // the failure, the batch must not commit without them.
  void NoteFlushFailure(const Status& s) {
    if (flush_failure_.ok()) flush_failure_ = s;
  }
  const Status& flush_failure() const { return flush_failure_; }

 private:
  const ReadModel& committed_;
  std::unordered_map<std::string, Sandbox> changed_;
  std::unordered_map<std::string, std::string> project_by_sandbox_;
  std::vector<Sandbox> order_;
  std::unordered_set<std::string> processed_;
  std::unordered_set<std::string> duplicate_rows_;
  bool hold_writes_ = false;
  std::vector<store::TransitionWrite> held_;
  Status flush_failure_;
};

ApplyPipeline::ApplyPipeline(Clock& clock, BlockingPool& store_pool, store::Store& store,
                             ReadModel& read_model, EventBus& bus, Metrics& metrics,
                             ApplyOptions options)
    : clock_(clock),
      store_pool_(store_pool),
      store_(store),
      read_model_(read_model),
      bus_(bus),
      metrics_(metrics),
      options_(options) {
  // Alerted on by their increase (docs/monitoring/alerts.yml): each series
  // exists from the start, at 0, or the first burst would go unseen.
  metrics_.Inc("sandboxd_apply_rejected_total", {}, 0, kApplyRejectedHelp);
  metrics_.Inc("sandboxd_store_errors_total", {{"op", "commit"}}, 0, kStoreErrorsHelp);
}

ApplyPipeline::~ApplyPipeline() = default;

bool ApplyPipeline::busy() {
  std::lock_guard lock(queue_mu_);
  return writer_active_ || !queue_.empty();
}

Status ApplyPipeline::WriteTransition(store::TransitionWrite write, BatchView& view) {
  if (!view.hold_writes()) {
    return store_.CommitTransition(write.next, write.expected_version, write.event_id,
                                   write.history);
  }
  view.held().push_back(std::move(write));
  return OkStatus();
}

Status ApplyPipeline::FlushWrites(BatchView& view) {
  if (view.held().empty()) return OkStatus();
  Status s = store_.CommitTransitions(view.held());
  view.held().clear();
  if (!s.ok()) view.NoteFlushFailure(s);
  return s;
}

Status ApplyPipeline::RecordOutcome(const LifecycleEvent& event, const std::string& project_id,
                                    Outcome outcome, const std::string& detail, BatchView& view) {
  // History rows keep the order of the batch's events.
  SBX_RETURN_IF_ERROR(FlushWrites(view));
  store::HistoryRow row =
      HistoryRowFor(event, project_id, outcome, clock_.Now(), std::nullopt, detail);
  if (outcome == Outcome::kDuplicate) return store_.AppendHistory(row);
  Status s = store_.RecordEvent(event.id, row);
  if (s.ok()) view.MarkProcessed(event.id);
  if (s.code() == StatusCode::kAlreadyExists) {
    row.outcome = std::string(OutcomeName(Outcome::kDuplicate));
    return store_.AppendHistory(row);
  }
  return s;
}

Result<std::optional<ApplyResult>> ApplyPipeline::Dedup(const LifecycleEvent& event,
                                                        BatchView& view) {
  if (event.id.empty() || !core::IsProviderFact(event.type)) return std::optional<ApplyResult>();
  if (!view.Processed(event.id)) return std::optional<ApplyResult>();
  std::string project = event.project_id;
  if (project.empty()) project = view.ProjectOfSandbox(event.sandbox_id).value_or("");
  // The first redelivery of an event id gets a history row; further ones
  // (a captured webhook replayed) are only counted, so that replays cannot
  // grow the history.
  if (!duplicate_rows_.Contains(event.id) && !view.HasDuplicateRow(event.id)) {
    SBX_RETURN_IF_ERROR(RecordOutcome(event, project, Outcome::kDuplicate, "", view));
    view.NoteDuplicateRow(event.id);
  }
  return std::optional<ApplyResult>(ApplyResult{Outcome::kDuplicate, view.Get(project)});
}

std::string ApplyPipeline::ResolveProject(const LifecycleEvent& event,
                                          const BatchView& view) const {
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

std::optional<std::string> ApplyPipeline::Staleness(const LifecycleEvent& event,
                                                    const Sandbox& current) const {
  const bool other_sandbox = !current.sandbox_id.empty() && !event.sandbox_id.empty() &&
                             current.sandbox_id != event.sandbox_id;
  // A sandbox is created once: a `created` naming the very sandbox this
  // record killed is a late delivery, not a new sandbox to adopt.
  if (event.type == EventType::kCreated && current.status == SandboxStatus::kKilled &&
      !event.sandbox_id.empty() && current.sandbox_id == event.sandbox_id) {
    return fmt::format("sandbox {} was killed", event.sandbox_id);
  }
  // The reconciler names another sandbox only to adopt it: the record's is
  // gone at the provider and that one carries sandboxd's marker for the
  // project (PlanRepair).
  const bool adopting =
      (event.type == EventType::kCreated &&
       (current.status == SandboxStatus::kKilled || current.sandbox_id.empty())) ||
      event.source == core::EventSource::kReconciler;
  if (other_sandbox && !adopting) {
    return fmt::format("event for sandbox {}, project now has {}", event.sandbox_id,
                       current.sandbox_id);
  }
  if (event.source == core::EventSource::kWebhook && event.timestamp < current.last_event_at) {
    return fmt::format("older than the newest applied event ({})",
                       FormatRfc3339(current.last_event_at));
  }
  return std::nullopt;
}

Result<ApplyResult> ApplyPipeline::ApplyOne(const LifecycleEvent& event,
                                            const Precondition& precondition, BatchView& view) {
  metrics_.Inc("sandboxd_events_total",
               {{"source", std::string(core::EventSourceName(event.source))}}, 1,
               "Lifecycle events seen, by source");
  if (event.source == core::EventSource::kWebhook &&
      event.timestamp > clock_.Now() + options_.max_clock_skew) {
    return InvalidArgument(fmt::format(
        "event {} is dated {}, more than {} ahead of this server's clock", event.id,
        FormatRfc3339(event.timestamp), FormatDuration(options_.max_clock_skew)));
  }
  SBX_ASSIGN_OR_RETURN(std::optional<ApplyResult> duplicate, Dedup(event, view));
  if (duplicate) return std::move(*duplicate);
  const bool fact = core::IsProviderFact(event.type);
  std::string project = event.project_id;
  if (fact && project.empty()) project = ResolveProject(event, view);
  std::optional<Sandbox> current;
  if (!project.empty()) current = view.Get(project);
  if (fact && (project.empty() || (!current && event.type != EventType::kCreated))) {
    SBX_RETURN_IF_ERROR(RecordOutcome(event, "", Outcome::kOrphan,
                                      fmt::format("no project has sandbox {}", event.sandbox_id),
                                      view));
    return ApplyResult{Outcome::kOrphan, std::nullopt};
  }
  return Commit(event, project, std::move(current), precondition, view);
}

Result<ApplyResult> ApplyPipeline::Commit(const LifecycleEvent& event, const std::string& project,
                                          std::optional<Sandbox> current,
                                          const Precondition& precondition, BatchView& view) {
  const bool fact = core::IsProviderFact(event.type);
  if ((event.type == EventType::kCreated || event.source == core::EventSource::kWebhook) &&
      fact && !event.sandbox_id.empty() &&
      (!current || current->sandbox_id != event.sandbox_id)) {
    // A sandbox is created once: one this server saw replaced (killed and
    // made again, or forgotten) is not adopted by the project's next create
    // or record. Nor does any late webhook of it (they carry the project's
    // id) become the sandbox of a record whose create is still at the
    // provider. (Held in memory: a restart forgets.)
    if (auto had = read_model_.ProjectOfRetired(event.sandbox_id)) {
      const std::string why =
          fmt::format("sandbox {} of project {} was replaced or forgotten", event.sandbox_id, *had);
      SBX_RETURN_IF_ERROR(RecordOutcome(event, project, Outcome::kStale, why, view));
      return ApplyResult{Outcome::kStale, current};
    }
  }
  for (int attempt = 0;; ++attempt) {
    if (fact && current) {
      if (auto why = Staleness(event, *current)) {
        SBX_RETURN_IF_ERROR(RecordOutcome(event, project, Outcome::kStale, *why, view));
        return ApplyResult{Outcome::kStale, current};
      }
    }
    if (event.type == EventType::kUnknown) {
      SBX_RETURN_IF_ERROR(
          RecordOutcome(event, project, Outcome::kIgnored, "unknown event type " + event.raw_type,
                        view));
      return ApplyResult{Outcome::kIgnored, current};
    }
    if (precondition) {
      if (!current) return NotFound(fmt::format("project {} has no sandbox", project));
      SBX_RETURN_IF_ERROR(precondition(*current));
    }
    LifecycleEvent e = event;
    e.project_id = project;
    // A record made by a provider's event takes the server's idle timeout.
    if (!current && !e.idle_timeout_s) e.idle_timeout_s = options_.default_idle_timeout_s;
    SBX_ASSIGN_OR_RETURN(Sandbox next,
                         core::ApplyEvent(current, e, clock_.Now(), options_.max_clock_skew));
    std::optional<store::HistoryRow> row;
    if (WritesHistory(event)) {
      row = HistoryRowFor(event, project, Outcome::kApplied, next.updated_at, next.status,
                          Detail(event));
      if (!event.inputs.empty()) row->inputs = WithRecord(event.inputs, current, clock_.Now());
      if (!next.sandbox_id.empty()) row->sandbox_id = next.sandbox_id;
    }
    const int64_t expected = current ? current->version : 0;
    Status s = WriteTransition({next, expected, fact ? event.id : "", row}, view);
    if (s.ok()) {
      if (fact) view.MarkProcessed(event.id);
      view.Put(next);
      return ApplyResult{Outcome::kApplied, next};
    }
    if (s.code() == StatusCode::kAlreadyExists) {
      SBX_RETURN_IF_ERROR(RecordOutcome(event, project, Outcome::kDuplicate, "", view));
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

net::awaitable<Result<ApplyResult>> ApplyPipeline::Apply(LifecycleEvent event,
                                                         Precondition precondition) {
  return net::async_initiate<const net::use_awaitable_t<>, void(Result<ApplyResult>)>(
      [this](auto handler, LifecycleEvent ev, Precondition pre) {
        auto ex = net::get_associated_executor(handler);
        // std::function needs a copyable callable; the handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto pending = std::make_unique<Pending>();
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

void ApplyPipeline::Enqueue(std::unique_ptr<Pending> pending) {
  {
    std::unique_lock lock(queue_mu_);
    const LifecycleEvent& ev = pending->event;
    const bool own_result =
        ev.source != core::EventSource::kWebhook && core::IsProviderFact(ev.type);
    if (queue_.size() >= options_.max_queued && !own_result) {
      const size_t queued = queue_.size();
      lock.unlock();
      metrics_.Inc("sandboxd_apply_rejected_total", {}, 1, kApplyRejectedHelp);
      pending->complete(Unavailable(fmt::format(
          "the store is behind: {} events wait to be written; try again", queued)));
      return;
    }
    queue_.push_back(std::move(pending));
    if (writer_active_) return;  // the running writer takes it in its next batch
    writer_active_ = true;
  }
  store_pool_.Post([this] { DrainQueue(); });
}

void ApplyPipeline::DrainQueue() {
  for (;;) {
    std::vector<std::unique_ptr<Pending>> batch;
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

void ApplyPipeline::WriteBatch(std::span<const std::unique_ptr<Pending>> batch) {
  Status committed = CommitBatch(batch);
  if (committed.ok()) return;
  // A held write that found its record moved or its event processed (by
  // another replica) is no store error: each event, written alone, decides
  // again on what is committed now.
  const bool conflict = committed.code() == StatusCode::kFailedPrecondition ||
                        committed.code() == StatusCode::kAlreadyExists;
  if (conflict) {
    SBX_LOG_INFO("batch of {} events met a concurrent change ({}); writing them one by one",
                 batch.size(), committed.message());
  } else {
    SBX_LOG_ERROR("commit of {} events failed: {}", batch.size(), committed.ToString());
    metrics_.Inc("sandboxd_store_errors_total", {{"op", "commit"}}, 1, kStoreErrorsHelp);
  }
  const bool store_down = committed.code() == StatusCode::kUnavailable ||
                          committed.code() == StatusCode::kDeadlineExceeded;
  if (batch.size() > 1 && !store_down) {
    for (const auto& p : batch) {
      Status alone = CommitBatch(std::span(&p, 1));
      // The event's own error says more than the transaction's.
      if (!alone.ok() && p->result.ok()) p->result = alone;
    }
    return;
  }
  for (const auto& p : batch) p->result = committed;
}

void ApplyPipeline::AwaitCommitInFlight() { std::lock_guard wait(commit_mu_); }

Status ApplyPipeline::CommitBatch(std::span<const std::unique_ptr<Pending>> batch) {
  std::lock_guard committing(commit_mu_);
  const SteadyTime start = clock_.SteadyNow();
  BatchView view(read_model_);
  Status committed = store_.Batch([&]() -> Status {
    // Which of the batch's provider facts were seen before: one question
    // for the batch (Dedup then asks the view).
    std::vector<std::string> ids;
    for (const auto& p : batch) {
      if (!p->event.id.empty() && core::IsProviderFact(p->event.type)) ids.push_back(p->event.id);
    }
    SBX_ASSIGN_OR_RETURN(auto processed, store_.ProcessedAmong(ids));
    view.SetProcessed(std::move(processed));
    view.SetHoldWrites(batch.size() > 1);
    for (const auto& p : batch) {
      try {
        p->result = ApplyOne(p->event, p->precondition, view);
      } catch (const std::exception& e) {
        // Never leave a caller waiting or the transaction open: a throw
        // here is a bug, reported as one.
        p->result = Internal(fmt::format("bug: applying an event threw: {}", e.what()));
      }
    }
    SBX_RETURN_IF_ERROR(FlushWrites(view));
    return view.flush_failure();
  });
  const auto took = clock_.SteadyNow() - start;
  metrics_.Observe("sandboxd_store_commit_duration_seconds", {},
                   std::chrono::duration<double>(took).count(),
                   "How long group commits of lifecycle events took (committed or not)");
  if (took >= kSlowCommit) {
    // Everything that decides by the record (the enforcer's pauses, wakes,
    // status pushes) waits for this: say so where an operator looks.
    SBX_LOG_WARN("a commit of {} events took {} ms: the store is slow",
                 batch.size(), std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
  }
  if (!committed.ok()) return committed;
  for (const std::string& id : view.duplicate_rows()) duplicate_rows_.Put(id, true);
  metrics_.Inc("sandboxd_store_commits_total", {}, 1,
               "Store transactions that committed lifecycle events (group commit: "
               "sandboxd_events_total / this = events per commit)");
  for (const Sandbox& s : view.order()) {
    read_model_.Put(s);
    bus_.Publish(s);
  }
  return OkStatus();
}

}  // namespace sbx::lifecycle
