// Lifecycle holds the commands on sandboxes (create, wake, pause, kill,
// activity, settings), the enforcer's step (PauseIfIdle), drift repair
// (Reconcile, in reconcile.cc) and the read side (Get, History). Every change
// of state ends in the single write path, ApplyPipeline (apply.h), which
// commits the record, the processed event id and a history row atomically,
// then updates the ReadModel and publishes on the EventBus. Status reads
// answer from the ReadModel without I/O. Only Lifecycle (through the
// pipeline, Observe and Resync) writes the read model.
// Thread-safe. Coroutines run on any I/O executor; store calls go to
// `store_pool`, provider calls to `provider_pool`, so a hanging provider never
// holds up store writes or reads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/metrics.h"
#include "base/net.h"
#include "core/event.h"
#include "lifecycle/apply.h"
#include "lifecycle/delivery_health.h"
#include "lifecycle/event_bus.h"
#include "lifecycle/overview.h"
#include "lifecycle/policy_report.h"
#include "lifecycle/read_model.h"
#include "provider/provider.h"
#include "store/change_feed.h"
#include "store/store.h"

namespace sbx::lifecycle {

struct LifecycleOptions {
  int64_t default_idle_timeout_s = 180;      // seconds; --idle-timeout
  std::string default_template = "hello";    // template when create names none
  int max_apply_retries = 5;                 // CAS conflicts retried before giving up
  size_t max_batch = 256;                    // events committed together at most
  size_t max_queued = 10000;                 // events waiting to be written (ApplyOptions)
  // Webhooks dated further ahead than this are refused; --max-clock-skew.
  std::chrono::milliseconds max_clock_skew = core::kDefaultMaxClockSkew;
  // Reconcile kills provider sandboxes marked as sandboxd's that no record
  // names once they started this long ago (reconcile.h PlanOrphans); zero
  // disables it.
  std::chrono::seconds orphan_grace = std::chrono::minutes(10);
  // Reconcile fails a create that has no sandbox listed (create_failed)
  // only once it is this old, or the in-flight grace if longer: the create
  // may still be running on another replica (serve: E2B's longest call and
  // 10 s more, e2b::LongestCall). Other repairs follow what the provider
  // shows, and wait only the in-flight grace.
  std::chrono::seconds create_grace = std::chrono::seconds(10);
  // Busy holds: the longest a hold may be placed for (--max-hold-ttl; a
  // forgotten hold cannot keep a sandbox up for longer) and how many one
  // sandbox may have.
  std::chrono::seconds max_hold_ttl = std::chrono::hours(24);
  size_t max_holds = 16;
};

struct CreateOptions {
  std::optional<std::string> template_name;
  std::optional<int64_t> idle_timeout_s;
  core::Metadata metadata;
  // Egress of the new sandbox: true = internet, false = none, unset = the
  // template's. Applies to this create only; a sandbox made again later
  // (a wake after the provider lost it) gets its template's.
  std::optional<bool> allow_internet_access;
  core::EventSource source = core::EventSource::kApi;
};

// What Lifecycle::ChangeSettings changes; unset fields stay.
struct SettingsChange {
  std::optional<int64_t> idle_timeout_s;
  std::optional<std::string> idle_policy;  // a policy name, "" for the deployment's
  core::EventSource source = core::EventSource::kApi;
  std::string detail;  // why, in words: kept in history with the change
  std::string inputs;  // what the decision saw (DecisionInputs), for history
};

struct CreateResult {
  core::Sandbox sandbox;
  bool created = false;  // false: a live sandbox already existed
};

enum class PauseDecision { kPaused, kNotDue, kFailed };

// What PauseIfIdle did; `error` says why when it failed.
struct PauseResult {
  PauseDecision decision = PauseDecision::kNotDue;
  std::string error;
};

class Lifecycle {
 public:
  using Precondition = lifecycle::Precondition;

  Lifecycle(Clock& clock, BlockingPool& store_pool, BlockingPool& provider_pool,
            store::Store& store, provider::Provider& provider, IdGenerator& ids,
            ReadModel& read_model, EventBus& bus, Metrics& metrics, LifecycleOptions options);
  ~Lifecycle();

