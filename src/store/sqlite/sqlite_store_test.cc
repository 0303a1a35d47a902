// What only SqliteStore has: a database file that is reopened, the WAL
// checkpointer, and its tables (against store/schema.h). The Store contract
// itself is the conformance suite's (store_conformance_test.cc).
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "store/schema.h"
#include "store/sql.h"
#include "store/testing/records.h"

namespace sbx::store {
namespace {

using testing::Make;
using testing::Row;
using testing::T;

// A fresh path in the test's temporary directory.
std::string TempDb(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

// Runs `sql` on a connection of its own to the file at `path` and returns
// column `column` of each row.
std::vector<std::string> Query(const std::string& path, const std::string& sql,
                               int column = 0) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sql << ": " << sqlite3_errmsg(db);
  while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, column);
    out.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

TEST(SqliteStoreTest, ReopenKeepsDataAndSchemaVersion) {
  const std::string path = TempDb("sbx_reopen_test.db");
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    ASSERT_TRUE((*s)->CommitTransition(Make("p1", 1), 0, "e1", std::nullopt).ok());
  }
  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*(*s)->SchemaVersion(), schema::kVersion);
  EXPECT_EQ((*s)->GetSandbox("p1")->sandbox_id, "sbx-p1");
  EXPECT_TRUE(*(*s)->IsEventProcessed("e1"));
}

// The committing connection never checkpoints; the background checkpointer
// keeps the WAL from growing without bound, and nothing is lost.
TEST(SqliteStoreTest, CheckpointerBoundsTheWalAndKeepsEveryCommit) {
  const std::string path = TempDb("sbx_checkpoint_test.db");
  constexpr int kProjects = 4000;
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    SqliteStore& store = **s;
    for (int i = 0; i < kProjects; ++i) {
      const std::string p = "p" + std::to_string(i);
      ASSERT_TRUE(
          store.CommitTransition(Make(p, 1), 0, "e" + std::to_string(i), Row(p, "e", "applied"))
              .ok());
    }
    EXPECT_TRUE(store.WaitForCheckpoints(1, std::chrono::seconds(5)));
    // Without checkpoints the WAL would hold every page each commit writes
    // (~160 MB here); the writer's own checkpoint at the limit starts it over.
    std::FILE* wal = std::fopen((path + "-wal").c_str(), "rb");
    ASSERT_NE(wal, nullptr);
    std::fseek(wal, 0, SEEK_END);
    const long wal_bytes = std::ftell(wal);
    std::fclose(wal);
    EXPECT_LT(wal_bytes, (SqliteStore::kWalLimitPages + 1000L) * 4096)
        << "WAL grew to " << wal_bytes << " bytes";
  }
  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->LoadSandboxes()->size(), static_cast<size_t>(kProjects));
}

