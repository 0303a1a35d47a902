#include "jobs/retention.h"

#include <gtest/gtest.h>

#include "base/testing/fake_clock.h"
#include "base/testing/run_sync.h"
#include "store/sqlite/sqlite_store.h"
#include "store/testing/records.h"

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;
using sbx::testing::RunSync;
using store::testing::T;

// Leadership that a test flips.
class SwitchLeader final : public Leadership {
 public:
  bool IsLeader() const override { return leader; }
  int64_t term() const override { return 1; }
  bool leader = false;
};

class RetentionTest : public ::testing::Test {
 protected:
  // The clock starts at T(0); rows are written `age` before it.
  void AddHistory(int n, std::chrono::seconds age) {
    for (int i = 0; i < n; ++i) {
      store::HistoryRow h = store::testing::Row("p", "h" + std::to_string(next_++), "applied");
      h.recorded_at = clock_.Now() - age;
      ASSERT_TRUE(store_->AppendHistory(h).ok());
    }
  }
  void AddEvent(const std::string& id, std::chrono::seconds age) {
    store::HistoryRow h = store::testing::Row("", id, "orphan");
    h.recorded_at = clock_.Now() - age;  // RecordEvent marks the id at recorded_at
    ASSERT_TRUE(store_->RecordEvent(id, h).ok());
  }
  void AddJobRun(std::chrono::seconds age) {
    ASSERT_TRUE(store_
                    ->RecordJobRun({.job = "idle-enforcer",
                                    .trigger = "schedule",
                                    .started_at = clock_.Now() - age,
                                    .finished_at = clock_.Now() - age})
                    .ok());
  }
  size_t Count(const std::string& table) {
    if (table == "history") return store_->ListHistory("p", 1000)->size();
    return store_->ListJobRuns("idle-enforcer", 1000)->size();
  }

  net::io_context io_;
  FakeClock clock_{T(0)};
  BlockingPool pool_{{.threads = 0}};
  std::unique_ptr<store::SqliteStore> store_ = std::move(*store::SqliteStore::Open(":memory:"));
  int next_ = 0;
};

TEST_F(RetentionTest, PassDeletesOnlyRowsPastTheirRetentionInSmallBatches) {
  AddHistory(7, 40 * 24h);  // older than 30 days
  AddHistory(3, 29 * 24h);
  AddEvent("old", 8 * 24h);
  AddEvent("new", 6 * 24h);
  AddJobRun(8 * 24h);
  AddJobRun(8 * 24h);
  AddJobRun(1h);
  ASSERT_TRUE(store_->CreateSession("expired", T(-100), T(-1)).ok());
  ASSERT_TRUE(store_->CreateSession("live", T(-100), T(100)).ok());

  auto r = RunSync(io_, RetentionPass(clock_, pool_, *store_, {.batch = 2}));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  // The events' own history rows are orphans ("" project), not counted in "p".
  EXPECT_EQ(*r, (RetentionCounts{.history = 7, .event_ids = 1, .job_runs = 2, .sessions = 1}));
  EXPECT_EQ(Count("history"), 3u);
  EXPECT_FALSE(*store_->IsEventProcessed("old"));
  EXPECT_TRUE(*store_->IsEventProcessed("new"));
  EXPECT_EQ(Count("job_runs"), 1u);
  EXPECT_EQ(store_->GetSession("expired").error().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetSession("live").ok());
  // Nothing left to delete.
  EXPECT_EQ(*RunSync(io_, RetentionPass(clock_, pool_, *store_, {.batch = 2})),
            RetentionCounts{});
}

TEST_F(RetentionTest, APassStopsAfterMaxBatchesAndTheNextGoesOn) {
  AddHistory(10, 40 * 24h);
  AddHistory(1, 1h);
  RetentionOptions o{.batch = 3, .max_batches = 2};
  auto first = RunSync(io_, RetentionPass(clock_, pool_, *store_, o));
  EXPECT_EQ(first->history, 6);
  EXPECT_TRUE(first->more);
  auto second = RunSync(io_, RetentionPass(clock_, pool_, *store_, o));
  EXPECT_EQ(second->history, 4);
  EXPECT_FALSE(second->more);
  EXPECT_EQ(RunSync(io_, RetentionPass(clock_, pool_, *store_, o))->history, 0);
  EXPECT_EQ(Count("history"), 1u);
}

TEST_F(RetentionTest, ZeroRetentionKeepsRowsForever) {
  AddHistory(3, 400 * 24h);
  AddEvent("ancient", 400 * 24h);
  AddJobRun(400 * 24h);
  AddJobRun(400 * 24h);
  auto r = RunSync(io_, RetentionPass(clock_, pool_, *store_,
                                      {.history = 0ms, .event_ids = 0ms, .job_runs = 0ms}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, RetentionCounts{});
  EXPECT_EQ(Count("history"), 3u);
  EXPECT_TRUE(*store_->IsEventProcessed("ancient"));
  EXPECT_EQ(Count("job_runs"), 2u);
}

TEST_F(RetentionTest, RejectsABatchBelowOne) {
  auto r = RunSync(io_, RetentionPass(clock_, pool_, *store_, {.batch = 0}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  AlwaysLeader leader;
  RetentionJob job(clock_, pool_, *store_, leader, {.batch = 0});
  EXPECT_EQ(job.Start(io_.get_executor()).code(), StatusCode::kInvalidArgument);
  RetentionJob no_batches(clock_, pool_, *store_, leader, {.max_batches = 0});
  EXPECT_EQ(no_batches.Start(io_.get_executor()).code(), StatusCode::kInvalidArgument);
  RetentionJob bad_schedule(clock_, pool_, *store_, leader, {.schedule = "every day"});
  EXPECT_EQ(bad_schedule.Start(io_.get_executor()).code(), StatusCode::kInvalidArgument);
}

TEST_F(RetentionTest, JobRunsPassesOnScheduleOnlyOnTheLeader) {
  AddHistory(2, 40 * 24h);
  AddHistory(1, 1h);
  SwitchLeader leader;
  RetentionJob job(clock_, pool_, *store_, leader, {.schedule = "@every 5m"});
  ASSERT_TRUE(job.Start(io_.get_executor()).ok());
  AdvanceAndRun(io_, clock_, 5min);
  EXPECT_EQ(Count("history"), 3u);  // a follower deletes nothing
  leader.leader = true;
  AdvanceAndRun(io_, clock_, 5min);
  EXPECT_EQ(Count("history"), 1u);
  job.Stop();
  io_.restart();
  io_.poll();
}

// More rows than one pass deletes (a deployment writing faster than a pass
// per tick deletes): the job goes on with passes until none are left, in one
// tick, instead of falling further behind at each.
TEST_F(RetentionTest, JobCatchesUpWithinOneTickWhenAPassIsNotEnough) {
  AddHistory(25, 40 * 24h);
  AddHistory(1, 1h);
  AlwaysLeader leader;
  RetentionJob job(clock_, pool_, *store_, leader,
                   {.batch = 3, .max_batches = 2, .schedule = "@every 5m"});
  ASSERT_TRUE(job.Start(io_.get_executor()).ok());
  AdvanceAndRun(io_, clock_, 5min);
  EXPECT_EQ(Count("history"), 1u);
  job.Stop();
  io_.restart();
  io_.poll();
}

}  // namespace
}  // namespace sbx::jobs
