// The Store conformance suite: the specification every Store meets. Runs on
// SqliteStore(":memory:") and, through store_factories, on every other store
// that is configured for the test run.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>
#include <string>
#include <unordered_set>
#include <vector>
#include <thread>

#include "store/sqlite/sqlite_store.h"
#include "store/testing/records.h"
#include "store/testing/store_factories.h"

namespace sbx::store {
namespace {

using core::Sandbox;
using core::SandboxStatus;

using testing::Make;
using testing::Row;
using testing::T;

class StoreConformanceTest : public ::testing::TestWithParam<testing::StoreFactory> {
 protected:
  void SetUp() override {
    auto s = GetParam().make();
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(*s);
  }
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, InsertThenGetRoundTripsEveryField) {
  Sandbox s = Make("p1", 1);
  s.last_error = core::LastError{"pause_failed", "runc pause: exit 1", T(7)};
  s.provider_end_at = T(500);
  s.metadata["x"] = "y \"quoted\"";
  s.holds = {{"build", T(600)}};
  s.activity = {{"api", T(9)}, {"presence", T(10)}};
  ASSERT_TRUE(store_->CommitTransition(s, 0, "", std::nullopt).ok());
  auto got = store_->GetSandbox("p1");
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(*got, s);
  Sandbox plain = Make("p2", 1, SandboxStatus::kPaused);
  plain.url.reset();
  ASSERT_TRUE(store_->CommitTransition(plain, 0, "", std::nullopt).ok());
  EXPECT_EQ(*store_->GetSandbox("p2"), plain);
}

TEST_P(StoreConformanceTest, GetSandboxesReturnsThoseThatExist) {
  const std::vector<std::string> ids = {"p1", "we\"ird,{id}\\", "p3"};
  for (const std::string& id : ids) {
    ASSERT_TRUE(store_->CommitTransition(Make(id, 1), 0, "", std::nullopt).ok()) << id;
  }
  const std::vector<std::string> asked = {"p3", "none", "we\"ird,{id}\\", "p1"};
  auto got = store_->GetSandboxes(asked);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  std::vector<std::string> found;
  for (const Sandbox& s : *got) {
    EXPECT_EQ(s, *store_->GetSandbox(s.project_id));
    found.push_back(s.project_id);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> want = ids;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(found, want);
  EXPECT_TRUE(store_->GetSandboxes({})->empty());
}

TEST_P(StoreConformanceTest, GetUnknownIsNotFound) {
  auto got = store_->GetSandbox("nope");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, InsertTwiceConflicts) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "", std::nullopt).ok());
  Status s = store_->CommitTransition(Make("p1", 1), 0, "", std::nullopt);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
}

TEST_P(StoreConformanceTest, CompareAndSetRejectsStaleVersionAndWritesNothing) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "", std::nullopt).ok());
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 2), 1, "e1", Row("p1", "e1", "applied")).ok());
  Sandbox stale = Make("p1", 2, SandboxStatus::kPaused);
  Status s = store_->CommitTransition(stale, 1, "e2", Row("p1", "e2", "applied"));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->GetSandbox("p1")->status, SandboxStatus::kRunning);
  EXPECT_EQ(store_->GetSandbox("p1")->version, 2);
  // The failed transaction left neither the event id nor a history row.
  EXPECT_FALSE(*store_->IsEventProcessed("e2"));
  EXPECT_EQ(store_->ListHistory("p1", 10)->size(), 1u);
}

TEST_P(StoreConformanceTest, VersionMustFollowExpected) {
  Status s = store_->CommitTransition(Make("p1", 3), 0, "", std::nullopt);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ProcessedEventIdIsRejectedAndNothingWritten) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1", "applied")).ok());
  EXPECT_TRUE(*store_->IsEventProcessed("e1"));
  Status s = store_->CommitTransition(Make("p1", 2, SandboxStatus::kPaused), 1, "e1",
                                      Row("p1", "e1", "applied"));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetSandbox("p1")->version, 1);
  EXPECT_EQ(store_->ListHistory("p1", 10)->size(), 1u);
}

TEST_P(StoreConformanceTest, RecordEventMarksAndAppendsAtomically) {
  ASSERT_TRUE(store_->RecordEvent("e9", Row("p1", "e9", "stale")).ok());
  EXPECT_TRUE(*store_->IsEventProcessed("e9"));
  EXPECT_EQ(store_->RecordEvent("e9", Row("p1", "e9", "stale")).code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->AppendHistory(Row("p1", "e9", "duplicate")).ok());
  auto h = store_->ListHistory("p1", 10);
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].outcome, "duplicate");  // newest first
  EXPECT_EQ((*h)[1].outcome, "stale");
  EXPECT_GT((*h)[0].seq, (*h)[1].seq);
  HistoryRow expected = Row("p1", "e9", "stale");
  expected.seq = (*h)[1].seq;
  EXPECT_EQ((*h)[1], expected);
}

