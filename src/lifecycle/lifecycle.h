// Lifecycle owns every change to sandbox state. Commands (create, wake, pause,
// kill, activity) and provider events all end in Apply, which writes the new
// record, the processed event id and a history row atomically, then updates
// the ReadModel and publishes on the EventBus. Status reads (Get/List)
// answer from the ReadModel without I/O.
// Apply queues the event for one writer on `store_pool`, which takes every
// event waiting (up to max_batch) and commits them in one store transaction
// (group commit, Store::Batch): under load many events share one commit; a
// lone event is written at once. Each event still succeeds or fails alone.
// Thread-safe. Coroutines run on any I/O executor; store calls go to
// `store_pool`, provider calls to `provider_pool`, so a hanging provider never
// holds up store writes or reads.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/metrics.h"
#include "base/net.h"
#include "core/event.h"
#include "lifecycle/event_bus.h"
#include "lifecycle/read_model.h"
#include "provider/provider.h"
#include "store/store.h"

namespace sbx::lifecycle {

struct LifecycleOptions {
  int64_t default_idle_timeout_s = 180;      // seconds; --idle-timeout
  std::string default_template = "hello";    // template when create names none
  int max_apply_retries = 5;                 // CAS conflicts retried before giving up
  size_t max_batch = 256;                    // events committed together at most
};

enum class Outcome { kApplied, kDuplicate, kStale, kIgnored, kOrphan };
std::string_view OutcomeName(Outcome o);

struct ApplyResult {
  Outcome outcome = Outcome::kApplied;
  std::optional<core::Sandbox> sandbox;  // the record after the event, if any
};

struct CreateOptions {
  std::optional<std::string> template_name;
  std::optional<int64_t> idle_timeout_s;
  core::Metadata metadata;
  core::EventSource source = core::EventSource::kApi;
};

struct CreateResult {
  core::Sandbox sandbox;
  bool created = false;  // false: a live sandbox already existed
};

enum class PauseDecision { kPaused, kNotDue, kFailed };

class Lifecycle {
 public:
  // Checked inside Apply against the record about to change (the committed
  // one if a conflict forced a reload). A non-OK status aborts the event.
  using Precondition = std::function<Status(const core::Sandbox&)>;

  Lifecycle(Clock& clock, BlockingPool& store_pool, BlockingPool& provider_pool,
            store::Store& store, provider::Provider& provider, IdGenerator& ids,
            ReadModel& read_model, EventBus& bus, Metrics& metrics, LifecycleOptions options);
  ~Lifecycle();

  // Loads every record into the read model. Blocking; call once at start.
  Status Load();
  // For records committed by another replica (ChangeFollower): loads the
  // project's record if the read model holds an older version than
  // `version`, and publishes it. Blocking (one store read).
  Status Observe(const std::string& project_id, int64_t version);
  // Reloads every record and publishes those that were behind; returns how
  // many. Blocking. For a replica that may have missed changes.
  Result<int> Resync();

  // Status reads: memory only. kNotFound if the project never had a sandbox.
  Result<core::Sandbox> Get(const std::string& project_id) const;

  // The single write path. Provider events are deduplicated by id and
  // ordered by timestamp; commands are checked against the transition table
  // (kFailedPrecondition when not allowed) and `precondition`. Completes once
  // the event is committed (or refused) and the read model shows it.
  // Not a coroutine (see BlockingPool::Run): the event travels through
  // async_initiate into the writer's queue.
  net::awaitable<Result<ApplyResult>> Apply(core::LifecycleEvent event,
                                            Precondition precondition = nullptr);

