// Leadership says whether this replica may run leader work (the idle
// enforcer, the reconciler, keep-alive). A single node is always the leader;
// replicas on PostgreSQL hold a lease (jobs/lease_leadership.h). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "lifecycle/apply.h"

namespace sbx::jobs {

class Leadership {
 public:
  virtual ~Leadership() = default;
  virtual bool IsLeader() const = 0;
  // Increases each time this replica gains leadership (0: never led).
  virtual int64_t term() const = 0;
  // Names this replica in the decisions it records.
  virtual std::string holder() const { return "single-node"; }
};

// The decider of leader work done by `leadership`'s replica on `trigger`.
inline lifecycle::Decider DeciderFor(const Leadership& leadership, std::string trigger) {
  return {.trigger = std::move(trigger),
          .replica = leadership.holder(),
          .leader_term = leadership.term()};
}

class AlwaysLeader final : public Leadership {
 public:
  bool IsLeader() const override { return true; }
  int64_t term() const override { return 1; }
};

}  // namespace sbx::jobs
