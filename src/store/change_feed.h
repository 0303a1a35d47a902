// ChangeFeed tells one replica which sandbox records were committed, by any
// replica, on a store that several replicas share (PostgreSQL: NOTIFY inside
// each commit, PostgresStore::OpenChangeFeed). lifecycle::ChangeFollower reads
// it to keep the replica's read model current. A single-node store has no
// feed: every commit happens in this process. Not thread-safe: one thread
// polls. Poll blocks up to its timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/sandbox.h"

namespace sbx::store {

// One committed change: the project's record now has (at least) `version`.
struct Change {
  int64_t version = 0;
  std::string project_id;
  // The record as committed at `version`, when the notification could carry
  // it (PostgreSQL: when it fits the payload); otherwise the follower loads
  // it. Never set for a forgotten record.
  std::optional<core::Sandbox> record;
  friend bool operator==(const Change&, const Change&) = default;
};

struct ChangeBatch {
  std::vector<Change> changes;  // in commit order
  // Changes may have been missed before these (the feed lost its connection
  // and has just re-established it): reload every record.
  bool missed = false;
};

class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  // Waits up to `timeout` and returns as soon as there are changes (possibly
  // none, at the timeout). kUnavailable while the store cannot be reached;
  // the next Poll keeps trying and reports `missed` once it is back.
  virtual Result<ChangeBatch> Poll(std::chrono::milliseconds timeout) = 0;
};

}  // namespace sbx::store