  // Creates the project's sandbox and waits until it serves. Returns the live
  // one (created=false) if it exists and is not KILLED.
  net::awaitable<Result<CreateResult>> Create(const std::string& project_id, CreateOptions options);
  // PAUSED: moves to STARTING and resumes in the background. KILLED: creates
  // a new sandbox in the background. STARTING/RUNNING: returns it unchanged
  // (concurrent wakes make one resume). PAUSING: kFailedPrecondition.
  net::awaitable<Result<core::Sandbox>> Wake(const std::string& project_id);
  // RUNNING: moves to PAUSING and pauses in the background. Already
  // PAUSING/PAUSED: returns it unchanged. Otherwise kFailedPrecondition.
  net::awaitable<Result<core::Sandbox>> Pause(const std::string& project_id);
  // Kills the sandbox at the provider, then records KILLED (the record stays).
  net::awaitable<Status> Kill(const std::string& project_id);
  // Moves lastActivityAt to now, durably, before returning.
  net::awaitable<Status> RecordActivity(const std::string& project_id,
                                        core::EventSource source = core::EventSource::kApi);
  // Changes the idle timeout (seconds, > 0).
  net::awaitable<Result<core::Sandbox>> SetIdleTimeout(const std::string& project_id,
                                                       int64_t idle_timeout_s);

  // The enforcer's step for one sandbox: pauses it if it is RUNNING and idle
  // past its pauseAt, re-checked atomically with the claim (activity that
  // arrives first wins). Waits for the provider call.
  net::awaitable<PauseDecision> PauseIfIdle(const std::string& project_id,
                                            std::string* error_out = nullptr);

  // Sets the provider-side timeout of the project's running sandbox to
  // `ttl` from now and records the new end time (an `updated` event).
  net::awaitable<Status> ExtendProviderTimeout(const std::string& project_id,
                                               std::chrono::seconds ttl);

  // Compares every record with the provider's list and repairs drift with
  // reconciler events. Does nothing unless the listing is complete. Returns
  // the number of records repaired.
  // Records in STARTING/PAUSING changed within `in_flight_grace` are left
  // alone: their create/resume/pause may still be running somewhere.
  net::awaitable<Result<int>> Reconcile(
      std::chrono::seconds in_flight_grace = std::chrono::seconds(0));

  ReadModel& read_model() { return read_model_; }
  Clock& clock() { return clock_; }

 private:
  struct PendingApply;
  class BatchView;
  // Queues one event for the writer, starting it when idle.
  void Enqueue(std::unique_ptr<PendingApply> pending);
  // The writer (on store_pool_): commits queued events batch by batch until
  // the queue is empty.
  void DrainQueue();
  void WriteBatch(std::vector<std::unique_ptr<PendingApply>>& batch);
  // Decides and writes one event inside the batch's transaction.
  Result<ApplyResult> ApplyOne(const core::LifecycleEvent& event, const Precondition& precondition,
                               BatchView& view);
  // The project a provider event belongs to, or "" (an orphan).
  std::string ResolveProject(const core::LifecycleEvent& event, const BatchView& view) const;
  Status RecordOutcome(const core::LifecycleEvent& event, const std::string& project_id,
                       Outcome outcome, const std::string& detail);
  core::LifecycleEvent Command(core::EventType type, const std::string& project_id,
                               core::EventSource source);
  net::awaitable<void> FinishWake(core::Sandbox starting);
  net::awaitable<void> FinishPause(core::Sandbox pausing, core::EventSource source);
  net::awaitable<Result<core::Sandbox>> ProvisionNew(const std::string& project_id,
                                                     core::EventSource source);
  // Runs `f` on the provider pool, recording its latency and errors.
  template <typename F>
  net::awaitable<std::invoke_result_t<F>> CallProvider(const char* op, F f);

  Clock& clock_;
  BlockingPool& store_pool_;
  BlockingPool& provider_pool_;
  store::Store& store_;
  provider::Provider& provider_;
  IdGenerator& ids_;
  ReadModel& read_model_;
  EventBus& bus_;
  Metrics& metrics_;
  LifecycleOptions options_;
  // Events waiting for the writer. The single writer serializes
  // read-compute-commit within this process; other replicas are fenced by
  // the store's compare-and-set.
  std::mutex queue_mu_;
  std::deque<std::unique_ptr<PendingApply>> queue_;  // guarded by queue_mu_
  bool writer_active_ = false;                       // guarded by queue_mu_
};

}  // namespace sbx::lifecycle
