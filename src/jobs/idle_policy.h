// IdlePolicyJob runs the idle policies (policy/policy.h) in the daemon. Each
// pass reads the history rows recorded since the last one, turns them into
// what policies learn from (lifecycle::MomentsFrom) and teaches them to one
// instance of every policy and to the shadow. Then, on the leader only:
//   - a change of timeout by the policy that governs a project (its
//     idlePolicy, else --idle-policy) is written to the record as a settings
//     change from source "policy", its reason kept in history;
//   - a PAUSED project governed by a policy that pre-wakes, and whose policy
//     says so now, is woken (source "policy") and given the hold "prewake"
//     for the policy's grace: unless its user comes, the enforcer pauses it
//     again when the hold ends (a miss).
// The shadow (--policy-shadow) learns the same for every project and never
// acts: its changes and pre-wakes are counted (sandboxd_policy_shadow_*) and
// logged at debug; GET /api/policy/report replays it over history.
// The first pass learns from `learn_window` of history and acts only on what
// happened after the job was made: the records carry what was acted on
// before. After that a
// record's timeout is where a policy steps from (Policy::Adopt), so a timeout
// set by hand is not forgotten at the next step.
// REQUIRES: Start/Stop and the passes on one executor's thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "base/metrics.h"
#include "jobs/leadership.h"
#include "jobs/periodic.h"
#include "lifecycle/lifecycle.h"
#include "policy/policy.h"
#include "policy/replay.h"
#include "store/store.h"

namespace sbx::jobs {

inline constexpr char kPreWakeHold[] = "prewake";

struct IdlePolicyOptions {
  std::string default_policy = "fixed";  // --idle-policy
  std::string shadow;                    // --policy-shadow; empty: none
  policy::PolicyConfig config;           // --idle-timeout, --idle-policy-min/-max
  std::chrono::hours learn_window{24 * 28};
  std::string schedule = "@every 30s";
};

class IdlePolicyJob {
 public:
  // kInvalidArgument for an unknown policy name or bad bounds.
  static Result<std::unique_ptr<IdlePolicyJob>> Make(Clock& clock, BlockingPool& store_pool,
                                                     store::Store& store,
                                                     lifecycle::Lifecycle& lifecycle,
                                                     Leadership& leadership, Metrics& metrics,
                                                     IdlePolicyOptions options);
  // kInvalidArgument for a bad schedule.
  Status Start(net::any_io_executor executor);
  void Stop();

  // One pass (the schedule runs it). A failed history read is logged and
  // retried by the next pass.
  net::awaitable<void> Pass();

  // The policy that governs `s`: its own, else the deployment's.
  const std::string& Governing(const core::Sandbox& s) const;

 private:
  IdlePolicyJob(Clock& clock, BlockingPool& store_pool, store::Store& store,
                lifecycle::Lifecycle& lifecycle, Leadership& leadership, Metrics& metrics,
                IdlePolicyOptions options);
  // Teaches the moments of rows not seen yet; false if the read failed.
  net::awaitable<bool> Learn(SystemTime now);
  // Writes `changes` of the policy `name` for the projects it governs.
  net::awaitable<void> ApplyChanges(std::string name, std::vector<policy::Change> changes);
  net::awaitable<void> PreWake(SystemTime now);
  // Every policy instance that learns: one of each name, and the shadow.
  std::vector<policy::Policy*> Learners();
  // Pre-woken sandboxes whose user came (a hit: the policies learn the
  // return) or that were paused again (a miss).
  void FollowPreWakes();

  struct PreWoken {
    SystemTime paused_at{};
    SystemTime woke_at{};
  };

  Clock& clock_;
  BlockingPool& store_pool_;
  store::Store& store_;
  lifecycle::Lifecycle& lifecycle_;
  Leadership& leadership_;
  Metrics& metrics_;
  IdlePolicyOptions options_;
  SystemTime made_at_;
  std::map<std::string, std::unique_ptr<policy::Policy>> policies_;  // by name
  std::unique_ptr<policy::Policy> shadow_;
  policy::Teacher teacher_;
  bool learned_ = false;
  std::optional<SystemTime> last_read_;
  std::map<int64_t, SystemTime> seen_;  // history rows taught, by seq, with their time
  std::map<std::string, PreWoken> pre_woken_;
  PeriodicJob job_;
};

}  // namespace sbx::jobs
