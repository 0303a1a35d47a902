// SQLite's schema: its migration list, which creates the tables store/schema.h
// describes (sqlite_store_test compares). Private to store/sqlite.
// Thread-safe.
#pragma once

#include <string>
#include <vector>

namespace sbx::store {

// Entry i brings the schema to version i + 1. SqliteStore applies the pending
// ones, each in its own transaction, when it opens the database.
const std::vector<std::string>& SqliteMigrations();

}  // namespace sbx::store
