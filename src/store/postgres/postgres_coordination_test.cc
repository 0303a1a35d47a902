// What only PostgresStore has, part 2: leases, LISTEN/NOTIFY, recovery after
// a server restart or a hung server.
// Needs a server: run via tools/with_postgres (ctest does). Fails, rather than
// skips, when SBX_TEST_PG_URL is unset.
#include "store/postgres/postgres_store_test_support.h"

#include "store/codec.h"
#include "store/postgres/pg_notify.h"

namespace sbx::store {
namespace {


TEST_F(PostgresStoreTest, FreeLeaseIsTakenWithTheFirstToken) {
  auto lease = store_->TryAcquireLease("idle-enforcer", "replica-a", 10s, T(0));
  ASSERT_TRUE(lease.ok()) << lease.error().ToString();
  EXPECT_EQ(*lease, (Lease{.held = true, .token = 1}));
}

TEST_F(PostgresStoreTest, RenewalExtendsTheLeaseAndKeepsItsToken) {
  ASSERT_TRUE(store_->TryAcquireLease("l", "a", 10s, T(0))->held);
  EXPECT_EQ(*store_->TryAcquireLease("l", "a", 10s, T(5)), (Lease{.held = true, .token = 1}));
  // The renewal moved the expiry from T(10) to T(15).
  EXPECT_FALSE(store_->TryAcquireLease("l", "b", 10s, T(12))->held);
  EXPECT_EQ(*store_->TryAcquireLease("l", "b", 10s, T(15)), (Lease{.held = true, .token = 2}));
}

TEST_F(PostgresStoreTest, HeldLeaseIsRefusedUntilItExpiresThenHandedOver) {
  ASSERT_TRUE(store_->TryAcquireLease("l", "a", 10s, T(0))->held);
  auto refused = store_->TryAcquireLease("l", "b", 10s, T(10) - 1ms);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(*refused, Lease{});
  EXPECT_EQ(*store_->TryAcquireLease("l", "b", 10s, T(10)), (Lease{.held = true, .token = 2}));
  // The deposed holder cannot renew; it gets the lease back, with a new
  // token, only once b's expires.
  EXPECT_FALSE(store_->TryAcquireLease("l", "a", 10s, T(11))->held);
  EXPECT_EQ(*store_->TryAcquireLease("l", "a", 10s, T(20)), (Lease{.held = true, .token = 3}));
}

TEST_F(PostgresStoreTest, ReleasedLeaseIsFreeAtOnceAndTokensKeepGrowing) {
  ASSERT_TRUE(store_->TryAcquireLease("l", "a", 60s, T(0))->held);
  ASSERT_TRUE(store_->ReleaseLease("l", "b").ok());  // not b's: no change
  EXPECT_FALSE(store_->TryAcquireLease("l", "b", 60s, T(1))->held);
  ASSERT_TRUE(store_->ReleaseLease("l", "a").ok());
  EXPECT_EQ(*store_->TryAcquireLease("l", "b", 60s, T(1)), (Lease{.held = true, .token = 2}));
  ASSERT_TRUE(store_->ReleaseLease("l", "b").ok());
  EXPECT_EQ(*store_->TryAcquireLease("l", "b", 60s, T(2)), (Lease{.held = true, .token = 3}));
  // Leases are independent by name.
  EXPECT_EQ(*store_->TryAcquireLease("other", "a", 60s, T(2)), (Lease{.held = true, .token = 1}));
}

TEST_F(PostgresStoreTest, LeaseRejectsBadArguments) {
  EXPECT_EQ(store_->TryAcquireLease("", "a", 1s, T(0)).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->TryAcquireLease("l", "", 1s, T(0)).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->TryAcquireLease("l", "a", 0s, T(0)).error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(PostgresStoreTest, RacingHoldersExactlyOneWins) {
  for (int round = 0; round < 10; ++round) {
    const std::string name = "race-" + std::to_string(round);
    std::atomic<int> wins{0};
    std::atomic<int> errors{0};
    std::latch start(8);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        auto lease = store_->TryAcquireLease(name, "holder-" + std::to_string(i), 30s, T(0));
        if (!lease.ok()) {
          ++errors;
        } else if (lease->held) {
          EXPECT_EQ(lease->token, 1);
          ++wins;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0) << name;
    EXPECT_EQ(wins.load(), 1) << name;
  }
}

// LISTEN / NOTIFY

TEST_F(PostgresStoreTest, ListenerReceivesNotifyPayloadsInOrder) {
  auto listener = store_->Listen("sandbox_changes");
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  const std::vector<std::string> sent = {"p1:3", "it's \"quoted\" ünïcode", ""};
  for (const auto& p : sent) ASSERT_TRUE(store_->Notify("sandbox_changes", p).ok());
  EXPECT_EQ(PollFor(**listener, sent.size()), sent);
}

TEST_F(PostgresStoreTest, ListenerHearsOnlyItsChannel) {
  auto mine = PostgresListener::Open(url_, "Mixed Case \"chan\"");
  ASSERT_TRUE(mine.ok()) << mine.error().ToString();
  ASSERT_TRUE(store_->Notify("mixed case \"chan\"", "wrong case").ok());
  ASSERT_TRUE(store_->Notify("other", "other channel").ok());
  ASSERT_TRUE(store_->Notify("Mixed Case \"chan\"", "mine").ok());
  EXPECT_EQ(PollFor(**mine, 1), std::vector<std::string>{"mine"});
}

TEST_F(PostgresStoreTest, PollWithNothingSentReturnsEmptyAtTheTimeout) {
  auto listener = store_->Listen("quiet");
  ASSERT_TRUE(listener.ok());
  auto batch = (*listener)->Poll(20ms);
  ASSERT_TRUE(batch.ok()) << batch.error().ToString();
  EXPECT_TRUE(batch->payloads.empty());
  EXPECT_FALSE(batch->reconnected);
}

TEST_F(PostgresStoreTest, NotifyRejectsBadChannelsAndOversizedPayloads) {
  EXPECT_EQ(store_->Notify("", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Notify(std::string(64, 'c'), "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Notify("c", std::string(8000, 'x')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Listen("").error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->Notify("c", std::string(7999, 'x')).ok());
}

// Change notifications (pg_notify.h)

Sandbox Carryable() {
  Sandbox s = Make("p1", 4);
  s.last_error = core::LastError{"pause_failed", "runc pause:\nexit 1", T(7)};
  s.metadata["note"] = "it's \"quoted\" ünïcode";
  s.holds = {{"build", T(100)}};
  return s;
}

TEST(ChangePayloadTest, CarriesTheRecordWhenItFits) {
  const Sandbox s = Carryable();
  const std::string payload = ChangePayload(EncodeSandbox(s));
  EXPECT_EQ(payload.rfind("4:p1\n", 0), 0u) << payload;
  auto change = ParseChangePayload(payload);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->version, 4);
  EXPECT_EQ(change->project_id, "p1");
  ASSERT_TRUE(change->record.has_value());
  EXPECT_EQ(*change->record, s);
}

TEST(ChangePayloadTest, NamesOnlyWhatDoesNotFitOrIsGone) {
  // Metadata at its limit (8 KiB in all) does not fit a notification.
  Sandbox big = Carryable();
  for (int i = 0; i < 8; ++i) big.metadata[fmt::format("k{}", i)] = std::string(1000, 'v');
  EXPECT_EQ(ChangePayload(EncodeSandbox(big)), "4:p1");
  EXPECT_EQ(*ParseChangePayload("4:p1"), (Change{.version = 4, .project_id = "p1"}));
  EXPECT_EQ(RemovalPayload("p1", 5), "5:p1");
  // Just under the limit, the record rides along.
  Sandbox fits = Carryable();
  fits.metadata["pad"] = "";
  const size_t room = kMaxPayloadBytes - 1 - ChangePayload(EncodeSandbox(fits)).size();
  fits.metadata["pad"] = std::string(room, 'x');
  EXPECT_EQ(ChangePayload(EncodeSandbox(fits)).size(), kMaxPayloadBytes - 1);
  EXPECT_TRUE(ParseChangePayload(ChangePayload(EncodeSandbox(fits)))->record.has_value());
  fits.metadata["pad"] += "x";
  EXPECT_EQ(ChangePayload(EncodeSandbox(fits)), "4:p1");
}

TEST(ChangePayloadTest, ARecordThatDoesNotMatchItsHeadIsNotTaken) {
  const std::string record = EncodeSandboxJson(EncodeSandbox(Carryable()));
  // Another project's or version's record: the change is read by its head
  // alone,
  for (const std::string head : {"4:p2", "5:p1"}) {
    auto change = ParseChangePayload(head + "\n" + record);
    ASSERT_TRUE(change.has_value()) << head;
    EXPECT_FALSE(change->record.has_value()) << head;
  }
  // and a payload whose text after its last newline is no record is all
  // head (a project id from before ids were checked).
  EXPECT_EQ(*ParseChangePayload("4:p1\nx"), (Change{.version = 4, .project_id = "p1\nx"}));
  EXPECT_FALSE(ParseChangePayload("p1").has_value());
  EXPECT_FALSE(ParseChangePayload("four:p1\n" + record).has_value());
}

TEST_F(PostgresStoreTest, ChangeFeedCarriesEachCommittedRecordThatFits) {
  auto store = PostgresStore::Open(url_, {.change_channel = "changes"});
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  auto feed = (*store)->OpenChangeFeed();
  ASSERT_TRUE(feed.ok()) << feed.error().ToString();
  Sandbox s = Carryable();
  s.version = 1;
  ASSERT_TRUE((*store)->CommitTransition(s, 0, "e1", Row("p1", "e1")).ok());
  Sandbox big = Make("p2", 1);
  for (int i = 0; i < 8; ++i) big.metadata[fmt::format("k{}", i)] = std::string(1000, 'v');
  ASSERT_TRUE((*store)->CommitTransition(big, 0, "", std::nullopt).ok());
  ASSERT_TRUE((*store)->ForgetSandbox("p1", 1, Row("p1", ""), false).ok());
  std::vector<Change> got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*feed)->Poll(1s);
    ASSERT_TRUE(batch.ok()) << batch.error().ToString();
    got.insert(got.end(), batch->changes.begin(), batch->changes.end());
  }
  EXPECT_EQ(got, (std::vector<Change>{{.version = 1, .project_id = "p1", .record = s},
                                      {.version = 1, .project_id = "p2"},
                                      {.version = 2, .project_id = "p1"}}));
}

// Restarts and outages

class PostgresRestartTest : public PostgresStoreTest {
 protected:
  void SetUp() override {
    PostgresStoreTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_FALSE(testing::PostgresTestPgCtl().empty() || testing::PostgresTestDataDir().empty())
        << "SBX_TEST_PG_CTL and SBX_TEST_PG_DATA are not set: run via tools/with_postgres";
  }
  void TearDown() override {
    // Leave the server running for the next test whatever happened.
    if (stopped_) {
      EXPECT_EQ(Ctl("start"), 0);
    }
  }
  int Ctl(const std::string& action) {
    std::vector<std::string> args = {action, "-D", testing::PostgresTestDataDir(), "-w", "-s"};
    if (action != "start") args.insert(args.end(), {"-m", "fast"});
    const int rc = RunPgCtl(args);
    if (rc == 0) stopped_ = action == "stop";
    return rc;
  }
  bool stopped_ = false;
};

TEST_F(PostgresRestartTest, StoreAndListenerRecoverAfterServerRestart) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1")).ok());
  auto listener = store_->Listen("changes");
  ASSERT_TRUE(listener.ok());
  ASSERT_EQ(Ctl("restart"), 0);

  // Every pooled connection was closed by the restart; each call notices
  // and reconnects before running.
  for (int i = 0; i < 8; ++i) {
    auto got = store_->GetSandbox("p1");
    ASSERT_TRUE(got.ok()) << "call " << i << ": " << got.error().ToString();
    EXPECT_EQ(got->version, 1);
  }
  ASSERT_TRUE(
      store_->CommitTransition(Make("p1", 2, SandboxStatus::kPaused), 1, "e2", Row("p1", "e2"))
          .ok());

  auto batch = (*listener)->Poll(10s);
  ASSERT_TRUE(batch.ok()) << batch.error().ToString();
  EXPECT_TRUE(batch->reconnected);
  ASSERT_TRUE(store_->Notify("changes", "after restart").ok());
  EXPECT_EQ(PollFor(**listener, 1), std::vector<std::string>{"after restart"});
}

TEST_F(PostgresRestartTest, ServerDownIsUnavailableThenRecovers) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "", std::nullopt).ok());
  auto listener = store_->Listen("changes");
  ASSERT_TRUE(listener.ok());
  ASSERT_EQ(Ctl("stop"), 0);

