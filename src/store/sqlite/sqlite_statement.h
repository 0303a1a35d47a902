// Private to store/sqlite: a prepared statement of SqliteStore's connection,
// bound and stepped, its current row read as a RowReader; and how a failed
// SQLite call becomes a Status. Used under the store's mutex: not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/codec.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sbx::store {

// Busy, locked, I/O, full, can't-open and interrupted (past the call's
// deadline) are kUnavailable: they go away when retried later. The rest
// kInternal.
Status SqliteError(sqlite3* db, std::string_view what);

class SqliteStatement final : public RowReader {
 public:
  // Borrows `stmt`, a statement of `db` that the store caches; resets it and
  // clears its bindings when destroyed, so that the next use starts afresh.
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement() override;
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;

  // Binds parameter `i` (1-based).
  void Bind(int i, const SqlValue& v);
  // Binds `values` to parameters 1, 2, … in order.
  void BindAll(const std::vector<SqlValue>& values);
  // Runs to the next row: true while a row is available, false when done.
  Result<bool> Step();
  // Steps once, for a statement that returns no rows.
  Status Run();

  // RowReader, over the current row. SQLite converts any value to the type
  // asked for, so reads keep no error.
  bool IsNull(int col) const override;
  std::string Text(int col) const override;
  int64_t Int(int col) override;
  Status status() const override { return OkStatus(); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace sbx::store
