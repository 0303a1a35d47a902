// PostgreSQL's schema: its own migration list, which creates the tables and
// indexes store/schema.h describes (postgres_store_test compares, at every
// version), with identity columns where SQLite computes MAX + 1, so replicas
// inserting at once never collide. Private to store/postgres. Thread-safe
// (MigratePostgres serializes through the server).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/postgres/pg_connection.h"

namespace sbx::store {

struct PgMigration {
  std::string up;    // brings the schema from the version before to this one
  std::string down;  // undoes `up` ("" for the first: there is nothing to go back to)
};

// Entry i brings the schema to version i + 1.
const std::vector<PgMigration>& PostgresMigrations();

// Brings the schema on `conn` to `version`, applying migrations or undoing
// them (newest first), each in its own transaction that holds a
// transaction-level advisory lock, so replicas starting together apply each
// migration exactly once. Returns the version it found. kFailedPrecondition
// when the database's schema is newer than this binary (nothing is changed).
// `conn` should have no statement timeout: an index on a big table takes as
// long as it takes.
Result<int64_t> MigratePostgres(PgConnection& conn, int64_t version);

}  // namespace sbx::store
