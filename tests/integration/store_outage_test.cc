// A hung database under a real `sandboxd serve` on PostgreSQL (from
// tools/with_postgres): every process of the cluster is stopped with SIGSTOP.
// Writes answer 503 within the store deadline, /readyz answers 503 instead of
// hanging, status reads keep answering from memory, and after SIGCONT
// everything recovers without a restart (docs/operations.md, "Store
// deadlines").
//
// Labelled `postgres;integration;runc`: it needs root, runc and the cluster,
// and fails, never skips, without them. Sandbox ports: 45000-45099.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "integration/daemon.h"
#include "integration/http_client.h"
#include "integration/process.h"
#include "integration/support.h"
#include "store/postgres/testing/pg_test_env.h"

namespace sbx::integration {
namespace {

using boost::beast::http::verb;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr int kPorts = 45000;
constexpr char kToken[] = "store-outage-test-token-8d2f61c0a4";

class StoreOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(CheckPrerequisites());
    for (const char* var : {"SBX_TEST_PG_URL", "SBX_TEST_PG_DATA"}) {
      ASSERT_FALSE(Env(var).empty())
          << var << " is not set: run through ctest or `tools/with_postgres "
                    "build/tests/sbx_store_outage_tests`";
    }
    CommandResult wipe = RunCommand({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                     Env("SBX_TEST_PG_URL"), "-c",
                                     "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"},
                                    30s);
    ASSERT_EQ(wipe.exit_code, 0) << wipe.err;
  }
  void TearDown() override { Resume(); }

  void Freeze() {
    stopped_ = store::testing::PostgresClusterPids();
    for (pid_t pid : stopped_) ::kill(pid, SIGSTOP);
  }
  void Resume() {
    for (pid_t pid : stopped_) ::kill(pid, SIGCONT);
    stopped_.clear();
  }

  std::vector<pid_t> stopped_;
};

TEST_F(StoreOutageTest, HungPostgresFailsWritesWithinTheDeadlineAndRecovers) {
  Daemon d({.first_port = kPorts,
            .idle_timeout = "1h",
            .api_token = kToken,
            .extra_args = {"--store", Env("SBX_TEST_PG_URL"), "--store-timeout", "1s"},
            .name = "sandboxd on postgres"});
  ASSERT_TRUE(d.Start());
  HttpResponse created = d.Call(verb::post, "/api/projects/p1/sandbox", "{}");
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_TRUE(WaitFor([&] { return d.StatusOf("p1") == "RUNNING"; }, 30s)) << d.StatusOf("p1");
  ASSERT_EQ(d.Call(verb::get, "/readyz").status, 200);

  Freeze();
  ASSERT_GE(stopped_.size(), 2u) << "the postmaster and its children";

  // A write: the store gives up after --store-timeout + 1 s for an answer.
  auto start = SteadyClock::now();
  HttpResponse write = d.Call(verb::post, "/api/projects/p2/sandbox", "{}", 30s);
  const auto write_took = SteadyClock::now() - start;
  Report("write while hung: " + std::to_string(write.status) + " after " +
         std::to_string(Ms(write_took)) + " ms: " + write.body);
  EXPECT_EQ(write.status, 503) << write.body;
  EXPECT_LT(write_took, 5s);
  // Status reads answer from memory.
  start = SteadyClock::now();
  auto p1 = d.Get("p1");
  const auto read_took = SteadyClock::now() - start;
  ASSERT_TRUE(p1.has_value());
  EXPECT_EQ(p1->status, "RUNNING");
  EXPECT_LT(read_took, 1s);
  // Readiness answers, and says the store is not there.
  start = SteadyClock::now();
  HttpResponse ready = d.Call(verb::get, "/readyz", "", 30s);
  const auto ready_took = SteadyClock::now() - start;
  Report("readyz while hung: " + std::to_string(ready.status) + " after " +
         std::to_string(Ms(ready_took)) + " ms");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_LT(ready_took, 8s);  // at worst one reconnect attempt (connect timeout 5 s)
  // Further writes fail at once.
  start = SteadyClock::now();
  HttpResponse again = d.Call(verb::post, "/api/projects/p3/sandbox", "{}", 30s);
  EXPECT_EQ(again.status, 503) << again.body;
  EXPECT_LT(SteadyClock::now() - start, 8s);

  Resume();
  start = SteadyClock::now();
  EXPECT_TRUE(WaitFor([&] { return d.Call(verb::get, "/readyz", "", 10s).status == 200; }, 30s));
  Report("ready again " + std::to_string(Ms(SteadyClock::now() - start)) + " ms after SIGCONT");
  HttpResponse later = d.Call(verb::post, "/api/projects/p2/sandbox", "{}");
  EXPECT_EQ(later.status, 201) << later.body;
  EXPECT_TRUE(WaitFor([&] { return d.StatusOf("p2") == "RUNNING"; }, 30s)) << d.StatusOf("p2");
  EXPECT_EQ(d.Call(verb::delete_, "/api/projects/p1/sandbox").status, 204);
  EXPECT_EQ(d.Call(verb::delete_, "/api/projects/p2/sandbox").status, 204);
}

}  // namespace
}  // namespace sbx::integration
