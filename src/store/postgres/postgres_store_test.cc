// What only PostgresStore has, part 1: transactions raced by threads,
// migrations raced by replicas, its tables (against store/schema.h), the
// pause_at index at 100k rows, text the database cannot hold.
// Needs a server: run via tools/with_postgres (ctest does). Fails, rather than
// skips, when SBX_TEST_PG_URL is unset.
#include "store/postgres/postgres_store_test_support.h"

#include <algorithm>
#include <limits>

#include "store/sql.h"

namespace sbx::store {
namespace {

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

// What store/schema.h describes at `version` (and the leases table):
// "table.column type nullable" for every column, "index table(columns)" for
// every index.
std::vector<std::string> Described(int version) {
  std::vector<std::string> out;
  auto describe = [&](const schema::Table& table) {
    if (table.since > version) return;
    for (const schema::Column& c : table.columns) {
      if (c.since > version) continue;
      out.push_back(fmt::format("{}.{} {} {}", table.name, c.name,
                                c.type == schema::Type::kText ? "text" : "bigint",
                                c.nullable ? "YES" : "NO"));
    }
  };
  for (const schema::Table& table : schema::kTables) describe(table);
  describe(schema::kLeases);
  for (const schema::Index& index : schema::kIndexes) {
    if (index.since <= version) {
      out.push_back(fmt::format("{} {}({})", index.name, index.table, index.columns));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The same for what the database holds in `schema_name`.
std::vector<std::string> StoredIn(PostgresStoreTest& test, const std::string& schema_name) {
  std::vector<std::string> out = test.Query(fmt::format(
      "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable "
      "FROM information_schema.columns WHERE table_schema = '{}'",
      schema_name));
  for (std::string& index : test.Query(fmt::format(
           "SELECT i.relname || ' ' || t.relname || '(' || "
           "string_agg(a.attname, ', ' ORDER BY k.ord) || ')' "
           "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
           "JOIN pg_class t ON t.oid = x.indrelid "
           "JOIN pg_namespace n ON n.oid = t.relnamespace "
           "CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
           "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
           "WHERE n.nspname = '{}' AND NOT x.indisprimary GROUP BY i.relname, t.relname",
           schema_name))) {
    out.push_back(std::move(index));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// PostgreSQL's tables and indexes are the ones store/schema.h describes,
// column for column, with identity columns where the store assigns the value.
TEST_F(PostgresStoreTest, SchemaMatchesTheSchemaDescription) {
  EXPECT_EQ(PostgresStore::LatestSchemaVersion(), schema::kVersion);
  EXPECT_EQ(StoredIn(*this, "public"), Described(schema::kVersion));
  std::vector<std::string> assigned;
  for (const schema::Table& table : schema::kTables) {
    for (const schema::Column& c : table.columns) {
      if (c.access == schema::Access::kAssigned) {
        assigned.push_back(fmt::format("{}.{}", table.name, c.name));
      }
    }
  }
  std::sort(assigned.begin(), assigned.end());
  auto identity = Query(
      "SELECT table_name || '.' || column_name FROM information_schema.columns "
      "WHERE table_schema = 'public' AND is_identity = 'YES'");
  std::sort(identity.begin(), identity.end());
  EXPECT_EQ(identity, assigned);
  EXPECT_EQ(assigned, (std::vector<std::string>{"history.seq", "job_runs.id"}));
}

// The rollback path: `sandboxd migrate --to 1` leaves exactly the schema
// version 1 created, which the release before version 2 opens, with every
// row it knows; the current release migrates it up again.
TEST_F(PostgresStoreTest, MigrateDownLeavesThePreviousSchemaWithTheDataAndUpAgain) {
  const std::string url = UrlWithSchema("rollback");
  {
    auto s = PostgresStore::Open(url);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    ASSERT_TRUE((*s)->CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1")).ok());
    ASSERT_TRUE((*s)->RecordJobRun({.job = "idle-enforcer", .trigger = "timer"}).ok());
    ASSERT_TRUE((*s)->CreateSession("h1", T(0), T(60)).ok());
    ASSERT_TRUE((*s)->TryAcquireLease("sandboxd-leader", "a", 1s, T(0))->held);
  }
  auto from = PostgresStore::MigrateTo(url, 1);
  ASSERT_TRUE(from.ok()) << from.error().ToString();
  EXPECT_EQ(*from, schema::kVersion);
  const std::string fresh = UrlWithSchema("fresh_v1");
  auto fresh_from = PostgresStore::MigrateTo(fresh, 1);
  ASSERT_TRUE(fresh_from.ok()) << fresh_from.error().ToString();
  EXPECT_EQ(*fresh_from, 0);
  EXPECT_EQ(StoredIn(*this, "rollback"), Described(1));
  EXPECT_EQ(StoredIn(*this, "fresh_v1"), Described(1));
  EXPECT_EQ(Query("SELECT MAX(version) FROM rollback.schema_migrations"),
            std::vector<std::string>{"1"});
  EXPECT_EQ(Query("SELECT project_id || ' ' || version FROM rollback.sandboxes"),
            std::vector<std::string>{"p1 1"});
  EXPECT_EQ(Query("SELECT event_id FROM rollback.processed_events"),
            std::vector<std::string>{"e1"});
  EXPECT_EQ(Query("SELECT count(*) FROM rollback.history"), std::vector<std::string>{"1"});
  EXPECT_EQ(Query("SELECT count(*) FROM rollback.job_runs"), std::vector<std::string>{"1"});
  EXPECT_EQ(Query("SELECT holder FROM rollback.leases"), std::vector<std::string>{"a"});
  auto again = PostgresStore::MigrateTo(url, 1);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(*again, 1);

  auto s = PostgresStore::Open(url);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(*(*s)->SchemaVersion(), schema::kVersion);
  EXPECT_EQ(StoredIn(*this, "rollback"), Described(schema::kVersion));
  EXPECT_EQ((*s)->GetSandbox("p1")->version, 1);
  EXPECT_EQ((*s)->GetSession("h1").error().code(), StatusCode::kNotFound);  // dropped with v2
  EXPECT_TRUE((*s)->CreateSession("h2", T(0), T(60)).ok());
  // Identity columns carry on after the round trip.
  auto id = (*s)->RecordJobRun({.job = "idle-enforcer", .trigger = "timer"});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 2);
}

TEST_F(PostgresStoreTest, MigrateRefusesUnknownVersionsAndNewerDatabases) {
  const std::string url = UrlWithSchema("refuse");
  EXPECT_EQ(PostgresStore::MigrateTo(url, 0).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PostgresStore::MigrateTo(url, schema::kVersion + 1).error().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(PostgresStore::Open(url).ok());
  Query("INSERT INTO refuse.schema_migrations VALUES (999, 0)");
  auto down = PostgresStore::MigrateTo(url, 1);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Query("SELECT MAX(version) FROM refuse.schema_migrations"),
            std::vector<std::string>{"999"});
  EXPECT_EQ(Query("SELECT count(*) FROM refuse.sessions"), std::vector<std::string>{"0"});
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

// The overview reads a window of history through its time index, whatever
// the number of sandboxes and older rows.
TEST_F(PostgresStoreTest, OverviewReadsUseTheirIndexesOn100kSandboxes) {
  const int64_t base = ToUnixMillis(T(0));
  Query(fmt::format(
      "INSERT INTO sandboxes (project_id, sandbox_id, status, url, template, idle_timeout_s, "
      "last_activity_at_ms, created_at_ms, updated_at_ms, version, last_event_at_ms, metadata, "
      "pause_at_ms) SELECT 'p' || lpad(i::text, 6, '0'), 'sbx-' || i, 'RUNNING', NULL, 'hello', "
      "180, {0}, {0}, {0}, 1, {0}, '{{}}', {0} + 180000 FROM generate_series(1, 100000) AS i",
      base));
  // Two old rows per sandbox, then 100 in the window (from base + 1 h).
  Query(fmt::format(
      "INSERT INTO history (project_id, sandbox_id, event_id, type, source, outcome, at_ms, "
      "recorded_at_ms, status, detail) SELECT 'p' || lpad(((i % 100000) + 1)::text, 6, '0'), '', "
      "'', 'x', 'webhook', 'applied', {0} + i, CASE WHEN i > 200000 THEN {0} + 3600000 + i ELSE "
      "{0} + i END, CASE WHEN i > 200000 THEN 'PAUSED' ELSE 'RUNNING' END, '' "
      "FROM generate_series(1, 200100) AS i",
      base));
  Query("ANALYZE");
  const SystemTime from = FromUnixMillis(base + 3'600'000);
  auto rows = store_->ListTransitions(from, 200'000);
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 100u);
  std::vector<std::string> projects;
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const auto& r : *rows) {
    projects.push_back(r.project_id);
    oldest = std::min(oldest, r.seq);
  }
  auto before = store_->StatusesBefore(projects, oldest);
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  ASSERT_EQ(before->size(), 100u);
  EXPECT_EQ(before->begin()->second, "RUNNING");
  auto counts = store_->CountHistory(from, from + std::chrono::hours(1), std::chrono::minutes(1));
  ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  int64_t total = 0;
  for (const auto& c : *counts) total += c.count;
  EXPECT_EQ(total, 100);

  // The plans the prepared statements get once PostgreSQL stops re-planning
  // them for each value.
  auto conn = Raw();
  ASSERT_TRUE(conn);
  const SqlStatements& sql = Statements(Dialect::kPostgres);
  ASSERT_TRUE(conn->Exec("SET plan_cache_mode = force_generic_plan").ok());
  ASSERT_TRUE(conn->Exec("PREPARE transitions AS " + sql.list_transitions).ok());
  ASSERT_TRUE(conn->Exec("PREPARE counts AS " + sql.count_history).ok());
  for (const std::string& explain :
       {fmt::format("EXPLAIN EXECUTE transitions({}, 1000)", base + 3'600'000),
        fmt::format("EXPLAIN EXECUTE counts({}, {}, 60000)", base + 3'600'000,
                    base + 7'200'000)}) {
    auto plan = conn->Exec(explain);
    ASSERT_TRUE(plan.ok()) << plan.error().ToString();
    std::string text;
    for (int i = 0; i < plan->rows(); ++i) text += plan->Text(i, 0) + "\n";
    EXPECT_NE(text.find("history_recorded_at"), std::string::npos) << explain << "\n" << text;
  }
}

// A lookup by a list of keys (the write path's processed-id check, a
// follower loading what other replicas committed) is planned for its keys
// each time. As a prepared statement, PostgreSQL would after a few calls keep
// one generic plan, made for a list of unknown length while the table was
// small: a full scan, which it would go on using as the table grows, until
// the table is next analyzed.
TEST_F(PostgresStoreTest, BatchLookupsByKeyUseTheKeyIndexAfterTheTableGrows) {
  const std::string url = UrlWithSchema("batch_plans");
  auto opened = PostgresStore::Open(url);
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  std::unique_ptr<PostgresStore> store = std::move(*opened);
  auto grow = [&](int from, int to) {
    Query(fmt::format("INSERT INTO batch_plans.processed_events SELECT 'e' || i, 0 "
                      "FROM generate_series({}, {}) AS i",
                      from, to));
    Query(fmt::format(
        "INSERT INTO batch_plans.sandboxes (project_id, sandbox_id, status, url, template, "
        "idle_timeout_s, last_activity_at_ms, created_at_ms, updated_at_ms, version, "
        "last_event_at_ms, metadata) SELECT 'p' || i, 'sbx-' || i, 'RUNNING', NULL, 'hello', "
        "180, 0, 0, 0, 1, 0, '{{}}' FROM generate_series({}, {}) AS i",
        from, to));
  };
  std::vector<std::string> events;
  std::vector<std::string> projects;
  for (int i = 1; i <= 16; ++i) {
    events.push_back(fmt::format("e{}", i * 50));
    projects.push_back(fmt::format("p{}", i * 50));
  }
  constexpr int kCalls = 20;
  auto lookups = [&] {
    for (int i = 0; i < kCalls; ++i) {
      auto seen = store->ProcessedAmong(events);
      ASSERT_TRUE(seen.ok()) << seen.error().ToString();
      EXPECT_EQ(seen->size(), 16u);
      auto loaded = store->GetSandboxes(projects);
      ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
      EXPECT_EQ(loaded->size(), 16u);
    }
  };
  constexpr int kSmall = 1000;
  constexpr int kLarge = 30000;
  grow(1, kSmall);
  lookups();
  grow(kSmall + 1, kLarge);
  lookups();
  // The store's sessions report their table statistics as they end.
  store.reset();
  auto stats = [&](const std::string& table) {
    return Query(fmt::format(
        "SELECT seq_scan + COALESCE(idx_scan, 0) || ' ' || seq_tup_read FROM pg_stat_user_tables "
        "WHERE schemaname = 'batch_plans' AND relname = '{}'",
        table));
  };
  for (const std::string table : {"processed_events", "sandboxes"}) {
    int64_t scans = 0;
    int64_t rows_read = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (scans < 2 * kCalls && std::chrono::steady_clock::now() < deadline) {
      const auto row = stats(table);
      ASSERT_EQ(row.size(), 1u);
      ASSERT_EQ(std::sscanf(row[0].c_str(), "%ld %ld", &scans, &rows_read), 2) << row[0];
      if (scans < 2 * kCalls) std::this_thread::sleep_for(50ms);
    }
    ASSERT_GE(scans, 2 * kCalls) << table << ": the sessions' statistics never arrived";
    // A scan of the small table now and then may be the cheapest plan; one
    // of the large table is not.
    EXPECT_LT(rows_read, kLarge) << table << " was read in full";
  }
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

// Writes sent together (pipeline mode) stop at the first statement the
// server refuses; the transaction is undone and every connection of the pool
// serves the next calls.
TEST_F(PostgresStoreTest, PipelinedWritesStopAtAServerErrorAndTheConnectionsGoOn) {
  HistoryRow bad = Row("p2", "e2");
  bad.detail = "\xff\xfe not utf-8";
  const std::vector<TransitionWrite> writes = {
      {Make("p1", 1), 0, "e1", Row("p1", "e1")},
      {Make("p2", 1), 0, "e2", bad},
      {Make("p3", 1), 0, "e3", Row("p3", "e3")}};
  EXPECT_EQ(store_->Batch([&] { return store_->CommitTransitions(writes); }).code(),
            StatusCode::kInvalidArgument);
  // Outside a batch the pipeline is one implicit transaction.
  EXPECT_EQ(store_->CommitTransitions(writes).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->LoadSandboxes()->empty());
  for (const char* id : {"e1", "e2", "e3"}) EXPECT_FALSE(*store_->IsEventProcessed(id)) << id;
  // More calls than the pool has connections, each in a batch and a pipeline.
  for (int i = 0; i < 12; ++i) {
    const std::string p = "q" + std::to_string(i);
    const std::vector<TransitionWrite> one = {{Make(p, 1), 0, "eq" + std::to_string(i),
                                               Row(p, "eq" + std::to_string(i))},
                                              {Make(p, 2), 1, "", std::nullopt}};
    Status s = store_->Batch([&] { return store_->CommitTransitions(one); });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(store_->GetSandbox(p)->version, 2);
  }
}

// A transaction's BEGIN rides with its first statement: a write and its
// commit are two round trips, not three, and a transaction that sends nothing
// costs none. Rollback, errors and savepoints behave as with a BEGIN of its own.
TEST_F(PostgresStoreTest, TransactionOpensWithItsFirstStatement) {
  auto conn = Raw();
  ASSERT_NE(conn, nullptr);
  ASSERT_TRUE(conn->Exec("CREATE TEMP TABLE t (v int PRIMARY KEY)").ok());
  auto insert = [&](int v) {
    return conn->RunPlannedEachTime("INSERT INTO t VALUES ($1::int)", {Param(int64_t{v})})
        .status();
  };
  auto count = [&] { return conn->Exec("SELECT count(*) FROM t")->Text(0, 0); };
  auto idle = [&] { return PQtransactionStatus(conn->raw()) == PQTRANS_IDLE; };

  int64_t before = conn->round_trips();
  EXPECT_TRUE(InTransaction(*conn, [] { return OkStatus(); }).ok());
  EXPECT_EQ(conn->round_trips() - before, 0);
  EXPECT_TRUE(idle());

  before = conn->round_trips();
  ASSERT_TRUE(InTransaction(*conn, [&] { return insert(1); }).ok());
  EXPECT_EQ(conn->round_trips() - before, 2);  // BEGIN + INSERT, COMMIT
  EXPECT_TRUE(idle());
  EXPECT_EQ(count(), "1");

  // The BEGIN went out: a failure after the first write undoes it.
  Status failed = InTransaction(*conn, [&]() -> Status {
    SBX_RETURN_IF_ERROR(insert(2));
    return Internal("later step failed");
  });
  EXPECT_EQ(failed.code(), StatusCode::kInternal);
  EXPECT_TRUE(idle());
  EXPECT_EQ(count(), "1");

  // The first statement itself fails (duplicate key): rolled back, and the
  // connection goes on.
  EXPECT_FALSE(InTransaction(*conn, [&] { return insert(1); }).ok());
  EXPECT_TRUE(idle());
  ASSERT_TRUE(InTransaction(*conn, [&] { return insert(3); }).ok());
  EXPECT_EQ(count(), "2");

  // A nested transaction as the first request opens the outer one too; its
  // failure undoes only its own writes.
  Status outer = InTransaction(*conn, [&]() -> Status {
    EXPECT_FALSE(InTransaction(*conn, [&]() -> Status {
                   SBX_RETURN_IF_ERROR(insert(4));
                   return insert(1);
                 }).ok());
    return insert(5);
  });
  EXPECT_TRUE(outer.ok()) << outer.ToString();
  EXPECT_TRUE(idle());
  EXPECT_EQ(conn->Exec("SELECT string_agg(v::text, ',' ORDER BY v) FROM t")->Text(0, 0),
            "1,3,5");

  // Pipelined statements carry the BEGIN too: one round trip for the writes.
  const std::string sql = "INSERT INTO t VALUES ($1::int)";
  const std::vector<PgConnection::Statement> two = {{sql, {Param(int64_t{6})}},
                                                    {sql, {Param(int64_t{7})}}};
  ASSERT_TRUE(conn->RunPipelined(two).ok());  // prepares the statement
  ASSERT_TRUE(conn->Exec("DELETE FROM t WHERE v > 5").ok());
  before = conn->round_trips();
  ASSERT_TRUE(InTransaction(*conn, [&] { return conn->RunPipelined(two).status(); }).ok());
  EXPECT_EQ(conn->round_trips() - before, 2);
  EXPECT_EQ(count(), "5");
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
