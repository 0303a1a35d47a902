// Test-only access to the throwaway PostgreSQL cluster that tools/with_postgres
// runs: where it is (read from the environment, which only adapters may do)
// and how to empty it between tests. Thread-safe; calls block.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "base/status.h"
#include "store/postgres/postgres_store.h"

namespace sbx::store::testing {

inline constexpr const char* kRunViaWithPostgres =
    "SBX_TEST_PG_URL is not set: run these tests via tools/with_postgres <test binary> "
    "(ctest does)";

// SBX_TEST_PG_URL, or nullopt when unset or empty.
std::optional<std::string> PostgresTestUrl();
// The cluster's data directory (SBX_TEST_PG_DATA) and a pg_ctl that may
// control it (SBX_TEST_PG_CTL); "" when unset.
std::string PostgresTestDataDir();
std::string PostgresTestPgCtl();
// The cluster's processes: the postmaster (first line of its
// postmaster.pid) and every process it started; empty when it is not
// running. For tests that freeze the database (SIGSTOP).
std::vector<pid_t> PostgresClusterPids();

// Empties every table of the current schema at `url` but schema_migrations,
// restarting identity counters. Destroys data: only for throwaway clusters.
Status WipePostgres(const std::string& url);
// Opens a PostgresStore at `url` (migrating it) and empties it.
Result<std::unique_ptr<PostgresStore>> OpenEmptyPostgresStore(const std::string& url,
                                                              PostgresOptions options = {});

}  // namespace sbx::store::testing