TEST_P(StoreConformanceTest, HistoryPagesGoBackFromTheSeqTheyAreGiven) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->AppendHistory(Row("p1", "e" + std::to_string(i), "duplicate")).ok());
  }
  ASSERT_TRUE(store_->AppendHistory(Row("p2", "other", "duplicate")).ok());
  auto first = store_->ListHistory("p1", 2, 0);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].event_id, "e4");
  EXPECT_EQ((*first)[1].event_id, "e3");
  auto second = store_->ListHistory("p1", 2, (*first)[1].seq);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].event_id, "e2");
  EXPECT_EQ((*second)[1].event_id, "e1");
  auto last = store_->ListHistory("p1", 2, (*second)[1].seq);
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].event_id, "e0");
  EXPECT_TRUE(store_->ListHistory("p1", 2, (*last)[0].seq)->empty());
}

TEST_P(StoreConformanceTest, HistoryKeepsADecisionsInputsWithTheTransition) {
  HistoryRow row = Row("p1", "", "applied");
  row.type = "pause_requested";
  row.source = "enforcer";
  row.status = "PAUSING";
  row.inputs = R"({"trigger":"timer","version":4,"replica":"r \"1\""})";
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "", row).ok());
  ASSERT_TRUE(store_->AppendHistory(Row("p1", "e2", "duplicate")).ok());
  auto h = store_->ListHistory("p1", 10);
  ASSERT_TRUE(h.ok()) << h.error().ToString();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[1].inputs, row.inputs);
  EXPECT_EQ((*h)[0].inputs, "");  // none given, none read back
}

// Webhook delivery as the history says: the newest webhook row, and the
// reconciler's repairs after it, in the store's order of recording (seq),
// whatever the recording replicas' clocks said.
TEST_P(StoreConformanceTest, SummarizeDeliveryReadsTheNewestWebhookAndTheDriftAfterIt) {
  auto at = [](const std::string& source, const std::string& outcome, int s) {
    HistoryRow row = Row("p1", "", outcome);
    row.source = source;
    row.recorded_at = T(s);
    return row;
  };
  auto empty = store_->SummarizeDelivery();
  ASSERT_TRUE(empty.ok()) << empty.error().ToString();
  EXPECT_EQ(*empty, DeliverySummary{});

  ASSERT_TRUE(store_->AppendHistory(at("reconciler", "applied", 10)).ok());
  EXPECT_EQ(*store_->SummarizeDelivery(),
            (DeliverySummary{.last_drift = T(10), .drift_since_webhook = 1}));  // none yet: all
  ASSERT_TRUE(store_->AppendHistory(at("webhook", "stale", 20)).ok());
  ASSERT_TRUE(store_->AppendHistory(at("reconciler", "applied", 30)).ok());
  ASSERT_TRUE(store_->AppendHistory(at("reconciler", "stale", 35)).ok());  // not a repair
  ASSERT_TRUE(store_->AppendHistory(at("reconciler", "applied", 40)).ok());
  ASSERT_TRUE(store_->AppendHistory(at("api", "applied", 50)).ok());
  auto s = store_->SummarizeDelivery();
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(*s, (DeliverySummary{
                    .last_webhook = T(20), .last_drift = T(40), .drift_since_webhook = 2}));
  // A webhook recorded later by a replica whose clock is behind: after the
  // repairs all the same.
  ASSERT_TRUE(store_->AppendHistory(at("webhook", "applied", 25)).ok());
  EXPECT_EQ(*store_->SummarizeDelivery(),
            (DeliverySummary{.last_webhook = T(25), .last_drift = T(40)}));
}

// The count of repairs stops at its bound, however long deliveries are lost.
TEST_P(StoreConformanceTest, SummarizeDeliveryCountsRepairsUpToItsBound) {
  for (int i = 0; i < Store::kMaxDriftCounted + 5; ++i) {
    HistoryRow row = Row("p1", "", "applied");
    row.source = "reconciler";
    ASSERT_TRUE(store_->AppendHistory(row).ok());
  }
  auto s = store_->SummarizeDelivery();
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(s->drift_since_webhook, Store::kMaxDriftCounted);
}

