// What only SqliteStore has: a database file that is reopened, the WAL
// checkpointer, and its tables (against store/schema.h). The Store contract
// itself is the conformance suite's (store_conformance_test.cc).
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "store/schema.h"
#include "store/testing/records.h"

namespace sbx::store {
namespace {

using testing::Make;
using testing::Row;

// A fresh path in the test's temporary directory.
std::string TempDb(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

// Runs `sql` on a connection of its own to the file at `path` and returns
// the first column of each row.
std::vector<std::string> Query(const std::string& path, const std::string& sql) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sql << ": " << sqlite3_errmsg(db);
  while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, 0);
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
  EXPECT_EQ(*(*s)->SchemaVersion(), 1);
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

// SQLite's tables are the ones store/schema.h describes, column for column.
// A key counts as NOT NULL: SQLite would take a NULL in a TEXT key, but the
// codec never writes one.
TEST(SqliteStoreTest, SchemaMatchesTheSchemaDescription) {
  const std::string path = TempDb("sbx_schema_test.db");
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  std::vector<std::string> described;
  for (const schema::Table& table : schema::kTables) {
    for (const schema::Column& c : table.columns) {
      described.push_back(std::string(table.name) + "." + std::string(c.name) + " " +
                          (c.type == schema::Type::kText ? "TEXT" : "BIGINT") + " " +
                          (c.nullable ? "YES" : "NO"));
    }
  }
  std::vector<std::string> stored = Query(
      path,
      "SELECT m.name || '.' || p.name || ' ' || p.type || ' ' || "
      "CASE WHEN p.\"notnull\" OR p.pk THEN 'NO' ELSE 'YES' END "
      "FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'");
  std::sort(described.begin(), described.end());
  std::sort(stored.begin(), stored.end());
  EXPECT_EQ(stored, described);
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

}  // namespace
}  // namespace sbx::store
