#include "store/postgres/testing/pg_test_env.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "store/postgres/pg_connection.h"

namespace sbx::store::testing {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::optional<std::string> PostgresTestUrl() {
  std::string url = Env("SBX_TEST_PG_URL");
  if (url.empty()) return std::nullopt;
  return url;
}

std::string PostgresTestDataDir() { return Env("SBX_TEST_PG_DATA"); }
std::string PostgresTestPgCtl() { return Env("SBX_TEST_PG_CTL"); }

std::vector<pid_t> PostgresClusterPids() {
  std::vector<pid_t> pids;
  std::ifstream pid_file(PostgresTestDataDir() + "/postmaster.pid");
  pid_t postmaster = 0;
  if (!(pid_file >> postmaster) || postmaster <= 0) return pids;
  pids.push_back(postmaster);
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid …; comm may hold spaces, so start after ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == postmaster) pids.push_back(std::stoi(name));
  }
  return pids;
}

Status WipePostgres(const std::string& url) {
  SBX_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect({.url = url}));
  return conn
      ->Exec(R"sql(
DO $$
DECLARE tables text;
BEGIN
  SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') INTO tables
    FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations';
  IF tables IS NOT NULL THEN
    EXECUTE 'TRUNCATE ' || tables || ' RESTART IDENTITY';
  END IF;
END $$)sql")
      .status()
      .WithContext("wipe test database");
}

Result<std::unique_ptr<PostgresStore>> OpenEmptyPostgresStore(const std::string& url,
                                                              PostgresOptions options) {
  SBX_ASSIGN_OR_RETURN(auto store, PostgresStore::Open(url, options));
  SBX_RETURN_IF_ERROR(WipePostgres(url));
  return store;
}

}  // namespace sbx::store::testing
