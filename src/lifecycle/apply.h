// ApplyPipeline: the single write path of sandbox state (DESIGN.md §3).
// Apply() queues an event for one writer on the store pool, which takes every
// event waiting (up to max_batch) and commits them in one Store::Batch
// transaction (group commit): under load many events share one commit; a lone
// event is written at once. Each event is still decided on its own: dedup by
// event id, find the project, order it against the record, transition,
// compare-and-set. Later events of a batch see earlier ones through the
// batch's view. In a batch of several, the records' writes are sent together
// (Store::CommitTransitions: one round trip on PostgreSQL); if one of them
// finds the record moved or its event processed (another replica), the batch
// is undone and its events are written one by one. Only once the batch commits do
// the read model and the bus hear of its changes, in order; if the commit
// fails every event of the batch gets the error and nothing is published.
// Used by Lifecycle. Thread-safe; Apply may be awaited from any executor.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "base/blocking_pool.h"
#include "base/bounded_map.h"
#include "base/clock.h"
#include "base/metrics.h"
#include "base/net.h"
#include "core/event.h"
#include "core/transition.h"
#include "lifecycle/event_bus.h"
#include "lifecycle/read_model.h"
#include "store/store.h"

namespace sbx::lifecycle {

// What became of an event.
enum class Outcome { kApplied, kDuplicate, kStale, kIgnored, kOrphan };
std::string_view OutcomeName(Outcome o);  // "applied", "duplicate", …

struct ApplyResult {
  Outcome outcome = Outcome::kApplied;
  std::optional<core::Sandbox> sandbox;  // the record after the event, if any
};

// Checked inside Apply against the record about to change (the committed one
// if a conflict forced a reload). A non-OK status aborts the event.
using Precondition = std::function<Status(const core::Sandbox&)>;

// Help of the store error counter, which ApplyPipeline (commits) and
// Lifecycle (readiness pings) both count into.
inline constexpr char kStoreErrorsHelp[] =
    "Store calls that failed: group commits of lifecycle events, readiness pings";
inline constexpr char kApplyRejectedHelp[] =
    "Events refused because the write queue was full (the store is behind)";

// Who takes an automatic decision and on what trigger (jobs::DeciderFor
// fills it from the replica's leadership). Recorded in the decision's history
// inputs, with the record it was taken on and the clock (apply.h).
struct Decider {
  std::string trigger;      // timer, schedule, failover, keep-alive, …
  std::string replica;      // the replica that decided (the lease holder with replicas)
  int64_t leader_term = 0;  // its leadership term
};

// A decision's inputs as its history row keeps them: `by` and `extra` as a
// JSON object's text. The pipeline adds, when it commits the event, the
// record the decision was taken on ("record": version, status,
// lastActivityAt, idleTimeoutSeconds, pauseAt, holds, activity) and its
// clock ("now"), so they are what the precondition checked, not an earlier
// read.
std::string DecisionInputs(const Decider& by, boost::json::object extra = {});

struct ApplyOptions {
  int max_apply_retries = 5;  // compare-and-set conflicts retried before giving up
  size_t max_batch = 256;     // events committed together at most
  // Events waiting for the writer at most. Past it, events from outside
  // (webhooks, requests, and the decisions of jobs, which retry) are refused
  // at once with kUnavailable (503; E2B redelivers) instead of waiting behind
  // a store that cannot keep up. sandboxd's own provider results are always
  // queued: they are bounded by the provider calls in flight, and refusing
  // one would leave the record behind the provider until the reconciler.
  size_t max_queued = 10000;
  // Webhooks dated further than this ahead of sandboxd's clock are refused
  // (kInvalidArgument); see core::ApplyEvent for how time orders facts.
  std::chrono::milliseconds max_clock_skew = core::kDefaultMaxClockSkew;
  // The idle timeout of a record a provider's `created` makes (a sandbox
  // adopted from a webhook for a project sandboxd has no record of), s.
  int64_t default_idle_timeout_s = 180;
};

// The history row that records `event` for `project_id` with `outcome`;
// `status` is the record's status after an applied event.
store::HistoryRow HistoryRowFor(const core::LifecycleEvent& event, const std::string& project_id,
                                Outcome outcome, SystemTime recorded_at,
                                std::optional<core::SandboxStatus> status = std::nullopt,
                                std::string detail = "");

class ApplyPipeline {
 public:
  ApplyPipeline(Clock& clock, BlockingPool& store_pool, store::Store& store, ReadModel& read_model,
                EventBus& bus, Metrics& metrics, ApplyOptions options);
  ~ApplyPipeline();

