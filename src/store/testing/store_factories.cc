#include "store/testing/store_factories.h"

#include "store/postgres/testing/pg_test_env.h"
#include "store/sqlite/sqlite_store.h"

namespace sbx::store::testing {

std::vector<StoreFactory> AllStoreFactories() {
  std::vector<StoreFactory> out;
  out.push_back({"Sqlite", []() -> Result<std::unique_ptr<Store>> {
                   auto s = SqliteStore::Open(":memory:");
                   if (!s) return s.error();
                   return std::unique_ptr<Store>(std::move(*s));
                 }});
  if (auto url = PostgresTestUrl()) {
    out.push_back({"Postgres", [url = *url]() -> Result<std::unique_ptr<Store>> {
                     auto s = OpenEmptyPostgresStore(url);
                     if (!s) return s.error();
                     return std::unique_ptr<Store>(std::move(*s));
                   }});
  }
  return out;
}

}  // namespace sbx::store::testing