  // Loads every record into the read model. Blocking; call once at start.
  Status Load();
  // For records committed by another replica (ChangeFollower): puts the
  // records of the changes whose version is newer than the read model's in
  // it, and publishes them. A change that carries its record is taken as
  // is; the others are loaded. Blocking: at most one store read.
  Status Observe(std::span<const store::Change> changes);
  Status Observe(const std::string& project_id, int64_t version) {
    const store::Change change{version, project_id};
    return Observe(std::span(&change, 1));
  }
  // Reloads every record and publishes those that were behind; returns how
  // many. Blocking. For a replica that may have missed changes.
  Result<int> Resync();

  // Status reads: memory only. kNotFound if the project never had a sandbox.
  Result<core::Sandbox> Get(const std::string& project_id) const;
  // The project's history, newest first, at most `limit` rows (store pool).
  // kNotFound if the project never had a sandbox.
  // `before_seq` > 0: only rows older than that one (the next page).
  net::awaitable<Result<std::vector<store::HistoryRow>>> History(const std::string& project_id,
                                                                 int limit,
                                                                 int64_t before_seq = 0);
  // OK when the store answers (readiness). Anyone may ask (/readyz is open),
  // so one ping answers every ask within kStorePingReuse of it, and asks
  // while one is in flight (kUnavailable once it has waited that long): a
  // flood of readiness checks costs the store pool (which the write path
  // shares) a ping a second, not one each.
  static constexpr std::chrono::seconds kStorePingReuse{1};
  net::awaitable<Status> CheckStore();
  // Adopts what the store's history says of webhook delivery (every
  // replica's webhooks and the leader's repairs) into delivery().
  net::awaitable<Status> RefreshDeliveryHealth();
  // What the fleet did over `window` (overview.h): every record's status now
  // from the read model, and at most kOverviewRowLimit applied history rows
  // with the counts of the window's rows from the store (store pool).
  static constexpr int kOverviewRowLimit = 200'000;
  net::awaitable<Result<Overview>> ReadOverview(OverviewWindow window);
  // What idle pausing did since `from` (policy_report.h), from the same
  // bounded reads; at most `top` projects listed. With `replay`, each of
  // those (fresh) policies replayed over the same history (report.replay).
  net::awaitable<Result<PolicyReport>> ReadPolicyReport(
      SystemTime from, Millis regret_window, size_t top,
      std::vector<std::unique_ptr<policy::Policy>> replay = {});

  // The single write path (ApplyPipeline::Apply).
  net::awaitable<Result<ApplyResult>> Apply(core::LifecycleEvent event,
                                            Precondition precondition = nullptr);

  // Creates the project's sandbox and waits until it serves. Returns the live
  // one (created=false) if it exists and is not KILLED.
  net::awaitable<Result<CreateResult>> Create(const std::string& project_id, CreateOptions options);
  // PAUSED: moves to STARTING and resumes in the background. KILLED: creates
  // a new sandbox in the background. STARTING/RUNNING: returns it unchanged
  // (concurrent wakes make one resume). PAUSING: kFailedPrecondition.
  // `source` is recorded on the wake's events (kPreview for traffic). With
  // `create_if_killed` false a KILLED sandbox is kFailedPrecondition instead
  // (a request to a killed sandbox's preview URL must not make a new one).
  // `inputs` (DecisionInputs) are an automatic wake's, for its history row.
  net::awaitable<Result<core::Sandbox>> Wake(const std::string& project_id,
                                             core::EventSource source = core::EventSource::kApi,
                                             bool create_if_killed = true,
                                             std::string inputs = {});
  // RUNNING: moves to PAUSING and pauses in the background. Already
  // PAUSING/PAUSED: returns it unchanged. Otherwise kFailedPrecondition.
  net::awaitable<Result<core::Sandbox>> Pause(const std::string& project_id);
  // Kills the sandbox at the provider, then records KILLED (the record stays).
  net::awaitable<Status> Kill(const std::string& project_id);
  // Forgets a KILLED project's record (kFailedPrecondition for any other
  // status, kNotFound without one): deletes it and records a "forgotten" row
  // in the project's history; with `remove_history` its older rows go too.
  // Returns how many history rows were removed. A create afterwards starts
  // the project afresh.
  net::awaitable<Result<int64_t>> Forget(const std::string& project_id, bool remove_history);
  // Moves lastActivityAt to now, durably, before returning. Each write is
  // counted in sandboxd_activity_total{source}.
  net::awaitable<Status> RecordActivity(const std::string& project_id,
                                        core::EventSource source = core::EventSource::kApi);
  // Changes the idle timeout (seconds, > 0).
  net::awaitable<Result<core::Sandbox>> SetIdleTimeout(const std::string& project_id,
                                                       int64_t idle_timeout_s);
  // Changes the settings `change` names (kInvalidArgument for a timeout not
  // above zero or an unknown policy name). A change with a `detail` is kept
  // in the project's history with it; `precondition` is checked against the
  // record atomically with the write.
  net::awaitable<Result<core::Sandbox>> ChangeSettings(const std::string& project_id,
                                                       SettingsChange change,
                                                       Precondition precondition = nullptr);