TEST_P(StoreConformanceTest, ProcessedAmongAnswersForManyIdsAtOnce) {
  // Ids that an array literal would have to quote or escape.
  const std::vector<std::string> stored = {"e1", "a\"b", "c\\d", "e,f", "{g}", "NULL", " h "};
  for (const std::string& id : stored) {
    ASSERT_TRUE(store_->RecordEvent(id, Row("p1", id, "stale")).ok());
  }
  std::vector<std::string> asked = stored;
  asked.insert(asked.end(), {"e2", "a", "b", "c\\", "null", "h", ""});
  auto seen = store_->ProcessedAmong(asked);
  ASSERT_TRUE(seen.ok()) << seen.error().ToString();
  EXPECT_EQ(*seen, std::unordered_set<std::string>(stored.begin(), stored.end()));
  EXPECT_TRUE(store_->ProcessedAmong({})->empty());
  // Inside a batch it sees the batch's own writes.
  Status s = store_->Batch([&]() -> Status {
    SBX_RETURN_IF_ERROR(store_->RecordEvent("e2", Row("p1", "e2", "stale")));
    const std::vector<std::string> ids = {"e2", "e3"};
    EXPECT_EQ(*store_->ProcessedAmong(ids), std::unordered_set<std::string>{"e2"});
    return OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST_P(StoreConformanceTest, HistoryLimitAndIsolation) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->AppendHistory(Row("a", "ea" + std::to_string(i), "applied")).ok());
    ASSERT_TRUE(store_->AppendHistory(Row("b", "eb" + std::to_string(i), "applied")).ok());
  }
  auto h = store_->ListHistory("a", 3);
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].event_id, "ea4");
  EXPECT_EQ((*h)[2].event_id, "ea2");
  EXPECT_TRUE(store_->ListHistory("zzz", 3)->empty());
}

TEST_P(StoreConformanceTest, ListIdleDueFindsOnlyRunningPastDeadlineInOrder) {
  Sandbox a = Make("a", 1);  // pauseAt = T(10) + 180 s
  Sandbox b = Make("b", 1);
  b.last_activity_at = T(0);  // pauseAt = T(180)
  Sandbox c = Make("c", 1, SandboxStatus::kPaused);
  c.last_activity_at = T(0);
  Sandbox d = Make("d", 1);
  d.idle_timeout_s = 10;  // pauseAt = T(20)
  for (auto* s : {&a, &b, &c, &d}) ASSERT_TRUE(store_->CommitTransition(*s, 0, "", std::nullopt).ok());
  auto due = store_->ListIdleDue(T(179), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].project_id, "d");
  due = store_->ListIdleDue(T(190), 10);
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].project_id, "d");
  EXPECT_EQ((*due)[1].project_id, "b");
  EXPECT_EQ((*due)[2].project_id, "a");
  EXPECT_EQ(store_->ListIdleDue(T(190), 2)->size(), 2u);
  // Activity moves the deadline: after the update b is no longer due.
  Sandbox b2 = b;
  b2.version = 2;
  b2.last_activity_at = T(100);
  ASSERT_TRUE(store_->CommitTransition(b2, 1, "", std::nullopt).ok());
  due = store_->ListIdleDue(T(190), 10);
  EXPECT_EQ(due->size(), 2u);
}

TEST_P(StoreConformanceTest, ListSandboxesPagesAndFilters) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->CommitTransition(
        Make("p" + std::to_string(i), 1, i % 2 ? SandboxStatus::kPaused : SandboxStatus::kRunning),
        0, "", std::nullopt).ok());
  }
  auto page = store_->ListSandboxes({.limit = 2});
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[1].project_id, "p1");
  page = store_->ListSandboxes({.limit = 10, .after_project_id = "p1"});
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].project_id, "p2");
  page = store_->ListSandboxes({.status = SandboxStatus::kPaused, .limit = 10});
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ(store_->LoadSandboxes()->size(), 5u);
}

TEST_P(StoreConformanceTest, JobRunsRoundTripNewestFirst) {
  JobRun r{.job = "idle-enforcer", .trigger = "schedule", .started_at = T(1), .finished_at = T(2), .checked = 3,
           .paused = 2, .failed = 1, .errors = {"p1: runc pause: exit 1"},
           .paused_projects = {"p2", "p3"}};
  auto id1 = store_->RecordJobRun(r);
  ASSERT_TRUE(id1.ok()) << id1.error().ToString();
  r.checked = 9;
  auto id2 = store_->RecordJobRun(r);
  ASSERT_TRUE(id2.ok());
  EXPECT_GT(*id2, *id1);
  auto runs = store_->ListJobRuns("idle-enforcer", 10);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].checked, 9);
  JobRun first = r;
  first.checked = 3;
  first.id = *id1;
  EXPECT_EQ((*runs)[1], first);
  EXPECT_TRUE(store_->ListJobRuns("other", 10)->empty());
  EXPECT_EQ(store_->ListJobRuns("idle-enforcer", 1)->size(), 1u);
}

