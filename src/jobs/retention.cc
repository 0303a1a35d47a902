#include "jobs/retention.h"

#include <fmt/format.h>

#include "base/log.h"

namespace sbx::jobs {
namespace {

using PruneCall = Result<int64_t> (store::Store::*)(SystemTime, int);

// Deletes batches of one kind of row older than `before` until a batch comes
// back short or `options.max_batches` ran; adds what it deleted to `*deleted`
// and sets `*more` when it stopped at max_batches with a full last batch.
net::awaitable<Status> PruneKind(BlockingPool& pool, store::Store& store, PruneCall prune,
                                 SystemTime before, const RetentionOptions& options,
                                 int64_t* deleted, bool* more) {
  for (int i = 0; i < options.max_batches; ++i) {
    const int limit = options.batch;
    Result<int64_t> n =
        co_await pool.Run([&store, prune, before, limit] { return (store.*prune)(before, limit); });
    if (!n.ok()) co_return n.error();
    *deleted += *n;
    if (*n < limit) co_return OkStatus();
  }
  *more = true;
  co_return OkStatus();
}

}  // namespace

net::awaitable<Result<RetentionCounts>> RetentionPass(Clock& clock, BlockingPool& pool,
                                                      store::Store& store,
                                                      RetentionOptions options) {
  if (options.batch < 1 || options.max_batches < 1) {
    co_return InvalidArgument(fmt::format("retention batch {} or max batches {} is below 1",
                                          options.batch, options.max_batches));
  }
  const SystemTime now = clock.Now();
  RetentionCounts counts;
  struct Kind {
    const char* name;
    std::chrono::milliseconds keep;
    PruneCall prune;
    int64_t* deleted;
  };
  const Kind kinds[] = {
      {"history", options.history, &store::Store::PruneHistory, &counts.history},
      {"event ids", options.event_ids, &store::Store::PruneProcessedEvents, &counts.event_ids},
      {"job runs", options.job_runs, &store::Store::PruneJobRuns, &counts.job_runs},
      // A session is deleted once it expired: its own expiry is its retention.
      {"sessions", std::chrono::milliseconds(0), &store::Store::PruneExpiredSessions,
       &counts.sessions},
  };
  for (const Kind& kind : kinds) {
    const bool sessions = kind.prune == &store::Store::PruneExpiredSessions;
    if (!sessions && kind.keep <= std::chrono::milliseconds(0)) continue;  // kept forever
    Status s = co_await PruneKind(pool, store, kind.prune, now - kind.keep, options, kind.deleted,
                                  &counts.more);
    if (!s.ok()) co_return s.WithContext(fmt::format("retention of {}", kind.name));
  }
  co_return counts;
}

RetentionJob::RetentionJob(Clock& clock, BlockingPool& pool, store::Store& store,
                           Leadership& leadership, RetentionOptions options)
    : clock_(clock),
      pool_(pool),
      store_(store),
      leadership_(leadership),
      options_(options),
      job_(clock, "retention", options.schedule, [this]() -> net::awaitable<void> {
        // Passes follow one another while one stops with more to delete:
        // each batch is its own store call, so requests go on between them.
        RetentionCounts total;
        for (bool more = true; more && leadership_.IsLeader() && !stopping_;) {
          auto r = co_await RetentionPass(clock_, pool_, store_, options_);
          if (!r.ok()) {
            SBX_LOG_WARN("{}", r.error().ToString());
            break;
          }
          total.history += r->history;
          total.event_ids += r->event_ids;
          total.job_runs += r->job_runs;
          total.sessions += r->sessions;
          more = r->more;
        }
        if (total.history + total.event_ids + total.job_runs + total.sessions > 0) {
          SBX_LOG_INFO("retention deleted {} history rows, {} event ids, {} job runs, {} sessions",
                       total.history, total.event_ids, total.job_runs, total.sessions);
        }
      }) {}

Status RetentionJob::Start(net::any_io_executor executor) {
  if (options_.batch < 1 || options_.max_batches < 1) {
    return InvalidArgument(fmt::format("retention batch {} or max batches {} is below 1",
                                       options_.batch, options_.max_batches));
  }
  return job_.Start(executor);
}

void RetentionJob::Stop() {
  stopping_ = true;
  job_.Stop();
}

}  // namespace sbx::jobs
