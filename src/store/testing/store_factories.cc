#include "store/testing/store_factories.h"

#include "store/sqlite/sqlite_store.h"

namespace sbx::store::testing {

std::vector<StoreFactory> AllStoreFactories() {
  std::vector<StoreFactory> out;
  out.push_back({"Sqlite", []() -> Result<std::unique_ptr<Store>> {
                   auto s = SqliteStore::Open(":memory:");
                   if (!s) return s.error();
                   return std::unique_ptr<Store>(std::move(*s));
                 }});
  return out;
}

}  // namespace sbx::store::testing