TEST_P(StoreConformanceTest, JobRunsPageBackFromTheIdTheyAreGiven) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = store_->RecordJobRun({.job = "idle-enforcer", .trigger = "timer", .checked = i});
    ASSERT_TRUE(id.ok()) << id.error().ToString();
    ids.push_back(*id);
  }
  auto first = store_->ListJobRuns("idle-enforcer", 2, 0);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, ids[4]);
  auto next = store_->ListJobRuns("idle-enforcer", 2, first->back().id);
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].id, ids[2]);
  EXPECT_EQ((*next)[1].id, ids[1]);
  EXPECT_EQ(store_->ListJobRuns("idle-enforcer", 2, ids[1])->size(), 1u);
  EXPECT_TRUE(store_->ListJobRuns("idle-enforcer", 2, ids[0])->empty());
}

// Applied rows of `project` at T(at) with `status`, from `source`.
HistoryRow Applied(const std::string& project, int64_t at, const std::string& status,
                   const std::string& source = "runtime", const std::string& inputs = "") {
  HistoryRow h = Row(project, "", "applied");
  h.type = "x";
  h.source = source;
  h.at = T(at);
  h.recorded_at = T(at);
  h.status = status;
  h.inputs = inputs;
  return h;
}

TEST_P(StoreConformanceTest, TransitionsAreTheWindowsAppliedRowsNewestFirst) {
  ASSERT_TRUE(store_->AppendHistory(Applied("a", 5, "RUNNING")).ok());  // before the window
  ASSERT_TRUE(store_->AppendHistory(Applied("a", 20, "PAUSING", "enforcer",
                                            R"({"now":"x"})")).ok());
  HistoryRow dup = Row("a", "", "duplicate");  // no status: not a transition
  dup.status.reset();
  dup.recorded_at = T(21);
  ASSERT_TRUE(store_->AppendHistory(dup).ok());
  ASSERT_TRUE(store_->AppendHistory(Applied("b", 22, "KILLED", "api", R"({"ttl":1})")).ok());
  auto rows = store_->ListTransitions(T(10), 100);
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].project_id, "b");
  EXPECT_EQ((*rows)[0].status, "KILLED");
  EXPECT_EQ((*rows)[0].source, "api");
  EXPECT_EQ((*rows)[0].recorded_at, T(22));
  EXPECT_EQ((*rows)[0].inputs, "");  // only the enforcer's inputs are read
  EXPECT_EQ((*rows)[1].project_id, "a");
  EXPECT_EQ((*rows)[1].inputs, R"({"now":"x"})");
  EXPECT_GT((*rows)[0].seq, (*rows)[1].seq);
  EXPECT_EQ(store_->ListTransitions(T(10), 1)->size(), 1u);
}

TEST_P(StoreConformanceTest, StatusesBeforeGivesEachProjectsLastStatusBelowASeq) {
  ASSERT_TRUE(store_->AppendHistory(Applied("a", 1, "RUNNING")).ok());
  ASSERT_TRUE(store_->AppendHistory(Applied("a", 2, "PAUSED")).ok());
  HistoryRow unapplied = Row("a", "", "stale");
  unapplied.status.reset();
  ASSERT_TRUE(store_->AppendHistory(unapplied).ok());
  ASSERT_TRUE(store_->AppendHistory(Applied("b", 3, "STARTING")).ok());
  auto rows = store_->ListHistory("b", 1);
  const int64_t b_seq = rows->front().seq;
  ASSERT_TRUE(store_->AppendHistory(Applied("a", 4, "STARTING")).ok());
  const std::vector<std::string> projects = {"a", "b", "c"};
  auto before = store_->StatusesBefore(projects, b_seq + 1);
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  EXPECT_EQ(*before, (std::map<std::string, std::string>{{"a", "PAUSED"}, {"b", "STARTING"}}));
  EXPECT_EQ(*store_->StatusesBefore(projects, b_seq),
            (std::map<std::string, std::string>{{"a", "PAUSED"}}));
  EXPECT_TRUE(store_->StatusesBefore({}, b_seq)->empty());
}

