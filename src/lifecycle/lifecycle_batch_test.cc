// Lifecycle's group commit: queued events commit as one batch, a failed
// commit fails every event of it, a lone event does not wait.
#include "lifecycle/lifecycle_test_support.h"

#include <atomic>
#include <future>

#include "store/testing/forwarding_store.h"

namespace sbx::lifecycle {
namespace {

// Group commit. The store pool's one thread is held busy while events queue
// up, so the writer finds them all waiting and commits them as one batch.
struct BatchHarness {
  explicit BatchHarness(store::Store& s, LifecycleOptions options = {})
      : lifecycle(clock, store_pool, provider_pool, s, provider, ids, read_model, bus, metrics,
                  std::move(options)) {
    bus.Subscribe([this](const core::Sandbox& sb) { published.push_back(sb); });
  }

  // Starts every Apply while the store thread is blocked, then releases it
  // and waits for all results.
  std::vector<Result<ApplyResult>> ApplyTogether(const std::vector<LifecycleEvent>& events) {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    store_pool.Post([released] { released.wait(); });
    std::vector<std::optional<Result<ApplyResult>>> out(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      net::co_spawn(io, lifecycle.Apply(events[i]),
                    [&out, i](std::exception_ptr e, Result<ApplyResult> r) {
                      if (e) std::rethrow_exception(e);
                      out[i].emplace(std::move(r));
                    });
    }
    io.poll();  // every Apply is now queued behind the blocked thread
    release.set_value();
    auto done = [&] {
      return std::all_of(out.begin(), out.end(), [](const auto& r) { return r.has_value(); });
    };
    for (int i = 0; i < 5000 && !done(); ++i) {
      io.restart();
      io.run_for(std::chrono::milliseconds(1));
    }
    std::vector<Result<ApplyResult>> results;
    for (auto& r : out) {
      EXPECT_TRUE(r.has_value()) << "an Apply never completed";
      results.push_back(r ? std::move(*r) : Result<ApplyResult>(Internal("hung")));
    }
    return results;
  }

  net::io_context io;
  FakeClock clock;
  BlockingPool store_pool{{.threads = 1}};
  BlockingPool provider_pool{{.threads = 0}};
  provider::FakeProvider provider;
  IdGenerator ids{7};
  ReadModel read_model;
  EventBus bus;
  Metrics metrics;
  Lifecycle lifecycle;
  std::vector<core::Sandbox> published;
};

LifecycleEvent CreatedFor(const std::string& id, const std::string& project,
                          const std::string& sandbox, int64_t t_s) {
  LifecycleEvent e = Webhook(id, EventType::kCreated, t_s, sandbox);
  e.metadata = {{"projectId", project}};
  return e;
}

// Replays of one event inside a batch (and after it): one `duplicate` row.
TEST(LifecycleBatchTest, ReplaysInABatchAddOneDuplicateRow) {
  auto store = std::move(*store::SqliteStore::Open(":memory:"));
  BatchHarness h(*store);
  std::vector<LifecycleEvent> events(5, CreatedFor("c1", "p1", "sb1", 10));
  auto results = h.ApplyTogether(events);
  for (auto& r : results) ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(results[0]->outcome, Outcome::kApplied);
  for (size_t i = 1; i < results.size(); ++i) EXPECT_EQ(results[i]->outcome, Outcome::kDuplicate);
  auto again = h.ApplyTogether(events);
  for (auto& r : again) EXPECT_EQ(r->outcome, Outcome::kDuplicate);
  auto hist = store->ListHistory("p1", 20);
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[0].outcome, "duplicate");
  EXPECT_EQ((*hist)[1].outcome, "applied");
}

TEST(LifecycleBatchTest, QueuedEventsCommitTogetherAndSeeEachOther) {
  auto store = std::move(*store::SqliteStore::Open(":memory:"));
  BatchHarness h(*store);
  std::vector<LifecycleEvent> events;
  for (int i = 0; i < 20; ++i) {
    events.push_back(
        CreatedFor("c" + std::to_string(i), "p" + std::to_string(i), "sb" + std::to_string(i), 10));
  }
  // Later events of the batch build on earlier ones that are not committed
  // yet: a pause of a sandbox adopted in this batch, a replay of an event of
  // this batch, an older event, and an event for nobody.
  events.push_back(Webhook("x1", EventType::kPaused, 20, "sb3"));
  events.push_back(CreatedFor("c5", "p5", "sb5", 10));
  events.push_back(Webhook("x2", EventType::kResumed, 5, "sb3"));
  events.push_back(Webhook("x3", EventType::kPaused, 20, "nobody"));
  auto results = h.ApplyTogether(events);
  ASSERT_EQ(results.size(), 24u);
  for (auto& r : results) ASSERT_TRUE(r.ok()) << r.error().ToString();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(results[i]->outcome, Outcome::kApplied) << i;
  EXPECT_EQ(results[20]->outcome, Outcome::kApplied);
  EXPECT_EQ(results[20]->sandbox->status, SandboxStatus::kPaused);
  EXPECT_EQ(results[21]->outcome, Outcome::kDuplicate);
  EXPECT_EQ(results[22]->outcome, Outcome::kStale);
  EXPECT_EQ(results[23]->outcome, Outcome::kOrphan);
  // One transaction for all 24 events.
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_store_commits_total"), 1);
  // The read model and the store agree, and every change was published in order.
  EXPECT_EQ(h.lifecycle.Get("p3")->status, SandboxStatus::kPaused);
  EXPECT_EQ(*store->GetSandbox("p3"), *h.lifecycle.Get("p3"));
  EXPECT_EQ(h.read_model.All().size(), 20u);
  ASSERT_EQ(h.published.size(), 21u);
  EXPECT_EQ(h.published.back().project_id, "p3");
  EXPECT_EQ(h.published.back().status, SandboxStatus::kPaused);
  EXPECT_EQ(store->ListHistory("p3", 10)->size(), 3u);  // created, paused, stale resumed
  EXPECT_EQ(store->ListHistory("p5", 10)->size(), 2u);  // created, duplicate
}

using store::testing::ForwardingStore;

// A store whose batches never commit: everything else goes to SQLite.
class CommitFailingStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status Batch(const std::function<Status()>& body) override {
    // The body's writes really happen, then the commit is refused: the real
    // store rolls every one of them back.
    return inner_.Batch([&]() -> Status {
      Status s = body();
      return s.ok() ? Unavailable("disk went away during commit") : s;
    });
  }
};

