// Retention: deletes what the store would otherwise keep forever (invariant
// 13): history rows, processed event ids and job runs older than their
// retention, and expired browser sessions. RetentionPass deletes in small
// batches, each its own short store call on the store's BlockingPool, so no
// request waits behind a long delete; RetentionJob runs a pass on a schedule,
// on the leader only. REQUIRES: one executor's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "jobs/leadership.h"
#include "jobs/periodic.h"
#include "store/store.h"

namespace sbx::jobs {

struct RetentionOptions {
  // How long each kind of row is kept, counted from when it was written; 0
  // keeps it forever. An event id older than event_ids is no longer known as
  // a duplicate: keep it longer than the provider retries a webhook.
  std::chrono::milliseconds history = std::chrono::hours(24 * 30);
  std::chrono::milliseconds event_ids = std::chrono::hours(24 * 7);
  std::chrono::milliseconds job_runs = std::chrono::hours(24 * 7);
  int batch = 500;         // rows per delete (one store call)
  int max_batches = 200;   // per kind of row per pass; the next pass goes on
  std::string schedule = "@every 5m";  // how often RetentionJob runs a pass
};

// What one pass deleted, by kind.
struct RetentionCounts {
  int64_t history = 0;
  int64_t event_ids = 0;
  int64_t job_runs = 0;
  int64_t sessions = 0;
  // A kind stopped at max_batches with more to delete: RetentionJob goes on
  // with another pass at once instead of at the next tick, so a deployment
  // that writes more rows per tick than a pass deletes does not fall behind.
  bool more = false;
  friend bool operator==(const RetentionCounts&, const RetentionCounts&) = default;
};

// One pass at `clock.Now()`: for each kind, deletes batches until one comes
// back short of `batch` rows or `max_batches` ran (then `more` is set). A failed delete
// (kUnavailable: the database is down or busy) ends the pass with that error;
// what was deleted before it stays deleted, and the next pass goes on.
net::awaitable<Result<RetentionCounts>> RetentionPass(Clock& clock, BlockingPool& pool,
                                                      store::Store& store,
                                                      RetentionOptions options);

class RetentionJob {
 public:
  RetentionJob(Clock& clock, BlockingPool& pool, store::Store& store, Leadership& leadership,
               RetentionOptions options);
  // kInvalidArgument for a bad schedule or a batch below 1.
  Status Start(net::any_io_executor executor);
  void Stop();

 private:
  Clock& clock_;
  BlockingPool& pool_;
  store::Store& store_;
  Leadership& leadership_;
  RetentionOptions options_;
  bool stopping_ = false;
  PeriodicJob job_;
};

}  // namespace sbx::jobs
