// Running several sandboxd replicas on one PostgreSQL:
// - PostgresLeadership holds the "sandboxd-leader" lease (a row with a
//   fencing token) and renews it every ttl/3 from its own thread; whoever holds
//   it runs the enforcer, reconciler and keep-alive. A dead holder's lease
//   expires after `ttl` and another replica takes over.
// - ChangeFollower LISTENs on the change channel PostgresStore notifies in
//   every commit, and refreshes this replica's read model (and so its SSE
//   streams) from the store; after a lost connection it reloads everything,
//   so a missed notification cannot leave the replica stale.
// Both own one thread each; Stop() joins it. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "base/clock.h"
#include "jobs/leadership.h"
#include "lifecycle/event_bus.h"
#include "lifecycle/read_model.h"
#include "store/postgres/postgres_store.h"

namespace sbx::app {

class PostgresLeadership final : public jobs::Leadership {
 public:
  // `on_gained` runs on the lease thread each time leadership is gained.
  PostgresLeadership(Clock& clock, store::PostgresStore& store, std::string holder,
                     std::chrono::milliseconds ttl, std::function<void()> on_gained);
  ~PostgresLeadership() override;
  void Start();
  void Stop();
  bool IsLeader() const override { return leader_; }
  int64_t term() const override { return term_; }

 private:
  void Run();
  Clock& clock_;
  store::PostgresStore& store_;
  std::string holder_;
  std::chrono::milliseconds ttl_;
  std::function<void()> on_gained_;
  std::atomic<bool> leader_{false};
  std::atomic<int64_t> term_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

class ChangeFollower {
 public:
  ChangeFollower(store::PostgresStore& store, lifecycle::ReadModel& read_model,
                 lifecycle::EventBus& bus, std::string channel);
  ~ChangeFollower();
  // Opens the listener (kUnavailable if PostgreSQL is down) and starts the thread.
  Status Start();
  void Stop();
  // Reloads every record, publishing the ones that changed.
  Status Resync();

 private:
  void Run();
  void Refresh(const std::string& payload);
  store::PostgresStore& store_;
  lifecycle::ReadModel& read_model_;
  lifecycle::EventBus& bus_;
  std::string channel_;
  std::unique_ptr<store::PostgresListener> listener_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sbx::app