// Writing project "poison" fails a statement, and as in PostgreSQL such a
// failure aborts the whole transaction it ran in: the batch cannot commit.
class PoisonStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status CommitTransition(const core::Sandbox& next, int64_t expected, const std::string& id,
                          const std::optional<store::HistoryRow>& h) override {
    if (next.project_id == "poison") {
      aborted_ = true;
      return Internal("value too long for type character varying");
    }
    if (aborted_) return Internal("current transaction is aborted");
    return inner_.CommitTransition(next, expected, id, h);
  }
  Status Batch(const std::function<Status()>& body) override {
    ++batches_;
    aborted_ = false;
    return inner_.Batch([&]() -> Status {
      SBX_RETURN_IF_ERROR(body());
      return aborted_ ? Internal("a statement of the transaction failed") : OkStatus();
    });
  }
  int batches() const { return batches_; }

 private:
  bool aborted_ = false;
  int batches_ = 0;
};

// The first time a batch sends its held writes, one of them finds its record
// moved, as when another replica committed first: nothing of that call is
// written. Later calls go to SQLite.
class RacedStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status CommitTransitions(std::span<const store::TransitionWrite> writes) override {
    ++held_sends_;
    if (held_sends_ == 1) {
      return FailedPrecondition("sandbox of project p2 changed (expected version 0)");
    }
    return ForwardingStore::CommitTransitions(writes);
  }
  Status Batch(const std::function<Status()>& body) override {
    ++batches_;
    return inner_.Batch(body);
  }
  int held_sends() const { return held_sends_; }
  int batches() const { return batches_; }

 private:
  int held_sends_ = 0;
  int batches_ = 0;
};

TEST(LifecycleBatchTest, BatchSendsItsWritesTogetherAndIsRedoneEventByEventOnAConflict) {
  auto sqlite = std::move(*store::SqliteStore::Open(":memory:"));
  RacedStore store(*sqlite);
  BatchHarness h(store);
  auto results = h.ApplyTogether(
      {CreatedFor("c1", "p1", "sb1", 10), CreatedFor("c2", "p2", "sb2", 10),
       Webhook("x1", EventType::kPaused, 20, "sb1"), CreatedFor("c3", "p3", "sb3", 10)});
  ASSERT_EQ(results.size(), 4u);
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->outcome, Outcome::kApplied);
  }
  // One send for the batch's four writes (refused), then each event in a
  // batch of its own, written at once (no held writes).
  EXPECT_EQ(store.held_sends(), 1);
  EXPECT_EQ(store.batches(), 5);
  EXPECT_EQ(sqlite->GetSandbox("p1")->status, SandboxStatus::kPaused);
  EXPECT_EQ(sqlite->GetSandbox("p2")->status, SandboxStatus::kRunning);
  EXPECT_EQ(sqlite->GetSandbox("p3")->status, SandboxStatus::kRunning);
  EXPECT_EQ(sqlite->ListHistory("p1", 10)->size(), 2u);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  // A conflict is not a store error.
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_store_errors_total"), 0);
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_store_commits_total"), 4);
}

