// Factories for the stores the conformance suite runs on: SQLite in memory
// always; PostgreSQL when SBX_TEST_PG_URL names a server. Test-only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace sbx::store::testing {

struct StoreFactory {
  std::string name;
  std::function<Result<std::unique_ptr<Store>>()> make;
};

std::vector<StoreFactory> AllStoreFactories();

}  // namespace sbx::store::testing