TEST(SqliteStoreTest, OpenFailsClearlyOnBadPath) {
  auto s = SqliteStore::Open("/nonexistent-dir/x/y.db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), StatusCode::kUnavailable);
}

// What store/schema.h describes at `version`: "table.column TYPE NULLABLE"
// for every column, and "index table(columns)" for every index.
std::vector<std::string> Described(int version) {
  std::vector<std::string> out;
  for (const schema::Table& table : schema::kTables) {
    if (table.since > version) continue;
    for (const schema::Column& c : table.columns) {
      if (c.since > version) continue;
      out.push_back(std::string(table.name) + "." + std::string(c.name) + " " +
                    (c.type == schema::Type::kText ? "TEXT" : "BIGINT") + " " +
                    (c.nullable ? "YES" : "NO"));
    }
  }
  for (const schema::Index& index : schema::kIndexes) {
    if (index.since > version) continue;
    out.push_back(fmt::format("{} {}({})", index.name, index.table, index.columns));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The same for the database at `path`. A key counts as NOT NULL: SQLite would
// take a NULL in a TEXT key, but the codec never writes one.
std::vector<std::string> Stored(const std::string& path) {
  std::vector<std::string> out = Query(
      path,
      "SELECT m.name || '.' || p.name || ' ' || p.type || ' ' || "
      "CASE WHEN p.\"notnull\" OR p.pk THEN 'NO' ELSE 'YES' END "
      "FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'");
  // Indexes SQLite makes for keys by itself have no SQL.
  for (const std::string& index : Query(path,
                                        "SELECT m.name || ' ' || m.tbl_name || '(' || "
                                        "(SELECT group_concat(name, ', ') FROM "
                                        "(SELECT name FROM pragma_index_info(m.name) ORDER BY "
                                        "seqno)) || ')' FROM sqlite_master m "
                                        "WHERE m.type = 'index' AND m.sql IS NOT NULL")) {
    out.push_back(index);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// SQLite's tables and indexes are the ones store/schema.h describes, column
// for column.
TEST(SqliteStoreTest, SchemaMatchesTheSchemaDescription) {
  const std::string path = TempDb("sbx_schema_test.db");
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  EXPECT_EQ(SqliteStore::LatestSchemaVersion(), schema::kVersion);
  EXPECT_EQ(Stored(path), Described(schema::kVersion));
}

// The rollback path: `sandboxd migrate --to 1` leaves exactly the schema
// version 1 created, which the release before version 2 opens, with every
// row it knows; the current release migrates it up again.
TEST(SqliteStoreTest, MigrateDownLeavesThePreviousSchemaWithTheDataAndUpAgain) {
  const std::string path = TempDb("sbx_migrate_down_test.db");
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    ASSERT_TRUE((*s)->CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1", "applied")).ok());
    ASSERT_TRUE((*s)->RecordJobRun({.job = "idle-enforcer", .trigger = "timer"}).ok());
    ASSERT_TRUE((*s)->CreateSession("h1", testing::T(0), testing::T(60)).ok());
  }
  auto from = SqliteStore::MigrateTo(path, 1);
  ASSERT_TRUE(from.ok()) << from.error().ToString();
  EXPECT_EQ(*from, schema::kVersion);
  const std::string fresh = TempDb("sbx_migrate_fresh_v1.db");
  auto fresh_from = SqliteStore::MigrateTo(fresh, 1);
  ASSERT_TRUE(fresh_from.ok()) << fresh_from.error().ToString();
  EXPECT_EQ(*fresh_from, 0);
  EXPECT_EQ(Stored(path), Described(1));
  EXPECT_EQ(Stored(fresh), Described(1));
  EXPECT_EQ(Query(path, "SELECT MAX(version) FROM schema_migrations"),
            std::vector<std::string>{"1"});
  EXPECT_EQ(Query(path, "SELECT project_id || ' ' || version FROM sandboxes"),
            std::vector<std::string>{"p1 1"});
  EXPECT_EQ(Query(path, "SELECT event_id FROM processed_events"), std::vector<std::string>{"e1"});
  EXPECT_EQ(Query(path, "SELECT count(*) FROM history"), std::vector<std::string>{"1"});
  EXPECT_EQ(Query(path, "SELECT count(*) FROM job_runs"), std::vector<std::string>{"1"});
  // Migrating to where it is changes nothing.
  auto again = SqliteStore::MigrateTo(path, 1);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(*again, 1);

  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(*(*s)->SchemaVersion(), schema::kVersion);
  EXPECT_EQ(Stored(path), Described(schema::kVersion));
  EXPECT_EQ((*s)->GetSandbox("p1")->version, 1);
  EXPECT_EQ((*s)->GetSession("h1").error().code(), StatusCode::kNotFound);  // dropped with v2
  EXPECT_TRUE((*s)->CreateSession("h2", testing::T(0), testing::T(60)).ok());
}

TEST(SqliteStoreTest, MigrateRefusesUnknownVersionsAndNewerDatabases) {
  const std::string path = TempDb("sbx_migrate_refuse_test.db");
  EXPECT_EQ(SqliteStore::MigrateTo(path, 0).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SqliteStore::MigrateTo(path, schema::kVersion + 1).error().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  Query(path, "INSERT INTO schema_migrations VALUES (999, 0)");
  auto down = SqliteStore::MigrateTo(path, 1);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(SqliteStore::Open(path).error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Query(path, "SELECT MAX(version) FROM schema_migrations"),
            std::vector<std::string>{"999"});
}

// Deadlines. These use real time (the store reads the steady clock), in
// tenths of a second.

TEST(SqliteStoreTest, CallWaitsForABatchOfAnotherThreadOnlyUntilItsDeadline) {
  auto s = SqliteStore::Open(":memory:", {.timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(s.ok());
  SqliteStore& store = **s;
  std::promise<void> release;
  std::promise<void> holding;
  std::thread batch([&] {
    EXPECT_TRUE(store
                    .Batch([&] {
                      holding.set_value();
                      release.get_future().wait();
                      return OkStatus();
                    })
                    .ok());
  });
  holding.get_future().wait();
  const auto start = std::chrono::steady_clock::now();
  auto got = store.GetSandbox("p1");
  const auto waited = std::chrono::steady_clock::now() - start;
  release.set_value();
  batch.join();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(got.error().message().find("store busy"), std::string::npos) << got.error().message();
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(2));
  EXPECT_EQ(store.GetSandbox("p1").error().code(), StatusCode::kNotFound);  // free again
}

TEST(SqliteStoreTest, WriteWaitsForAnotherProcesssLockOnlyUntilItsDeadline) {
  const std::string path = TempDb("sbx_busy_test.db");
  auto s = SqliteStore::Open(path, {.timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  ASSERT_TRUE((*s)->CommitTransition(Make("p1", 1), 0, "", std::nullopt).ok());
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &other, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto start = std::chrono::steady_clock::now();
  Status write = (*s)->CommitTransition(Make("p1", 2), 1, "e2", Row("p1", "e2", "applied"));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(write.code(), StatusCode::kUnavailable) << write.ToString();
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(2));
  EXPECT_EQ((*s)->GetSandbox("p1")->version, 1);  // reads go on (WAL)
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_TRUE((*s)->CommitTransition(Make("p1", 2), 1, "e2", Row("p1", "e2", "applied")).ok());
}

// A statement past the deadline is interrupted. An interrupted write makes
// SQLite roll the whole transaction back: the rest of the batch must not
// commit on its own, and the batch fails as a whole.
TEST(SqliteStoreTest, StatementPastTheDeadlineIsInterruptedAndItsBatchWritesNothing) {
  const std::string path = TempDb("sbx_interrupt_test.db");
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  Query(path,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
        "INSERT INTO history (seq, project_id, sandbox_id, event_id, type, source, outcome, at_ms, "
        "recorded_at_ms, status, detail) SELECT i, 'old', 's', 'e' || i, 't', 'webhook', "
        "'applied', 0, 0, NULL, '' FROM n");
  constexpr auto kTimeout = std::chrono::milliseconds(100);
  auto s = SqliteStore::Open(path, {.timeout = kTimeout});
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  SqliteStore& store = **s;
  Status prune;
  Status after;
  Status batch = store.Batch([&]() -> Status {
    EXPECT_TRUE(store.CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1", "applied")).ok());
    const auto past = std::chrono::steady_clock::now() + kTimeout;
    while (std::chrono::steady_clock::now() < past) {
    }
    prune = store.PruneHistory(testing::T(0), 20000).status();
    after = store.CommitTransition(Make("p2", 1), 0, "e2", Row("p2", "e2", "applied"));
    return OkStatus();  // like the apply pipeline, which gives each event its own result
  });
  EXPECT_EQ(prune.code(), StatusCode::kUnavailable) << prune.ToString();
  EXPECT_NE(prune.message().find("deadline"), std::string::npos) << prune.message();
  EXPECT_EQ(after.code(), StatusCode::kUnavailable) << after.ToString();
  EXPECT_EQ(batch.code(), StatusCode::kUnavailable) << batch.ToString();
  EXPECT_EQ(store.GetSandbox("p1").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.GetSandbox("p2").error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*store.IsEventProcessed("e1"));
  EXPECT_EQ(Query(path, "SELECT count(*) FROM history"), std::vector<std::string>{"20000"});
  // The next call has a deadline of its own.
  EXPECT_TRUE(store.CommitTransition(Make("p1", 1), 0, "e1", Row("p1", "e1", "applied")).ok());
}

// A row this code did not write is an error, not a record.
TEST(SqliteStoreTest, StoredRowTheCodecCannotReadIsInternal) {
  const std::string path = TempDb("sbx_bad_row_test.db");
  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  ASSERT_TRUE((*s)->CommitTransition(Make("p1", 1), 0, "", std::nullopt).ok());
  ASSERT_TRUE((*s)->CommitTransition(Make("p2", 1), 0, "", std::nullopt).ok());
  Query(path, "UPDATE sandboxes SET status = 'ASLEEP' WHERE project_id = 'p1'");
  Query(path, "UPDATE sandboxes SET metadata = '[]' WHERE project_id = 'p2'");
  auto bad_status = (*s)->GetSandbox("p1");
  ASSERT_FALSE(bad_status.ok());
  EXPECT_EQ(bad_status.error().code(), StatusCode::kInternal);
  EXPECT_NE(bad_status.error().message().find("stored status is invalid"), std::string::npos)
      << bad_status.error().message();
  auto bad_metadata = (*s)->GetSandbox("p2");
  ASSERT_FALSE(bad_metadata.ok());
  EXPECT_EQ(bad_metadata.error().code(), StatusCode::kInternal);
  EXPECT_EQ((*s)->LoadSandboxes().status().code(), StatusCode::kInternal);
}

// The query plan SQLite picks for `sql` (its parameters unbound), one step
// per line: the `detail` column of EXPLAIN QUERY PLAN.
std::string QueryPlan(const std::string& path, const std::string& sql) {
  std::string plan;
  for (const std::string& step : Query(path, "EXPLAIN QUERY PLAN " + sql, 3)) plan += step + "\n";
  return plan;
}

// The overview reads a window of history through its time index, and each
// project's earlier status through its project index, whatever the number
// of sandboxes and older rows.
TEST(SqliteStoreTest, OverviewReadsUseTheirIndexesOn100kSandboxes) {
  const std::string path = TempDb("sbx_overview_test.db");
  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  const int64_t base = ToUnixMillis(T(0));
  Query(path, fmt::format(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
      "INSERT INTO sandboxes (project_id, sandbox_id, status, url, template, idle_timeout_s, "
      "last_activity_at_ms, created_at_ms, updated_at_ms, version, last_event_at_ms, metadata, "
      "pause_at_ms) SELECT printf('p%06d', i), 'sbx-' || i, 'RUNNING', NULL, 'hello', 180, {0}, "
      "{0}, {0}, 1, {0}, '{{}}', {0} + 180000 FROM n",
      base));
  // Two old rows per sandbox, then 100 in the window (from base + 1 h).
  Query(path, fmt::format(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200100) "
      "INSERT INTO history (seq, project_id, sandbox_id, event_id, type, source, outcome, at_ms, "
      "recorded_at_ms, status, detail) SELECT i, printf('p%06d', (i % 100000) + 1), '', '', 'x', "
      "CASE WHEN i % 1000 = 0 THEN 'reconciler' ELSE 'webhook' END, 'applied', {0} + i, "
      "CASE WHEN i > 200000 THEN {0} + 3600000 + i ELSE {0} + i "
      "END, CASE WHEN i > 200000 THEN 'PAUSED' ELSE 'RUNNING' END, '' FROM n",
      base));
  Query(path, "ANALYZE");
  const SystemTime from = FromUnixMillis(base + 3'600'000);
  auto rows = (*s)->ListTransitions(from, 200'000);
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 100u);
  std::vector<std::string> projects;
  for (const auto& r : *rows) projects.push_back(r.project_id);
  auto before = (*s)->StatusesBefore(projects, rows->back().seq);
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  ASSERT_EQ(before->size(), 100u);
  EXPECT_EQ(before->begin()->second, "RUNNING");
  auto counts = (*s)->CountHistory(from, from + std::chrono::hours(1), std::chrono::minutes(1));
  ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  int64_t total = 0;
  for (const auto& c : *counts) total += c.count;
  EXPECT_EQ(total, 100);

  const SqlStatements& sql = Statements(Dialect::kSqlite);
  for (const std::string* statement : {&sql.list_transitions, &sql.count_history}) {
    const std::string plan = QueryPlan(path, *statement);
    EXPECT_NE(plan.find("USING INDEX history_recorded_at"), std::string::npos) << plan;
  }
  const std::string plan = QueryPlan(
      path, "SELECT status FROM history WHERE project_id = ?1 AND seq < ?2 AND status IS NOT "
            "NULL ORDER BY seq DESC LIMIT 1");
  EXPECT_NE(plan.find("history_project"), std::string::npos) << plan;
  // Webhook delivery health, which every replica reads every few seconds:
  // each of its three reads is a search of history_source, never a scan.
  const std::string newest = QueryPlan(path, sql.newest_webhook);
  EXPECT_NE(newest.find("history_source"), std::string::npos) << newest;
  const std::string drift = QueryPlan(path, sql.drift_after);
  size_t searches = 0;
  for (size_t at = drift.find("USING INDEX history_source (source=?"); at != std::string::npos;
       at = drift.find("USING INDEX history_source (source=?", at + 1)) {
    ++searches;
  }
  EXPECT_EQ(searches, 2u) << drift;
  EXPECT_EQ(drift.find("SCAN history"), std::string::npos) << drift;
  auto delivery = (*s)->SummarizeDelivery();
  ASSERT_TRUE(delivery.ok()) << delivery.error().ToString();
  EXPECT_EQ(delivery->last_webhook, FromUnixMillis(base + 3'600'000 + 200'100));
  EXPECT_EQ(delivery->drift_since_webhook, 0);
}

}  // namespace
}  // namespace sbx::store