// The batch's held writes go out early when a later event's outcome is
// recorded (history keeps the batch's order). If that send fails, the
// earlier events were not written: the batch must not commit as if they had
// been, whichever event's step met the failure.
TEST(LifecycleBatchTest, HeldWritesRefusedWhileRecordingALaterOutcomeAreRedoneNotLost) {
  auto sqlite = std::move(*store::SqliteStore::Open(":memory:"));
  RacedStore store(*sqlite);
  BatchHarness h(store);
  // c1 creates p1 (held), its replay is a duplicate whose history row sends
  // the held write first, and that send is refused.
  auto results = h.ApplyTogether({CreatedFor("c1", "p1", "sb1", 10),
                                  CreatedFor("c1", "p1", "sb1", 10)});
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok()) << results[0].error().ToString();
  EXPECT_EQ(results[0]->outcome, Outcome::kApplied);
  ASSERT_TRUE(results[1].ok()) << results[1].error().ToString();
  EXPECT_EQ(results[1]->outcome, Outcome::kDuplicate);
  // What was acknowledged as applied is in the store.
  auto stored = sqlite->GetSandbox("p1");
  ASSERT_TRUE(stored.ok()) << stored.error().ToString();
  EXPECT_EQ(stored->status, SandboxStatus::kRunning);
  EXPECT_EQ(stored->sandbox_id, "sb1");
  EXPECT_EQ(store.held_sends(), 1);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kRunning);
}

// A kill that reads the record while a create is committing (STARTING, no
// sandbox yet, so nothing to kill at the provider) must not record KILLED
// over the new sandbox and leave it running, paid for, at the provider.
TEST(LifecycleBatchTest, KillThatMeetsACommittingCreateKillsTheNewSandbox) {
  auto store = std::move(*store::SqliteStore::Open(":memory:"));
  BatchHarness h(*store);
  // The store's one thread runs its queue in order. It is held before the
  // create starts, so create_requested queues behind the first hold and a
  // second hold behind it: the thread commits create_requested and stops.
  // The create's write, made once the provider answers, then waits behind
  // the second hold, and so does the kill's.
  std::promise<void> first_release;
  std::shared_future<void> first_released = first_release.get_future().share();
  h.store_pool.Post([first_released] { first_released.wait(); });
  // Named: the coroutines keep a reference to it until they finish.
  const std::string project = "p1";
  std::optional<Result<CreateResult>> created;
  net::co_spawn(h.io, h.lifecycle.Create(project, {}),
                [&](std::exception_ptr e, Result<CreateResult> r) {
                  if (e) std::rethrow_exception(e);
                  created.emplace(std::move(r));
                });
  h.io.poll();  // create_requested is queued behind the first hold
  std::promise<void> reached;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  h.store_pool.Post([&reached, released] {
    reached.set_value();
    released.wait();
  });
  first_release.set_value();
  reached.get_future().wait();
  for (int i = 0; i < 5000 && h.provider.size() == 0; ++i) {
    h.io.restart();
    h.io.run_for(1ms);
  }
  h.io.restart();
  h.io.poll();
  ASSERT_EQ(h.provider.calls("create"), 1);
  ASSERT_EQ(h.provider.size(), 1u);
  ASSERT_TRUE(h.lifecycle.Get("p1").ok());
  ASSERT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kStarting);
  EXPECT_EQ(h.lifecycle.Get("p1")->sandbox_id, "");
  std::optional<Status> killed;
  net::co_spawn(h.io, h.lifecycle.Kill(project), [&](std::exception_ptr e, Status s) {
    if (e) std::rethrow_exception(e);
    killed.emplace(std::move(s));
  });
  h.io.restart();
  h.io.poll();
  release.set_value();
  for (int i = 0; i < 5000 && !(created && killed); ++i) {
    h.io.restart();
    h.io.run_for(1ms);
  }
  ASSERT_TRUE(created.has_value());
  ASSERT_TRUE(killed.has_value());
  EXPECT_TRUE(killed->ok()) << killed->ToString();
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kKilled);
  EXPECT_EQ(h.provider.size(), 0u) << "the sandbox made by the create is still at the provider";
}

