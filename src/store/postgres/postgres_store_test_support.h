// Shared by the PostgreSQL-only tests: the PostgresStoreTest fixture (a fresh
// store on the cluster of tools/with_postgres), raw connections and pg_ctl.
// In the module namespace, not an anonymous one: gtest needs one fixture
// type for a suite across files. Included only by this directory's *_test.cc files.
#pragma once

#include "store/postgres/postgres_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
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

using core::Sandbox;
using core::SandboxStatus;
using namespace std::chrono_literals;

using testing::Make;
using testing::T;

inline HistoryRow Row(const std::string& project, const std::string& event_id) {
  return testing::Row(project, event_id, "applied");
}

// Runs `$SBX_TEST_PG_CTL args...` and returns its exit code.
inline int RunPgCtl(std::vector<std::string> args) {
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
 public:
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

}  // namespace sbx::store
