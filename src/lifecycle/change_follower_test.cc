#include "lifecycle/change_follower.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include "lifecycle/testing.h"

namespace sbx::lifecycle {
namespace {

using namespace std::chrono_literals;
using testing::Harness;

// A ChangeFeed answering Poll from a script.
class FakeChangeFeed final : public store::ChangeFeed {
 public:
  void Push(Result<store::ChangeBatch> batch) { script_.push_back(std::move(batch)); }
  Result<store::ChangeBatch> Poll(std::chrono::milliseconds) override {
    ++polls;
    if (script_.empty()) return store::ChangeBatch{};
    auto next = std::move(script_.front());
    script_.pop_front();
    return next;
  }
  int polls = 0;

 private:
  std::deque<Result<store::ChangeBatch>> script_;
};

// A running record at `version`, made now.
core::Sandbox Record(Harness& h, const std::string& project, int64_t version) {
  core::Sandbox s;
  s.project_id = project;
  s.sandbox_id = "sbx-" + project;
  s.status = core::SandboxStatus::kRunning;
  s.version = version;
  s.created_at = s.updated_at = s.last_activity_at = TruncateToMillis(h.clock.Now());
  return s;
}

// Writes a record the way another replica would: straight to the store,
// behind this replica's read model.
core::Sandbox CommitElsewhere(Harness& h, const std::string& project, int64_t version) {
  core::Sandbox s = Record(h, project, version);
  EXPECT_TRUE(h.store->CommitTransition(s, version - 1, "", std::nullopt).ok());
  return s;
}

struct Seen {
  explicit Seen(EventBus& bus) {
    bus.Subscribe([this](const core::Sandbox& s) { published.push_back(s.project_id); });
  }
  std::vector<std::string> published;
};

TEST(ChangeFollowerTest, ResyncsFirstThenObservesEachChange) {
  Harness h;
  CommitElsewhere(h, "before", 1);  // committed before the feed started
  FakeChangeFeed feed;
  Seen seen(h.bus);
  ChangeFollower follower(h.clock, h.lifecycle, feed);
  EXPECT_TRUE(follower.needs_resync());
  follower.PollOnce(500ms);
  EXPECT_FALSE(follower.needs_resync());
  EXPECT_TRUE(h.lifecycle.Get("before").ok());
  CommitElsewhere(h, "p1", 1);
  feed.Push(store::ChangeBatch{.changes = {{.version = 1, .project_id = "p1"}}});
  follower.PollOnce(500ms);
  ASSERT_TRUE(h.lifecycle.Get("p1").ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->version, 1);
  EXPECT_EQ(seen.published, (std::vector<std::string>{"before", "p1"}));
  // A notice of a version the read model already holds (its own commit)
  // costs no store read and publishes nothing.
  feed.Push(store::ChangeBatch{.changes = {{.version = 1, .project_id = "p1"}}});
  follower.PollOnce(500ms);
  EXPECT_EQ(seen.published.size(), 2u);
}

TEST(ChangeFollowerTest, AMissOrAFailedPollResyncsEverything) {
  Harness h;
  FakeChangeFeed feed;
  ChangeFollower follower(h.clock, h.lifecycle, feed);
  follower.PollOnce(500ms);
  ASSERT_FALSE(follower.needs_resync());
  // Changes whose notices were lost while the feed reconnected.
  CommitElsewhere(h, "lost", 1);
  feed.Push(store::ChangeBatch{.missed = true});
  follower.PollOnce(500ms);
  EXPECT_TRUE(follower.needs_resync());
  follower.PollOnce(500ms);
  EXPECT_TRUE(h.lifecycle.Get("lost").ok());
  EXPECT_FALSE(follower.needs_resync());
  // The store is unreachable: wait a little (the fake clock), then resync.
  CommitElsewhere(h, "later", 1);
  feed.Push(Unavailable("connection refused"));
  const SteadyTime before = h.clock.SteadyNow();
  follower.PollOnce(500ms);
  EXPECT_TRUE(follower.needs_resync());
  EXPECT_EQ(h.clock.SteadyNow() - before, 200ms);
  follower.PollOnce(500ms);
  EXPECT_TRUE(h.lifecycle.Get("later").ok());
}

// Kills and forgets `project` (held at `version`) the way another replica
// would; returns the version its notice carries.
int64_t ForgetElsewhere(Harness& h, const std::string& project, int64_t version) {
  core::Sandbox killed = *h.store->GetSandbox(project);
  killed.status = core::SandboxStatus::kKilled;
  killed.version = version + 1;
  EXPECT_TRUE(h.store->CommitTransition(killed, version, "", std::nullopt).ok());
  store::HistoryRow row{.project_id = project, .type = "forgotten", .source = "api"};
  EXPECT_TRUE(h.store->ForgetSandbox(project, version + 1, row, false).ok());
  return version + 2;
}

TEST(ChangeFollowerTest, ARecordForgottenElsewhereLeavesTheReadModel) {
  Harness h;
  std::vector<std::string> removed;  // what the bus told of (the SSE streams end)
  h.bus.SubscribeRemoved([&](const std::string& project) { removed.push_back(project); });
  FakeChangeFeed feed;
  ChangeFollower follower(h.clock, h.lifecycle, feed);
  CommitElsewhere(h, "p1", 1);
  CommitElsewhere(h, "p2", 1);
  follower.PollOnce(500ms);
  ASSERT_TRUE(h.lifecycle.Get("p1").ok());
  const int64_t gone = ForgetElsewhere(h, "p1", 1);
  feed.Push(store::ChangeBatch{.changes = {{.version = gone - 1, .project_id = "p1"},
                                          {.version = gone, .project_id = "p1"}}});
  follower.PollOnce(500ms);
  EXPECT_EQ(h.lifecycle.Get("p1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(removed, (std::vector<std::string>{"p1"}));
  // Made again (from version 1) and seen.
  h.clock.Advance(1s);
  CommitElsewhere(h, "p1", 1);
  feed.Push(store::ChangeBatch{.changes = {{.version = 1, .project_id = "p1"}}});
  follower.PollOnce(500ms);
  ASSERT_TRUE(h.lifecycle.Get("p1").ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->status, core::SandboxStatus::kRunning);
  // Forgotten and made again while the notices were lost: a resync drops the
  // old record and takes the new one, whose version is lower.
  follower.PollOnce(500ms);
  ForgetElsewhere(h, "p2", 1);
  ForgetElsewhere(h, "p1", 1);
  h.clock.Advance(1s);
  CommitElsewhere(h, "p1", 1);
  feed.Push(store::ChangeBatch{.missed = true});
  follower.PollOnce(500ms);
  follower.PollOnce(500ms);
  EXPECT_EQ(h.lifecycle.Get("p2").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(h.lifecycle.Get("p1").ok());
  EXPECT_EQ(h.lifecycle.Get("p1")->version, 1);
  EXPECT_EQ(h.lifecycle.Get("p1")->status, core::SandboxStatus::kRunning);
  // The old p1 went as much as p2 did.
  std::sort(removed.begin() + 1, removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"p1", "p1", "p2"}));
}

TEST(ChangeFollowerTest, ChangesOfOnePollAreLoadedTogetherEachOnce) {
  Harness h;
  FakeChangeFeed feed;
  Seen seen(h.bus);
  ChangeFollower follower(h.clock, h.lifecycle, feed);
  CommitElsewhere(h, "p1", 1);
  follower.PollOnce(500ms);  // the resync takes p1
  CommitElsewhere(h, "p1", 2);
  CommitElsewhere(h, "p1", 3);
  CommitElsewhere(h, "p2", 1);
  const int64_t gone = ForgetElsewhere(h, "p1", 3);
  CommitElsewhere(h, "p3", 1);
  // p1 changed twice and was then forgotten; p2 and p3 are new.
  feed.Push(store::ChangeBatch{.changes = {{.version = 2, .project_id = "p1"},
                                          {.version = 1, .project_id = "p2"},
                                          {.version = 3, .project_id = "p1"},
                                          {.version = gone, .project_id = "p1"},
                                          {.version = 1, .project_id = "p3"}}});
  follower.PollOnce(500ms);
  EXPECT_EQ(h.lifecycle.Get("p1").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(h.lifecycle.Get("p2").ok());
  ASSERT_TRUE(h.lifecycle.Get("p3").ok());
  // Each record that is still there is published once, at its newest.
  EXPECT_EQ(seen.published, (std::vector<std::string>{"p1", "p2", "p3"}));
  EXPECT_FALSE(follower.needs_resync());
}

// A record as another replica would commit it, left out of the store: only
// the change that carries it can bring it to this replica.
core::Sandbox Carried(Harness& h, const std::string& project, int64_t version) {
  core::Sandbox s = Record(h, project, version);
  s.sandbox_id = "sbx-carried-" + project;
  s.status = core::SandboxStatus::kPaused;
  return s;
}

TEST(ChangeFollowerTest, AChangeThatCarriesItsRecordIsTakenWithoutALoad) {
  Harness h;
  FakeChangeFeed feed;
  Seen seen(h.bus);
  ChangeFollower follower(h.clock, h.lifecycle, feed);
  follower.PollOnce(500ms);  // the first resync
  // p1 arrives with its record only; p2's notice carries none (too large to
  // fit), so it is loaded; p3's newest notice carries none, so the record an
  // older notice carried is not taken but the newest is loaded.
  const core::Sandbox p1 = Carried(h, "p1", 1);
  const core::Sandbox p2 = CommitElsewhere(h, "p2", 1);
  CommitElsewhere(h, "p3", 1);
  const core::Sandbox p3 = CommitElsewhere(h, "p3", 2);
  feed.Push(store::ChangeBatch{.changes = {{.version = 1, .project_id = "p1", .record = p1},
                                          {.version = 1, .project_id = "p2"},
                                          {.version = 1, .project_id = "p3",
                                           .record = Carried(h, "p3", 1)},
                                          {.version = 2, .project_id = "p3"}}});
  follower.PollOnce(500ms);
  for (const std::string p : {"p1", "p2", "p3"}) ASSERT_TRUE(h.lifecycle.Get(p).ok()) << p;
  EXPECT_EQ(h.lifecycle.Get("p1").value(), p1);
  EXPECT_EQ(h.lifecycle.Get("p2").value(), p2);
  EXPECT_EQ(h.lifecycle.Get("p3").value(), p3);
  EXPECT_EQ(seen.published, (std::vector<std::string>{"p1", "p2", "p3"}));
  // A carried record newer than the one held replaces it; one no newer
  // (this replica's own commit, announced back) changes nothing.
  const core::Sandbox p1_next = Carried(h, "p1", 2);
  feed.Push(store::ChangeBatch{.changes = {{.version = 2, .project_id = "p1", .record = p1_next},
                                          {.version = 2, .project_id = "p3",
                                           .record = Carried(h, "p3", 2)}}});
  follower.PollOnce(500ms);
  EXPECT_EQ(h.lifecycle.Get("p1").value(), p1_next);
  EXPECT_EQ(h.lifecycle.Get("p3").value(), p3);
  EXPECT_EQ(seen.published, (std::vector<std::string>{"p1", "p2", "p3", "p1"}));
  EXPECT_FALSE(follower.needs_resync());
}

}  // namespace
}  // namespace sbx::lifecycle