  EXPECT_EQ(store_->Ping().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->GetSandbox("p1").error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->CommitTransition(Make("p1", 2), 1, "e2", Row("p1", "e2")).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(store_->RecordEvent("e3", Row("p1", "e3")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->TryAcquireLease("l", "a", 1s, T(0)).error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->Notify("changes", "x").code(), StatusCode::kUnavailable);
  auto down = (*listener)->Poll(50ms);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), StatusCode::kUnavailable);
  auto opened = PostgresStore::Open(url_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), StatusCode::kUnavailable);

  ASSERT_EQ(Ctl("start"), 0);
  EXPECT_TRUE(store_->Ping().ok());
  EXPECT_EQ(store_->GetSandbox("p1")->version, 1);  // nothing was half-written
  EXPECT_FALSE(*store_->IsEventProcessed("e2"));
  EXPECT_FALSE(*store_->IsEventProcessed("e3"));
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 2), 1, "e2", Row("p1", "e2")).ok());
  auto batch = (*listener)->Poll(10s);
  ASSERT_TRUE(batch.ok()) << batch.error().ToString();
  EXPECT_TRUE(batch->reconnected);
}

// A server that hangs (every process of the cluster stopped with SIGSTOP):
// calls fail within their deadline instead of hanging, and the store recovers
// by itself once the server moves again (SIGCONT).
class PostgresHangTest : public PostgresRestartTest {
 protected:
  static constexpr auto kStatementTimeout = 300ms;