TEST_P(StoreConformanceTest, CountHistoryCountsByBucketSourceAndOutcome) {
  ASSERT_TRUE(store_->AppendHistory(Applied("a", 9, "RUNNING")).ok());  // before `since`
  for (int64_t at : {10, 11, 70}) {
    HistoryRow h = Row("a", "", "applied");
    h.recorded_at = T(at);
    ASSERT_TRUE(store_->AppendHistory(h).ok());
  }
  HistoryRow dup = Row("a", "", "duplicate");
  dup.recorded_at = T(12);
  ASSERT_TRUE(store_->AppendHistory(dup).ok());
  ASSERT_TRUE(store_->AppendHistory(Applied("a", 13, "PAUSED", "api")).ok());
  HistoryRow late = Row("a", "", "applied");
  late.recorded_at = T(200);  // at `until`: outside
  ASSERT_TRUE(store_->AppendHistory(late).ok());
  auto counts = store_->CountHistory(T(10), T(200), std::chrono::minutes(1));
  ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  std::vector<HistoryCount> want = {
      {.bucket = 0, .source = "api", .outcome = "applied", .count = 1},
      {.bucket = 0, .source = "webhook", .outcome = "applied", .count = 2},
      {.bucket = 0, .source = "webhook", .outcome = "duplicate", .count = 1},
      {.bucket = 1, .source = "webhook", .outcome = "applied", .count = 1},
  };
  auto got = *counts;
  std::sort(got.begin(), got.end(), [](const HistoryCount& x, const HistoryCount& y) {
    return std::tie(x.bucket, x.source, x.outcome) < std::tie(y.bucket, y.source, y.outcome);
  });
  EXPECT_EQ(got, want);
  EXPECT_EQ(store_->CountHistory(T(10), T(200), std::chrono::milliseconds(0)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ForgetDeletesTheRecordAndSaysSoInItsHistory) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "", Row("p1", "e1", "applied")).ok());
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 2, SandboxStatus::kKilled), 1, "",
                                       Row("p1", "e2", "applied"))
                  .ok());
  ASSERT_TRUE(store_->CommitTransition(Make("p2", 1), 0, "", Row("p2", "e3", "applied")).ok());
  HistoryRow forgotten = Row("p1", "", "applied");
  forgotten.type = "forgotten";
  forgotten.status.reset();
  // The version moved: nothing changes.
  EXPECT_EQ(store_->ForgetSandbox("p1", 1, forgotten, true).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->ForgetSandbox("nope", 1, forgotten, true).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->ListHistory("p1", 10)->size(), 2u);
  auto kept = store_->ForgetSandbox("p1", 2, forgotten, false);
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  EXPECT_EQ(*kept, 0);
  EXPECT_EQ(store_->GetSandbox("p1").status().code(), StatusCode::kNotFound);
  auto rows = store_->ListHistory("p1", 10);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ(rows->front().type, "forgotten");
  // Made again and forgotten with its history: only the rows saying so stay,
  // newest on top, and other projects keep theirs.
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1, SandboxStatus::kKilled), 0, "",
                                       Row("p1", "e4", "applied"))
                  .ok());
  auto removed = store_->ForgetSandbox("p1", 1, forgotten, true);
  ASSERT_TRUE(removed.ok()) << removed.error().ToString();
  EXPECT_EQ(*removed, 4);
  rows = store_->ListHistory("p1", 10);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().type, "forgotten");
  EXPECT_GT(rows->front().seq, store_->ListHistory("p2", 10)->front().seq);
  EXPECT_EQ(store_->ListHistory("p2", 10)->size(), 1u);
  EXPECT_TRUE(store_->GetSandbox("p2").ok());
}

TEST_P(StoreConformanceTest, ConcurrentCompareAndSetHasExactlyOneWinner) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "", std::nullopt).ok());
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Sandbox next = Make("p1", 2, SandboxStatus::kPausing);
      if (store_->CommitTransition(next, 1, "t" + std::to_string(i), std::nullopt).ok()) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(store_->GetSandbox("p1")->version, 2);
}

