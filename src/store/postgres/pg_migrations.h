// PostgreSQL's schema: its own migration list, which creates the tables
// store/schema.h describes (postgres_store_test compares), with identity
// columns where SQLite computes MAX + 1, so replicas inserting at once never
// collide. Private to store/postgres. Thread-safe (MigratePostgres serializes
// through the server).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "store/postgres/pg_connection.h"

namespace sbx::store {

// Entry i brings the schema to version i + 1.
const std::vector<std::string>& PostgresMigrations();

// Applies the pending migrations on `conn`, each in its own transaction that
// holds a transaction-level advisory lock, so replicas starting together
// apply each migration exactly once. kFailedPrecondition when the database's
// schema is newer than this binary (nothing is changed).
Status MigratePostgres(PgConnection& conn);

}  // namespace sbx::store
