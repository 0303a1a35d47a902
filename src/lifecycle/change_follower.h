// ChangeFollower keeps this replica's read model current with what other
// replicas commit on a shared store: it polls a store::ChangeFeed on its own
// thread and hands each change to Lifecycle::Observe (which loads the record
// and publishes it), and after a lost feed connection or a failed poll it has
// Lifecycle::Resync reload everything, so a missed notification cannot leave
// the replica stale. Only Lifecycle writes the read model. Thread-safe;
// Stop() joins the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "base/clock.h"
#include "lifecycle/lifecycle.h"
#include "store/change_feed.h"

namespace sbx::lifecycle {

class ChangeFollower {
 public:
  ChangeFollower(Clock& clock, Lifecycle& lifecycle, store::ChangeFeed& feed);
  ~ChangeFollower();
  void Start();
  void Stop();
  // One round: resync if needed, then poll the feed up to `timeout` and
  // observe what it brought. The thread loops on it; tests call it directly.
  void PollOnce(std::chrono::milliseconds timeout);
  // True until a resync succeeded after the start or the latest miss.
  bool needs_resync() const { return need_resync_; }

 private:
  void Run();
  Clock& clock_;
  Lifecycle& lifecycle_;
  store::ChangeFeed& feed_;
  std::atomic<bool> need_resync_{true};  // changes committed before the feed started
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sbx::lifecycle