TEST_P(StoreConformanceTest, BatchCommitsItsCallsTogetherAndTheySeeEachOther) {
  ASSERT_TRUE(store_->CommitTransition(Make("p0", 1), 0, "", std::nullopt).ok());
  Status s = store_->Batch([&]() -> Status {
    SBX_RETURN_IF_ERROR(
        store_->CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1", "applied")));
    // Later calls of the batch see the earlier ones' writes.
    EXPECT_EQ(store_->GetSandbox("p1")->version, 1);
    EXPECT_TRUE(*store_->IsEventProcessed("e1"));
    SBX_RETURN_IF_ERROR(store_->CommitTransition(Make("p1", 2, SandboxStatus::kPaused), 1, "e2",
                                                 Row("p1", "e2", "applied")));
    SBX_RETURN_IF_ERROR(store_->CommitTransition(Make("p0", 2), 1, "", std::nullopt));
    SBX_RETURN_IF_ERROR(store_->RecordEvent("e3", Row("p1", "e3", "stale")));
    return store_->AppendHistory(Row("p1", "e1", "duplicate"));
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(store_->GetSandbox("p1")->status, SandboxStatus::kPaused);
  EXPECT_EQ(store_->GetSandbox("p1")->version, 2);
  EXPECT_EQ(store_->GetSandbox("p0")->version, 2);
  for (const char* id : {"e1", "e2", "e3"}) EXPECT_TRUE(*store_->IsEventProcessed(id)) << id;
  EXPECT_EQ(store_->ListHistory("p1", 10)->size(), 4u);
}

TEST_P(StoreConformanceTest, FailedCallInsideABatchUndoesOnlyItself) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1", "applied")).ok());
  Status s = store_->Batch([&]() -> Status {
    EXPECT_TRUE(store_->CommitTransition(Make("p2", 1), 0, "e2", Row("p2", "e2", "applied")).ok());
    // A processed id: refused, and its sandbox change and history row with it.
    EXPECT_EQ(store_
                  ->CommitTransition(Make("p1", 2, SandboxStatus::kPaused), 1, "e1",
                                     Row("p1", "e1", "applied"))
                  .code(),
              StatusCode::kAlreadyExists);
    EXPECT_EQ(store_->RecordEvent("e2", Row("p1", "e2", "stale")).code(),
              StatusCode::kAlreadyExists);
    // A stale version: refused, and its event id with it.
    EXPECT_EQ(store_
                  ->CommitTransition(Make("p1", 2, SandboxStatus::kPaused), 0, "e4",
                                     Row("p1", "e4", "applied"))
                  .code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(store_
                  ->CommitTransition(Make("p1", 3, SandboxStatus::kPaused), 2, "e5",
                                     Row("p1", "e5", "applied"))
                  .code(),
              StatusCode::kFailedPrecondition);
    // Later calls still work and commit.
    return store_->CommitTransition(Make("p3", 1), 0, "e6", Row("p3", "e6", "applied"));
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(store_->GetSandbox("p1")->version, 1);
  EXPECT_EQ(store_->GetSandbox("p1")->status, SandboxStatus::kRunning);
  EXPECT_EQ(store_->ListHistory("p1", 10)->size(), 1u);
  EXPECT_FALSE(*store_->IsEventProcessed("e5"));
  EXPECT_TRUE(*store_->IsEventProcessed("e2"));
  EXPECT_TRUE(*store_->IsEventProcessed("e6"));
  EXPECT_EQ(store_->GetSandbox("p2")->version, 1);
  EXPECT_EQ(store_->GetSandbox("p3")->version, 1);
}

TEST_P(StoreConformanceTest, BatchWhoseBodyFailsWritesNothing) {
  Status s = store_->Batch([&]() -> Status {
    EXPECT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1", "applied")).ok());
    EXPECT_TRUE(store_->RecordEvent("e2", Row("p1", "e2", "stale")).ok());
    // A nested batch that fails undoes only its own writes.
    EXPECT_EQ(store_
                  ->Batch([&]() -> Status {
                    EXPECT_TRUE(store_->CommitTransition(Make("p2", 1), 0, "", std::nullopt).ok());
                    return Unavailable("nested failure");
                  })
                  .code(),
              StatusCode::kUnavailable);
    EXPECT_EQ(store_->GetSandbox("p2").error().code(), StatusCode::kNotFound);
    EXPECT_TRUE(store_->GetSandbox("p1").ok());
    return Unavailable("commit refused");
  });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->GetSandbox("p1").error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*store_->IsEventProcessed("e1"));
  EXPECT_FALSE(*store_->IsEventProcessed("e2"));
  EXPECT_TRUE(store_->ListHistory("p1", 10)->empty());
  // The store is usable afterwards, in and out of batches.
  ASSERT_TRUE(
      store_->Batch([&] { return store_->CommitTransition(Make("p1", 1), 0, "e1", std::nullopt); })
          .ok());
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 2), 1, "", std::nullopt).ok());
  EXPECT_EQ(store_->GetSandbox("p1")->version, 2);
}

TEST_P(StoreConformanceTest, CommitTransitionsWritesInOrderAndNamesTheFirstRefused) {
  const std::vector<TransitionWrite> writes = {
      {Make("p1", 1), 0, "e1", Row("p1", "e1", "applied")},
      {Make("p1", 2, SandboxStatus::kPaused), 1, "e2", Row("p1", "e2", "applied")},
      {Make("p2", 1), 0, "", std::nullopt}};
  Status s = store_->Batch([&] { return store_->CommitTransitions(writes); });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(store_->GetSandbox("p1")->status, SandboxStatus::kPaused);
  EXPECT_EQ(store_->GetSandbox("p1")->version, 2);
  EXPECT_EQ(store_->GetSandbox("p2")->version, 1);
  EXPECT_TRUE(*store_->IsEventProcessed("e1"));
  EXPECT_TRUE(*store_->IsEventProcessed("e2"));
  auto history = *store_->ListHistory("p1", 10);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].event_id, "e2");  // newest first: written in order
  EXPECT_EQ(history[1].event_id, "e1");

  // The second write expects a version the record no longer has: the call
  // names it, and the batch that passes the error on writes nothing.
  const std::vector<TransitionWrite> moved = {
      {Make("p3", 1), 0, "e3", Row("p3", "e3", "applied")},
      {Make("p1", 2), 1, "e4", Row("p1", "e4", "applied")},
      {Make("p4", 1), 0, "", std::nullopt}};
  s = store_->Batch([&] { return store_->CommitTransitions(moved); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("write 2 of 3"), std::string::npos) << s.message();
  EXPECT_EQ(store_->GetSandbox("p3").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetSandbox("p4").error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*store_->IsEventProcessed("e3"));
  EXPECT_EQ(store_->GetSandbox("p1")->version, 2);

  // An event processed before.
  const std::vector<TransitionWrite> again = {
      {Make("p5", 1), 0, "e1", Row("p5", "e1", "applied")}};
  s = store_->Batch([&] { return store_->CommitTransitions(again); });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetSandbox("p5").error().code(), StatusCode::kNotFound);

  // The store goes on, in and out of batches.
  const std::vector<TransitionWrite> next = {{Make("p5", 1), 0, "e5", std::nullopt}};
  ASSERT_TRUE(store_->CommitTransitions(next).ok());
  ASSERT_TRUE(store_->CommitTransitions({}).ok());
  EXPECT_EQ(store_->GetSandbox("p5")->version, 1);
}

