// LeaseLeadership: leadership among replicas that share a store. It holds the
// "sandboxd-leader" lease (store::LeaseStore, a row with a fencing token) and
// renews it every ttl/3 from its own thread; whoever holds it runs the
// enforcer, reconciler and keep-alive. A dead holder's lease expires after
// `ttl` and another replica takes over; Stop() releases it so a successor
// takes it at once. Thread-safe; Stop() joins the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "base/clock.h"
#include "jobs/leadership.h"
#include "store/leases.h"

namespace sbx::jobs {

inline constexpr char kLeaderLease[] = "sandboxd-leader";

class LeaseLeadership final : public Leadership {
 public:
  // `holder` names this replica in the lease row (unique per process).
  LeaseLeadership(Clock& clock, store::LeaseStore& leases, std::string holder,
                  std::chrono::milliseconds ttl);
  ~LeaseLeadership() override;
  void Start();
  void Stop();
  // One round: try to take or renew the lease and update IsLeader()/term().
  // The thread calls it every ttl/3; tests call it directly.
  void Renew();

  // Leadership
  bool IsLeader() const override { return leader_; }
  int64_t term() const override { return term_; }
  std::string holder() const override { return holder_; }

 private:
  void Run();
  Clock& clock_;
  store::LeaseStore& leases_;
  std::string holder_;
  std::chrono::milliseconds ttl_;
  std::atomic<bool> leader_{false};
  std::atomic<int64_t> term_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sbx::jobs