// Its first batch commits, then waits to be let go before the writer goes on
// to the read model. Counts record reads.
class GatedStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status Batch(const std::function<Status()>& body) override {
    Status s = inner_.Batch(body);
    if (!gated_) {
      gated_ = true;
      committed.set_value();
      release.get_future().wait();
    }
    return s;
  }
  Result<core::Sandbox> GetSandbox(const std::string& p) override {
    ++reads;
    return inner_.GetSandbox(p);
  }
  Result<std::vector<core::Sandbox>> GetSandboxes(std::span<const std::string> ids) override {
    ++reads;
    return inner_.GetSandboxes(ids);
  }
  std::promise<void> committed;
  std::promise<void> release;
  std::atomic<int> reads = 0;

 private:
  bool gated_ = false;
};

// The change feed announces a commit as soon as it commits; for this
// replica's own commit that may be before the writer has put it in the read
// model. Observe waits for the writer instead of loading the record again.
TEST(LifecycleBatchTest, OwnCommitHeardBeforeItReachesTheReadModelIsNotLoadedAgain) {
  auto sqlite = std::move(*store::SqliteStore::Open(":memory:"));
  GatedStore store(*sqlite);
  BatchHarness h(store);
  std::optional<Result<ApplyResult>> applied;
  net::co_spawn(h.io, h.lifecycle.Apply(CreatedFor("c1", "p1", "sb1", 10)),
                [&](std::exception_ptr, Result<ApplyResult> r) { applied.emplace(std::move(r)); });
  h.io.poll();
  store.committed.get_future().wait();  // committed, not yet in the read model
  EXPECT_EQ(h.read_model.Version("p1"), 0);
  auto follower = std::async(std::launch::async, [&] { return h.lifecycle.Observe("p1", 1); });
  // Waiting for the writer.
  EXPECT_EQ(follower.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  store.release.set_value();
  Status observed = follower.get();
  EXPECT_TRUE(observed.ok()) << observed.ToString();
  EXPECT_EQ(h.read_model.Version("p1"), 1);
  EXPECT_EQ(store.reads, 0);
  for (int i = 0; i < 5000 && !applied; ++i) {
    h.io.restart();
    h.io.run_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(applied.has_value());
  EXPECT_TRUE(applied->ok());
}

TEST(LifecycleBatchTest, FailedCommitFailsEveryEventOfTheBatchAndChangesNothing) {
  auto sqlite = std::move(*store::SqliteStore::Open(":memory:"));
  CommitFailingStore store(*sqlite);
  BatchHarness h(store);
  auto results = h.ApplyTogether({CreatedFor("c1", "p1", "sb1", 10),
                                  Webhook("x1", EventType::kPaused, 20, "sb1"),
                                  CreatedFor("c2", "p2", "sb2", 10)});
  for (auto& r : results) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  }
  // Nothing reached the read model, the bus or the database; the events can
  // be delivered again.
  EXPECT_TRUE(h.read_model.All().empty());
  EXPECT_TRUE(h.published.empty());
  EXPECT_TRUE(sqlite->LoadSandboxes()->empty());
  EXPECT_FALSE(*sqlite->IsEventProcessed("c1"));
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_store_commits_total"), 0);
}

TEST(LifecycleBatchTest, EventThatAbortsItsBatchFailsAloneAndTheOthersAreWritten) {
  auto sqlite = std::move(*store::SqliteStore::Open(":memory:"));
  PoisonStore store(*sqlite);
  BatchHarness h(store);
  auto results = h.ApplyTogether(
      {CreatedFor("c1", "p1", "sb1", 10), CreatedFor("c2", "poison", "sb2", 10),
       CreatedFor("c3", "p3", "sb3", 10), Webhook("x1", EventType::kPaused, 20, "sb1")});
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0].ok()) << results[0].error().ToString();
  EXPECT_EQ(results[0]->outcome, Outcome::kApplied);
  ASSERT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].error().code(), StatusCode::kInternal);
  ASSERT_TRUE(results[2].ok()) << results[2].error().ToString();
  ASSERT_TRUE(results[3].ok()) << results[3].error().ToString();
  EXPECT_EQ(results[3]->outcome, Outcome::kApplied);
  // The batch, then each event alone.
  EXPECT_EQ(store.batches(), 5);
  EXPECT_EQ(sqlite->GetSandbox("p1")->status, SandboxStatus::kPaused);
  EXPECT_EQ(sqlite->GetSandbox("p3")->status, SandboxStatus::kRunning);
  EXPECT_EQ(sqlite->GetSandbox("poison").error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*sqlite->IsEventProcessed("c2"));
  EXPECT_EQ(h.read_model.All().size(), 2u);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, SandboxStatus::kPaused);
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_store_commits_total"), 3);
}