TEST_P(StoreConformanceTest, OtherThreadsCallsDuringABatchStayOutsideIt) {
  ASSERT_TRUE(store_->CommitTransition(Make("p0", 1), 0, "", std::nullopt).ok());
  std::thread other;
  Status s = store_->Batch([&]() -> Status {
    SBX_RETURN_IF_ERROR(store_->CommitTransition(Make("p1", 1), 0, "", std::nullopt));
    // Another thread's write is its own transaction: it commits even though
    // this batch is then abandoned.
    other = std::thread(
        [&] { EXPECT_TRUE(store_->CommitTransition(Make("p0", 2), 1, "", std::nullopt).ok()); });
    // PostgreSQL runs it beside the batch on another connection; SQLite's
    // one connection makes it wait for the batch to end.
    if (dynamic_cast<SqliteStore*>(store_.get()) == nullptr) other.join();
    return Unavailable("abandon the batch");
  });
  if (other.joinable()) other.join();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->GetSandbox("p0")->version, 2);
  EXPECT_EQ(store_->GetSandbox("p1").error().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, PingAnswers) { EXPECT_TRUE(store_->Ping().ok()); }

// Sessions

TEST_P(StoreConformanceTest, SessionsAreCreatedFoundAndDeletedByTheirHash) {
  ASSERT_TRUE(store_->CreateSession("hash-a", T(0), T(3600)).ok());
  ASSERT_TRUE(store_->CreateSession("hash-b", T(5), T(10)).ok());
  auto a = store_->GetSession("hash-a");
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(*a, (SessionRecord{.id_hash = "hash-a", .created_at = T(0), .expires_at = T(3600)}));
  // A hash already stored is refused and the stored session stays as it was.
  EXPECT_EQ(store_->CreateSession("hash-a", T(7), T(7200)).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetSession("hash-a")->expires_at, T(3600));
  EXPECT_EQ(store_->CreateSession("", T(0), T(1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetSession("nope").error().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->DeleteSession("hash-a").ok());
  EXPECT_EQ(store_->GetSession("hash-a").error().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->DeleteSession("hash-a").ok());  // absent: still OK
  EXPECT_EQ(store_->GetSession("hash-b")->created_at, T(5));
}

TEST_P(StoreConformanceTest, PruneExpiredSessionsDeletesOnlyExpiredOnesInBatches) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->CreateSession("old-" + std::to_string(i), T(0), T(10 + i)).ok());
  }
  ASSERT_TRUE(store_->CreateSession("live", T(0), T(100)).ok());
  EXPECT_EQ(*store_->PruneExpiredSessions(T(12), 100), 3);  // expiry 10, 11, 12
  EXPECT_EQ(*store_->PruneExpiredSessions(T(99), 1), 1);    // one at a time
  EXPECT_EQ(*store_->PruneExpiredSessions(T(99), 100), 1);
  EXPECT_EQ(*store_->PruneExpiredSessions(T(99), 100), 0);
  EXPECT_TRUE(store_->GetSession("live").ok());
  EXPECT_EQ(store_->GetSession("old-4").error().code(), StatusCode::kNotFound);
}