  // Places (or renews) the busy hold `name` until now + `ttl`: the enforcer
  // does not pause the sandbox before the hold expires. Only while STARTING
  // or RUNNING (else kFailedPrecondition); at most options.max_holds holds
  // per sandbox, `ttl` within (0, options.max_hold_ttl] (kInvalidArgument).
  net::awaitable<Result<core::Sandbox>> PlaceHold(
      const std::string& project_id, std::string name, std::chrono::seconds ttl,
      core::EventSource source = core::EventSource::kApi);
  // Removes the hold `name`; kNotFound when the sandbox has no such
  // unexpired hold.
  net::awaitable<Result<core::Sandbox>> ReleaseHold(const std::string& project_id,
                                                    std::string name);

  // The output of the project's sandbox (Provider::ReadOutput, on the
  // provider pool). kNotFound without a sandbox; kFailedPrecondition where
  // the provider keeps no output (E2B).
  net::awaitable<Result<provider::OutputChunk>> ReadOutput(const std::string& project_id,
                                                           provider::OutputQuery query);

  // The enforcer's step for one sandbox: pauses it if it is RUNNING and idle
  // past its pauseAt, re-checked atomically with the claim (activity that
  // arrives first wins). Waits for the provider call.
  net::awaitable<PauseResult> PauseIfIdle(const std::string& project_id,
                                          const Decider& by = {});

  // Sets the provider-side timeout of the project's running sandbox to
  // `ttl` from now and records the new end time (an `updated` event), with
  // `seen` (what the caller decided on) among the decision's inputs.
  net::awaitable<Status> ExtendProviderTimeout(const std::string& project_id,
                                               std::chrono::seconds ttl, const Decider& by = {},
                                               boost::json::object seen = {});

  // Compares every record with the provider's list and repairs drift with
  // reconciler events (reconcile.h plans each repair). Does nothing unless
  // the listing is complete. Returns the number of records repaired.
  // Records in STARTING/PAUSING changed within `in_flight_grace` are left
  // alone: their create/resume/pause may still be running somewhere. Then
  // kills orphans (PlanOrphans, after options.orphan_grace), logging each and
  // counting it in sandboxd_orphans_killed_total; a failed kill is logged
  // and retried on the next pass.
  net::awaitable<Result<int>> Reconcile(
      std::chrono::seconds in_flight_grace = std::chrono::seconds(0), Decider by = {});

  // True while events are being written or background operations (the
  // provider half of a wake or pause) are running: shutdown waits for it.
  bool busy();

  ReadModel& read_model() { return read_model_; }
  // Webhook delivery as the receiver and Reconcile see it.
  DeliveryHealth& delivery() { return delivery_; }
  Clock& clock() { return clock_; }

