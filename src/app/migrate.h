// `sandboxd migrate`: brings the store's schema to a given version, up or
// down, without serving. The way back to an older release, which refuses a
// newer schema: stop every sandboxd on the database, run the new binary's
// `sandboxd migrate --to <the old release's version>`, start the old one
// (docs/operations.md). Blocks; one call per process.
#pragma once

#include <string>

namespace sbx::app {

struct MigrateConfig {
  std::string data_dir = "data";
  std::string store;  // as for serve: default sqlite://<data-dir>/sandboxd.db
  int to = 0;         // the schema version to reach; 0: this binary's newest
};

// Prints "schema version A -> B" and returns 0, or prints the error and
// returns 1.
int Migrate(const MigrateConfig& config);

}  // namespace sbx::app