// Retention

// History rows recorded at T(0), T(1), … for project `project`.
void AppendHistoryAt(Store& store, const std::string& project, int rows) {
  for (int i = 0; i < rows; ++i) {
    HistoryRow h = Row(project, project + "-" + std::to_string(i), "applied");
    h.recorded_at = T(i);
    ASSERT_TRUE(store.AppendHistory(h).ok());
  }
}

TEST_P(StoreConformanceTest, PruneHistoryDeletesTheOldestInBatchesAndKeepsTheRest) {
  AppendHistoryAt(*store_, "a", 10);
  EXPECT_EQ(*store_->PruneHistory(T(6), 4), 4);  // T(0)..T(3), oldest first
  auto h = store_->ListHistory("a", 100);
  ASSERT_EQ(h->size(), 6u);
  EXPECT_EQ(h->back().recorded_at, T(4));
  EXPECT_EQ(*store_->PruneHistory(T(6), 4), 2);  // T(4), T(5): nothing older than T(6) left
  EXPECT_EQ(*store_->PruneHistory(T(6), 4), 0);
  EXPECT_EQ(store_->ListHistory("a", 100)->size(), 4u);
  EXPECT_EQ(store_->PruneHistory(T(6), 0).error().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, PruneHistoryKeepsTheNewestRowSoSequenceNumbersNeverRepeat) {
  AppendHistoryAt(*store_, "a", 3);
  const int64_t newest = store_->ListHistory("a", 1)->front().seq;
  EXPECT_EQ(*store_->PruneHistory(T(1000), 100), 2);
  auto left = store_->ListHistory("a", 10);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().seq, newest);
  ASSERT_TRUE(store_->AppendHistory(Row("a", "later", "applied")).ok());
  EXPECT_GT(store_->ListHistory("a", 1)->front().seq, newest);
}

TEST_P(StoreConformanceTest, PruneProcessedEventsForgetsOldIdsOnly) {
  Sandbox s = Make("p1", 1);
  s.updated_at = T(1);  // CommitTransition marks the id processed at updated_at
  ASSERT_TRUE(store_->CommitTransition(s, 0, "old-commit", std::nullopt).ok());
  HistoryRow old_row = Row("p1", "old-record", "stale");
  old_row.recorded_at = T(2);  // RecordEvent marks it at recorded_at
  ASSERT_TRUE(store_->RecordEvent("old-record", old_row).ok());
  HistoryRow new_row = Row("p1", "new-record", "stale");
  new_row.recorded_at = T(50);
  ASSERT_TRUE(store_->RecordEvent("new-record", new_row).ok());
  EXPECT_EQ(*store_->PruneProcessedEvents(T(10), 1), 1);
  EXPECT_EQ(*store_->PruneProcessedEvents(T(10), 100), 1);
  EXPECT_EQ(*store_->PruneProcessedEvents(T(10), 100), 0);
  EXPECT_FALSE(*store_->IsEventProcessed("old-commit"));
  EXPECT_FALSE(*store_->IsEventProcessed("old-record"));
  EXPECT_TRUE(*store_->IsEventProcessed("new-record"));
  // A forgotten id is new again: the event applies (the known limit of
  // --retain-event-ids), while a remembered one is still refused.
  EXPECT_TRUE(store_->RecordEvent("old-record", old_row).ok());
  EXPECT_EQ(store_->RecordEvent("new-record", new_row).code(), StatusCode::kAlreadyExists);
  // Pruning touched no history and no record.
  EXPECT_EQ(store_->ListHistory("p1", 10)->size(), 3u);
  EXPECT_EQ(store_->GetSandbox("p1")->version, 1);
}

TEST_P(StoreConformanceTest, PruneJobRunsDeletesOldRunsButTheNewest) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store_
                    ->RecordJobRun({.job = i % 2 ? "a" : "b", .trigger = "schedule",
                                    .started_at = T(i), .finished_at = T(i)})
                    .ok());
  }
  EXPECT_EQ(*store_->PruneJobRuns(T(2), 100), 2);  // T(0), T(1)
  EXPECT_EQ(store_->ListJobRuns("a", 10)->size(), 1u);
  EXPECT_EQ(store_->ListJobRuns("b", 10)->size(), 1u);
  EXPECT_EQ(*store_->PruneJobRuns(T(100), 100), 1);  // T(2); T(3), the newest, stays
  auto left = store_->ListJobRuns("a", 10);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().finished_at, T(3));
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformanceTest,
                         ::testing::ValuesIn(testing::AllStoreFactories()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace sbx::store