  // Provider facts are deduplicated by id and ordered by timestamp; commands
  // are checked against the transition table (kFailedPrecondition when not
  // allowed) and `precondition`. Completes once the event is committed (or
  // refused) and the read model shows it. Errors: kFailedPrecondition
  // (refused, or the record kept moving), kNotFound (a precondition for a
  // project without a record), kInvalidArgument (a webhook dated more than
  // max_clock_skew in the future), store errors. On error nothing is written.
  // kUnavailable at once when max_queued events wait already (see
  // ApplyOptions). Not a coroutine (see BlockingPool::Run): the event travels through
  // async_initiate into the writer's queue.
  net::awaitable<Result<ApplyResult>> Apply(core::LifecycleEvent event,
                                            Precondition precondition = nullptr);

  // True while events are queued or being written.
  bool busy();
  // Returns once the batch being committed right now, if any, has reached
  // the read model. A replica hears of its own commits through the change
  // feed too, possibly before the writer has put them in the read model:
  // Lifecycle::Observe waits here first, so that it does not load them
  // again from the store.
  void AwaitCommitInFlight();

 private:
  struct Pending;
  class BatchView;
  void Enqueue(std::unique_ptr<Pending> pending);
  // The writer (on store_pool_): commits queued events batch by batch until
  // the queue is empty.
  void DrainQueue();
  // Commits `batch`; if a batch of several fails for a reason other than an
  // unavailable store (a statement one event made fail), writes its events
  // one by one so that one event cannot fail the others.
  void WriteBatch(std::span<const std::unique_ptr<Pending>> batch);
  // One transaction for `batch`; publishes its changes once it commits.
  Status CommitBatch(std::span<const std::unique_ptr<Pending>> batch);
  // Decides and writes one event inside the batch's transaction.
  Result<ApplyResult> ApplyOne(const core::LifecycleEvent& event, const Precondition& precondition,
                               BatchView& view);
  // Step 1: a provider fact whose id was processed before is a duplicate.
  Result<std::optional<ApplyResult>> Dedup(const core::LifecycleEvent& event, BatchView& view);
  // Step 2: the project a provider fact belongs to, or "" (an orphan).
  std::string ResolveProject(const core::LifecycleEvent& event, const BatchView& view) const;
  // Step 3: why a provider fact must not move `current` (stale), or nullopt.
  // Only webhooks are ordered by their timestamps: sandboxd's own facts are
  // the results of provider calls it just made.
  std::optional<std::string> Staleness(const core::LifecycleEvent& event,
                                       const core::Sandbox& current) const;
  // Step 4: transition and compare-and-set, reloading and re-deciding when
  // another writer moved the record.
  Result<ApplyResult> Commit(const core::LifecycleEvent& event, const std::string& project,
                             std::optional<core::Sandbox> current,
                             const Precondition& precondition, BatchView& view);
  // Writes a record's transition: at once, or in a batch of several, with
  // the batch's other writes at the next FlushWrites.
  Status WriteTransition(store::TransitionWrite write, BatchView& view);
  // Sends the batch's held writes (kFailedPrecondition / kAlreadyExists: a
  // record moved or an event was processed meanwhile).
  Status FlushWrites(BatchView& view);
  // Writes the history row (and the processed id) of an event that changes
  // no record.
  Status RecordOutcome(const core::LifecycleEvent& event, const std::string& project_id,
                       Outcome outcome, const std::string& detail, BatchView& view);

  Clock& clock_;
  BlockingPool& store_pool_;
  store::Store& store_;
  ReadModel& read_model_;
  EventBus& bus_;
  Metrics& metrics_;
  ApplyOptions options_;
  // Events waiting for the writer. The single writer serializes
  // read-compute-commit within this process; other replicas are fenced by
  // the store's compare-and-set.
  std::mutex queue_mu_;
  std::deque<std::unique_ptr<Pending>> queue_;  // guarded by queue_mu_
  bool writer_active_ = false;                  // guarded by queue_mu_
  // Held by the writer from the start of a batch until its changes are in
  // the read model (AwaitCommitInFlight).
  std::mutex commit_mu_;
  // Event ids whose redelivery got its `duplicate` history row (Dedup);
  // guarded by commit_mu_. Per process: a restart or another replica
  // records one more.
  static constexpr size_t kDuplicateRowsKept = 10'000;
  BoundedMap<std::string, bool> duplicate_rows_{kDuplicateRowsKept};
};

}  // namespace sbx::lifecycle
