#include "store/postgres/testing/pg_test_env.h"

#include <cstdlib>

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