  void SetUp() override {
    PostgresRestartTest::SetUp();
    if (HasFatalFailure()) return;
    auto store = PostgresStore::Open(url_, {.pool_size = 2,
                                            .connect_timeout = 2s,
                                            .statement_timeout = kStatementTimeout,
                                            .lock_timeout = 200ms,
                                            .borrow_timeout = 500ms,
                                            .retry_interval = 100ms});
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    hung_store_ = std::move(*store);
  }
  void TearDown() override {
    if (!stopped_pids_.empty()) Signal(SIGCONT);
    PostgresRestartTest::TearDown();
  }

  void Signal(int sig) {
    if (sig == SIGSTOP) stopped_pids_ = testing::PostgresClusterPids();
    for (pid_t pid : stopped_pids_) ::kill(pid, sig);
    if (sig == SIGCONT) stopped_pids_.clear();
  }

  // How long `call` takes.
  template <typename F>
  static std::chrono::steady_clock::duration Timed(F&& call) {
    const auto start = std::chrono::steady_clock::now();
    call();
    return std::chrono::steady_clock::now() - start;
  }

  std::unique_ptr<PostgresStore> hung_store_;
  std::vector<pid_t> stopped_pids_;
};

TEST_F(PostgresHangTest, HungServerFailsCallsWithinTheirDeadlineThenRecovers) {
  PostgresStore& store = *hung_store_;
  ASSERT_TRUE(store.CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1")).ok());
  Signal(SIGSTOP);
  ASSERT_GE(stopped_pids_.size(), 2u) << "the postmaster and its children";

  // The first call waits for an answer for statement_timeout + 1 s, then
  // closes its connection.
  Status write;
  auto took = Timed([&] { write = store.CommitTransition(Make("p1", 2), 1, "e2", Row("p1", "e2")); });
  EXPECT_EQ(write.code(), StatusCode::kUnavailable) << write.ToString();
  EXPECT_GE(took, kStatementTimeout);
  EXPECT_LT(took, kStatementTimeout + 3s);
  // The next ones fail at once, bar one probe per retry interval, which
  // waits at most the connect timeout.
  Status ping;
  took = Timed([&] { ping = store.Ping(); });
  EXPECT_EQ(ping.code(), StatusCode::kUnavailable) << ping.ToString();
  EXPECT_LT(took, 2s + 2s);
  for (int i = 0; i < 5; ++i) {
    Status again;
    took = Timed([&] { again = store.RecordEvent("e3", Row("p1", "e3")); });
    EXPECT_EQ(again.code(), StatusCode::kUnavailable) << again.ToString();
    EXPECT_LT(took, 2s + 2s);
  }

  Signal(SIGCONT);
  // Recovers by itself: within a few retry intervals a call gets through.
  Status back = Unavailable("not tried");
  const auto give_up = std::chrono::steady_clock::now() + 15s;
  while (!back.ok() && std::chrono::steady_clock::now() < give_up) {
    back = store.Ping();
    if (!back.ok()) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(back.ok()) << back.ToString();
  // The write that timed out never got past BEGIN: nothing of it was kept,
  // and it can be made again.
  EXPECT_EQ(store.GetSandbox("p1")->version, 1);
  EXPECT_FALSE(*store.IsEventProcessed("e2"));
  EXPECT_TRUE(store.CommitTransition(Make("p1", 2), 1, "e2", Row("p1", "e2")).ok());
}

// A lock held by another session ends a write at lock_timeout.
TEST_F(PostgresHangTest, WriteWaitingForALockFailsAtTheLockTimeout) {
  ASSERT_TRUE(hung_store_->CommitTransition(Make("p1", 1), 0, "", std::nullopt).ok());
  auto other = Raw();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->Exec("BEGIN; SELECT * FROM sandboxes FOR UPDATE").ok());
  Status write;
  auto took = Timed(
      [&] { write = hung_store_->CommitTransition(Make("p1", 2), 1, "e2", Row("p1", "e2")); });
  EXPECT_EQ(write.code(), StatusCode::kUnavailable) << write.ToString();
  EXPECT_LT(took, 2s);
  ASSERT_TRUE(other->Exec("ROLLBACK").ok());
  EXPECT_TRUE(hung_store_->CommitTransition(Make("p1", 2), 1, "e2", Row("p1", "e2")).ok());
}

}  // namespace
}  // namespace sbx::store
