// SQLite's schema: its migration list, which creates the tables and indexes
// store/schema.h describes (sqlite_store_test compares, at every version).
// Private to store/sqlite. Thread-safe.
#pragma once

#include <string>
#include <vector>

namespace sbx::store {

struct SqliteMigration {
  std::string up;    // brings the schema from the version before to this one
  std::string down;  // undoes `up` ("" for the first: there is nothing to go back to)
};

// Entry i brings the schema to version i + 1. SqliteStore applies the pending
// ones, each in its own transaction, when it opens the database;
// SqliteStore::MigrateTo also undoes them.
const std::vector<SqliteMigration>& SqliteMigrations();

}  // namespace sbx::store