// The write queue is bounded: past max_queued waiting events, an event from
// outside is refused at once (503 upstream; E2B redelivers) and changes
// nothing, while sandboxd's own provider results are still queued.
TEST(LifecycleBatchTest, AFullWriteQueueRefusesEventsFromOutsideButNotOwnResults) {
  auto store = std::move(*store::SqliteStore::Open(":memory:"));
  BatchHarness h(*store, {.max_queued = 2});
  LifecycleEvent own_kill;
  own_kill.id = "own-kill";
  own_kill.type = EventType::kKilled;
  own_kill.source = EventSource::kApi;
  own_kill.project_id = "p1";
  own_kill.sandbox_id = "sb1";
  own_kill.timestamp = h.clock.Now();
  auto results = h.ApplyTogether({CreatedFor("c1", "p1", "sb1", 10),
                                  CreatedFor("c2", "p2", "sb2", 10),
                                  CreatedFor("c3", "p3", "sb3", 10), own_kill});
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0].ok()) << results[0].error().ToString();
  ASSERT_TRUE(results[1].ok()) << results[1].error().ToString();
  ASSERT_FALSE(results[2].ok());
  EXPECT_EQ(results[2].error().code(), StatusCode::kUnavailable) << results[2].error().ToString();
  ASSERT_TRUE(results[3].ok()) << results[3].error().ToString();
  EXPECT_EQ(results[3]->outcome, Outcome::kApplied);
  EXPECT_EQ(store->GetSandbox("p1")->status, SandboxStatus::kKilled);
  EXPECT_EQ(store->GetSandbox("p2")->status, SandboxStatus::kRunning);
  EXPECT_FALSE(store->GetSandbox("p3").ok()) << "a refused event changed the store";
  EXPECT_FALSE(h.lifecycle.Get("p3").ok());
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_apply_rejected_total"), 1);
  // Once the queue has drained, the refused event is taken again (E2B's
  // redelivery).
  auto again = h.ApplyTogether({CreatedFor("c3", "p3", "sb3", 10)});
  ASSERT_TRUE(again[0].ok()) << again[0].error().ToString();
  EXPECT_EQ(again[0]->outcome, Outcome::kApplied);
}

TEST(LifecycleBatchTest, LoneEventIsWrittenWithoutWaitingForOthers) {
  auto store = std::move(*store::SqliteStore::Open(":memory:"));
  BatchHarness h(*store);
  for (int i = 0; i < 3; ++i) {
    std::optional<Result<ApplyResult>> out;
    net::co_spawn(h.io,
                  h.lifecycle.Apply(CreatedFor("c" + std::to_string(i), "p" + std::to_string(i),
                                               "sb" + std::to_string(i), 10)),
                  [&](std::exception_ptr, Result<ApplyResult> r) { out.emplace(std::move(r)); });
    for (int n = 0; n < 5000 && !out; ++n) {
      h.io.restart();
      h.io.run_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(out.has_value());
    ASSERT_TRUE(out->ok());
  }
  EXPECT_EQ(h.metrics.CounterValue("sandboxd_store_commits_total"), 3);
}

// A store whose commits take 1.5 s on the harness's clock.
class SlowStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  FakeClock* clock = nullptr;  // the harness's, set once the harness exists
  Status Batch(const std::function<Status()>& body) override {
    clock->Advance(std::chrono::milliseconds(1500));
    return inner_.Batch(body);
  }
};

TEST(LifecycleBatchTest, CommitsAreTimed) {
  auto sqlite = std::move(*store::SqliteStore::Open(":memory:"));
  SlowStore store(*sqlite);
  BatchHarness h(store);
  store.clock = &h.clock;
  auto results = h.ApplyTogether({CreatedFor("c1", "p1", "sb1", 10)});
  ASSERT_TRUE(results[0].ok()) << results[0].error().ToString();
  const std::string text = h.metrics.Render();
  EXPECT_NE(text.find("sandboxd_store_commit_duration_seconds_count 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sandboxd_store_commit_duration_seconds_sum 1.5\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sandboxd_store_commit_duration_seconds_bucket{le=\"1\"} 0\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace sbx::lifecycle