 private:
  core::LifecycleEvent Command(core::EventType type, const std::string& project_id,
                               core::EventSource source);
  // Starts `op` detached on `ex`, counted by busy() until it ends.
  void Background(net::any_io_executor ex, net::awaitable<void> op);
  // `kills`: KillsOf(project) before the wake was recorded (see ProvisionNew).
  net::awaitable<void> FinishWake(core::Sandbox starting, core::EventSource source,
                                  uint64_t kills);
  net::awaitable<void> FinishPause(core::Sandbox pausing, core::EventSource source);
  // Pauses a claimed (PAUSING) sandbox at the provider and records the
  // result: `paused`, or `pause_failed` (back to RUNNING with lastError).
  // Returns the provider's status.
  net::awaitable<Status> PauseClaimed(const core::Sandbox& pausing, core::EventSource source);
  // Makes the provider sandbox of a STARTING record and records it.
  // `kills_before`: KillsOf(project) taken before its create_requested was
  // applied; a kill committed since (even if a newer create has restarted the
  // record) makes this create remove its sandbox instead of recording it.
  net::awaitable<Result<core::Sandbox>> ProvisionNew(
      const std::string& project_id, core::EventSource source, uint64_t kills_before,
      std::optional<bool> allow_internet_access = std::nullopt);
  // Kill counting for creates in flight. WatchKills marks a create of
  // `project` as begun and returns the count so far; KillsOf gives the count
  // now (it only moves while some create of the project is watched);
  // UnwatchKills ends the watch. I/O thread only.
  uint64_t WatchKills(const std::string& project);
  uint64_t KillsOf(const std::string& project) const;
  void UnwatchKills(const std::string& project);
  // True while a create, wake or pause of `project` runs in this process
  // (a kill watch, or a pause at the provider). Reconcile leaves such a
  // record alone however old it is: a provider call may outlast the
  // in-flight grace (E2B: up to a minute with its retries). I/O thread only.
  bool OperationInFlight(const std::string& project) const;
  // Provider::List through CallProvider (for Reconcile, in reconcile.cc).
  net::awaitable<Result<provider::ListResult>> ListProvider();
  // Whether `stored` is a new record of a project that the read model holds
  // an older, forgotten one of (its version started over, so Put alone
  // would refuse it).
  bool Renewed(const core::Sandbox& stored) const;
  // Takes a forgotten record (below `version`) out of the read model and
  // tells the bus's removal subscribers; false when there was none.
  bool RemoveRecord(const std::string& project_id, int64_t version);
  // Provider::Kill through CallProvider (Kill, Reconcile's orphans, and a
  // create that finds its project killed).
  net::awaitable<Status> KillAtProvider(const std::string& sandbox_id);
  // Kills the sandbox a create made for a project killed meanwhile (a failed
  // kill is logged; the reconciler's orphan sweep removes it later) and says
  // so: always kFailedPrecondition.
  net::awaitable<Status> RemoveKilledDuringCreate(const std::string& project_id,
                                                  const std::string& sandbox_id);
  // Reconcile's second half: kills PlanOrphans(…) of `listed`.
  net::awaitable<void> KillOrphans(const std::vector<provider::ProviderSandbox>& listed);
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
  ApplyPipeline apply_;
  DeliveryHealth delivery_;
  struct StorePing {
    std::mutex mu;
    std::optional<Status> last;  // guarded by mu
    SteadyTime at;               // when `last` came back; guarded by mu
    bool in_flight = false;      // guarded by mu
    SteadyTime sent;             // when the ping in flight was sent; guarded by mu
  } ping_;
  std::atomic<int> background_{0};  // running FinishWake/FinishPause operations
  // Per project with a create in flight: how many creates watch it, and the
  // kills Kill committed meanwhile. Entries exist only while watched.
  struct KillWatch {
    int watchers = 0;
    uint64_t kills = 0;
  };
  std::map<std::string, KillWatch> kill_watch_;
  // Per project, its pauses at the provider (PauseClaimed). I/O thread only.
  std::map<std::string, int> pausing_;
};

}  // namespace sbx::lifecycle
