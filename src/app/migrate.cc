#include "app/migrate.h"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "app/startup.h"
#include "base/status.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace sbx::app {
namespace {

struct Migrated {
  int64_t from = 0;
  int64_t to = 0;
};

Result<Migrated> MigrateStore(const MigrateConfig& c) {
  const std::string url = StoreUrl(c.data_dir, c.store);
  if (url.starts_with("sqlite://")) {
    const std::string path = url.substr(9);
    // A missing file would be created at the old version: not a rollback.
    if (!std::filesystem::exists(path)) {
      return NotFound(fmt::format("--store {}: no such database file", url));
    }
    // Not under a running serve or runtime: dropping a table it uses would
    // fail its requests. Held until the migration is done.
    std::optional<DataDirLock> lock;
    if (std::filesystem::exists(c.data_dir)) {
      auto acquired = DataDirLock::Acquire(c.data_dir);
      if (!acquired.ok()) return acquired.error();
      lock.emplace(std::move(*acquired));
    }
    const int64_t to = c.to > 0 ? c.to : store::SqliteStore::LatestSchemaVersion();
    SBX_ASSIGN_OR_RETURN(int64_t from, store::SqliteStore::MigrateTo(path, to));
    return Migrated{from, to};
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    const int64_t to = c.to > 0 ? c.to : store::PostgresStore::LatestSchemaVersion();
    SBX_ASSIGN_OR_RETURN(int64_t from, store::PostgresStore::MigrateTo(url, to));
    return Migrated{from, to};
  }
  return UnknownStoreUrl(url);
}

}  // namespace

int Migrate(const MigrateConfig& config) {
  auto done = MigrateStore(config);
  if (!done.ok()) {
    std::cerr << "sandboxd migrate: " << done.error().ToString() << "\n";
    return 1;
  }
  std::cout << fmt::format("schema version {} -> {}\n", done->from, done->to);
  return 0;
}

}  // namespace sbx::app
