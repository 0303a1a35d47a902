// What only PostgresStore has: leases, LISTEN/NOTIFY, recovery after a server
// restart, migrations raced by replicas, its tables (against store/schema.h),
// the pause_at index at 100k rows.
// Needs a server: run via tools/with_postgres (ctest does). Fails, rather than
// skips, when SBX_TEST_PG_URL is unset.
#include "store/postgres/postgres_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <latch>
#include <set>
#include <thread>

#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_migrations.h"
#include "store/postgres/testing/pg_test_env.h"
#include "store/schema.h"
#include "store/testing/records.h"

extern char** environ;

namespace sbx::store {
namespace {

using core::Sandbox;
using core::SandboxStatus;
using namespace std::chrono_literals;

using testing::Make;
using testing::T;

HistoryRow Row(const std::string& project, const std::string& event_id) {
  return testing::Row(project, event_id, "applied");
}

// Runs `$SBX_TEST_PG_CTL args...` and returns its exit code.
int RunPgCtl(std::vector<std::string> args) {
  const std::string pg_ctl = testing::PostgresTestPgCtl();
  if (pg_ctl.empty()) return -1;
  args.insert(args.begin(), pg_ctl);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, pg_ctl.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = testing::PostgresTestUrl();
    ASSERT_TRUE(url.has_value()) << testing::kRunViaWithPostgres;
    url_ = *url;
    auto store = testing::OpenEmptyPostgresStore(url_);
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(*store);
  }

  // A plain connection, for what the store does not expose.
  std::unique_ptr<PgConnection> Raw() {
    auto conn = PgConnection::Connect({.url = url_});
    EXPECT_TRUE(conn.ok()) << conn.error().ToString();
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  // Runs `sql` on a plain connection and returns the first column of each row.
  std::vector<std::string> Query(const std::string& sql) {
    std::vector<std::string> out;
    auto conn = Raw();
    if (!conn) return out;
    auto r = conn->Exec(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
    if (!r.ok()) return out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(r->Text(i, 0));
    return out;
  }

  // A URL whose connections use the fresh, empty schema `schema`.
  std::string UrlWithSchema(const std::string& schema) {
    Query("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema);
    const char sep = url_.find('?') == std::string::npos ? '?' : '&';
    return url_ + sep + "options=-csearch_path%3D" + schema;
  }

  // Collects payloads until `n` arrived or 10 s passed.
  static std::vector<std::string> PollFor(PostgresListener& listener, size_t n) {
    std::vector<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto batch = listener.Poll(1s);
      EXPECT_TRUE(batch.ok()) << batch.error().ToString();
      if (!batch.ok()) break;
      got.insert(got.end(), batch->payloads.begin(), batch->payloads.end());
    }
    return got;
  }

  std::string url_;
  std::unique_ptr<PostgresStore> store_;
};

// Leases

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

// Concurrency

TEST_F(PostgresStoreTest, ConcurrentCommitTransitionHasOneWinnerAndLosersWriteNothing) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "", std::nullopt).ok());
  std::vector<Status> results(8);
  std::latch start(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Sandbox next = Make("p1", 2, SandboxStatus::kPausing);
      next.sandbox_id = "winner-" + std::to_string(i);
      const std::string event = "t" + std::to_string(i);
      start.arrive_and_wait();
      results[static_cast<size_t>(i)] = store_->CommitTransition(next, 1, event, Row("p1", event));
    });
  }
  for (auto& t : threads) t.join();
  int winner = -1;
  for (int i = 0; i < 8; ++i) {
    const Status& s = results[static_cast<size_t>(i)];
    if (s.ok()) {
      EXPECT_EQ(winner, -1) << "two winners";
      winner = i;
    } else {
      EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
    }
  }
  ASSERT_NE(winner, -1);
  auto got = store_->GetSandbox("p1");
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->sandbox_id, "winner-" + std::to_string(winner));
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(*store_->IsEventProcessed("t" + std::to_string(i)), i == winner) << i;
  }
  auto history = store_->ListHistory("p1", 100);
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].event_id, "t" + std::to_string(winner));
}

TEST_F(PostgresStoreTest, ConcurrentFirstInsertsHaveOneWinner) {
  std::atomic<int> wins{0};
  std::atomic<int> conflicts{0};
  std::latch start(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      Status s = store_->CommitTransition(Make("new", 1), 0, "", std::nullopt);
      if (s.ok()) ++wins;
      if (s.code() == StatusCode::kFailedPrecondition) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
}

TEST_F(PostgresStoreTest, RacingSameEventIdIsAppliedOnce) {
  std::atomic<int> wins{0};
  std::atomic<int> duplicates{0};
  std::latch start(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      const std::string project = "p" + std::to_string(i);
      start.arrive_and_wait();
      Status s = store_->CommitTransition(Make(project, 1), 0, "same", Row(project, "same"));
      if (s.ok()) ++wins;
      if (s.code() == StatusCode::kAlreadyExists) ++duplicates;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(duplicates.load(), 7);
  EXPECT_EQ(store_->LoadSandboxes()->size(), 1u);
}

TEST_F(PostgresStoreTest, ManyThreadsShareASmallPool) {
  auto small = PostgresStore::Open(url_, {.pool_size = 2});
  ASSERT_TRUE(small.ok()) << small.error().ToString();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 20; ++j) {
        if (!(*small)
                 ->AppendHistory(Row("shared", std::to_string(i) + "-" + std::to_string(j)))
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = store_->ListHistory("shared", 1000);
  ASSERT_EQ(rows->size(), 320u);
  std::set<int64_t> seqs;
  for (const auto& r : *rows) seqs.insert(r.seq);
  EXPECT_EQ(seqs.size(), 320u);
}

// Schema and migrations

TEST_F(PostgresStoreTest, ReplicasOpeningAtOnceMigrateOnce) {
  const std::string url = UrlWithSchema("replicas");
  std::vector<Status> results(4);
  std::latch start(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = PostgresStore::Open(url, {.pool_size = 1}).status();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Query("SELECT count(*) FROM replicas.schema_migrations"),
            std::vector<std::string>{std::to_string(PostgresMigrations().size())});
}

TEST_F(PostgresStoreTest, ReopenKeepsDataAndSchemaVersion) {
  const std::string url = UrlWithSchema("reopen");
  {
    auto s = PostgresStore::Open(url);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    ASSERT_TRUE((*s)->CommitTransition(Make("p1", 1), 0, "e1", std::nullopt).ok());
  }
  auto s = PostgresStore::Open(url);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(*(*s)->SchemaVersion(), static_cast<int64_t>(PostgresMigrations().size()));
  EXPECT_EQ((*s)->GetSandbox("p1")->sandbox_id, "sbx-p1");
  EXPECT_TRUE(*(*s)->IsEventProcessed("e1"));
  // The default schema of the fixture's store is untouched.
  EXPECT_FALSE(*store_->IsEventProcessed("e1"));
}

TEST_F(PostgresStoreTest, RefusesADatabaseWithANewerSchema) {
  const std::string url = UrlWithSchema("newer");
  ASSERT_TRUE(PostgresStore::Open(url).ok());
  Query("INSERT INTO newer.schema_migrations VALUES (999, 0)");
  auto s = PostgresStore::Open(url);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.error().message().find("newer"), std::string::npos) << s.error().message();
}

// PostgreSQL's tables are the ones store/schema.h describes, column for
// column, with identity columns where the store assigns the value.
TEST_F(PostgresStoreTest, SchemaMatchesTheSchemaDescription) {
  std::vector<std::string> described;
  std::vector<std::string> assigned;
  auto describe = [&](const schema::Table& table) {
    for (const schema::Column& c : table.columns) {
      described.push_back(fmt::format("{}.{} {} {}", table.name, c.name,
                                      c.type == schema::Type::kText ? "text" : "bigint",
                                      c.nullable ? "YES" : "NO"));
      if (c.access == schema::Access::kAssigned) {
        assigned.push_back(fmt::format("{}.{}", table.name, c.name));
      }
    }
  };
  for (const schema::Table& table : schema::kTables) describe(table);
  describe(schema::kLeases);
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(Query("SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || "
                         "is_nullable FROM information_schema.columns "
                         "WHERE table_schema = 'public'")),
            sorted(described));
  EXPECT_EQ(sorted(Query("SELECT table_name || '.' || column_name FROM information_schema.columns "
                         "WHERE table_schema = 'public' AND is_identity = 'YES'")),
            sorted(assigned));
  EXPECT_EQ(assigned, (std::vector<std::string>{"history.seq", "job_runs.id"}));
}

TEST_F(PostgresStoreTest, ListIdleDueUsesThePauseAtIndexOn100kRows) {
  // 100k sandboxes, every fourth RUNNING with pause_at = base + i + 180 s.
  const int64_t base = ToUnixMillis(T(0));
  Query(fmt::format(
      "INSERT INTO sandboxes (project_id, sandbox_id, status, url, template, idle_timeout_s, "
      "last_activity_at_ms, created_at_ms, updated_at_ms, version, last_event_at_ms, metadata, "
      "pause_at_ms) SELECT 'p' || lpad(i::text, 6, '0'), 'sbx-' || i, CASE WHEN i % 4 = 0 THEN "
      "'RUNNING' ELSE 'PAUSED' END, NULL, 'hello', 180, {0} + i, {0}, {0}, 1, {0}, '{{}}', "
      "CASE WHEN i % 4 = 0 THEN {0} + i + 180000 END FROM generate_series(1, 100000) AS i",
      base));
  Query("ANALYZE sandboxes");

  const auto started = std::chrono::steady_clock::now();
  constexpr int kCalls = 20;
  for (int i = 0; i < kCalls; ++i) {
    auto due = store_->ListIdleDue(FromUnixMillis(base + 180'000 + 400), 1000);
    ASSERT_TRUE(due.ok()) << due.error().ToString();
    ASSERT_EQ(due->size(), 100u);
    EXPECT_EQ(due->front().project_id, "p000004");
    EXPECT_EQ(due->back().project_id, "p000400");
  }
  const auto per_call = (std::chrono::steady_clock::now() - started) / kCalls;
  std::printf("ListIdleDue on 100k rows: %lld us per call\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(per_call).count()));
  EXPECT_LT(per_call, 50ms);

  // The plan the prepared statement gets once PostgreSQL stops re-planning
  // it for each value.
  auto conn = Raw();
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->Exec("PREPARE due(bigint, bigint) AS SELECT project_id FROM sandboxes "
                         "WHERE pause_at_ms IS NOT NULL AND pause_at_ms <= $1 "
                         "ORDER BY pause_at_ms LIMIT $2; "
                         "SET plan_cache_mode = force_generic_plan")
                  .ok());
  auto plan = conn->Exec(fmt::format("EXPLAIN EXECUTE due({}, 50)", base + 180'400));
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  std::string text;
  for (int i = 0; i < plan->rows(); ++i) text += plan->Text(i, 0) + "\n";
  EXPECT_NE(text.find("Index Scan using sandboxes_pause_at"), std::string::npos) << text;
}

// Errors

TEST_F(PostgresStoreTest, UnreachableServerIsUnavailable) {
  auto s = PostgresStore::Open("postgres://postgres@127.0.0.1:1/sandboxd_test");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(PostgresStore::Open(url_, {.pool_size = 0}).error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(PostgresStoreTest, TextTheDatabaseCannotHoldIsInvalidArgumentAndWritesNothing) {
  Sandbox bad = Make("p1", 1);
  bad.sandbox_id = std::string("sbx\0x", 5);
  EXPECT_EQ(store_->CommitTransition(bad, 0, "e1", std::nullopt).code(),
            StatusCode::kInvalidArgument);
  HistoryRow row = Row("p1", "e2");
  row.detail = "\xff\xfe not utf-8";
  EXPECT_EQ(store_->RecordEvent("e2", row).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(*store_->IsEventProcessed("e1"));
  EXPECT_FALSE(*store_->IsEventProcessed("e2"));
  EXPECT_TRUE(store_->LoadSandboxes()->empty());
  // Metadata is JSON, where a NUL is just an escape.
  Sandbox ok = Make("p1", 1);
  ok.metadata["k"] = std::string("a\0b", 3);
  ASSERT_TRUE(store_->CommitTransition(ok, 0, "", std::nullopt).ok());
  EXPECT_EQ(store_->GetSandbox("p1")->metadata, ok.metadata);
}

// A row this code did not write is an error, not a record.
TEST_F(PostgresStoreTest, StoredRowTheCodecCannotReadIsInternal) {
  ASSERT_TRUE(store_->CommitTransition(Make("p1", 1), 0, "", std::nullopt).ok());
  ASSERT_TRUE(store_->CommitTransition(Make("p2", 1), 0, "", std::nullopt).ok());
  Query("UPDATE sandboxes SET status = 'ASLEEP' WHERE project_id = 'p1'");
  Query("UPDATE sandboxes SET metadata = '[]' WHERE project_id = 'p2'");
  auto bad_status = store_->GetSandbox("p1");
  ASSERT_FALSE(bad_status.ok());
  EXPECT_EQ(bad_status.error().code(), StatusCode::kInternal);
  EXPECT_NE(bad_status.error().message().find("stored status is invalid"), std::string::npos)
      << bad_status.error().message();
  EXPECT_EQ(store_->GetSandbox("p2").error().code(), StatusCode::kInternal);
  EXPECT_EQ(store_->LoadSandboxes().status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace sbx::store
