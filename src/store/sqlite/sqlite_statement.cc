#include "store/sqlite/sqlite_statement.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <utility>

namespace sbx::store {

Status SqliteError(sqlite3* db, std::string_view what) {
  const int code = sqlite3_errcode(db);
  std::string msg = fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db));
  if (code == SQLITE_INTERRUPT) {
    return Unavailable(msg + " (the call ran past its deadline)");
  }
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR ||
      code == SQLITE_FULL || code == SQLITE_CANTOPEN) {
    return Unavailable(std::move(msg));
  }
  return Internal(std::move(msg));
}

SqliteStatement::~SqliteStatement() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

void SqliteStatement::Bind(int i, const SqlValue& v) {
  if (const auto* text = std::get_if<std::string>(&v)) {
    sqlite3_bind_text(stmt_, i, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
  } else if (const auto* n = std::get_if<int64_t>(&v)) {
    sqlite3_bind_int64(stmt_, i, *n);
  } else {
    sqlite3_bind_null(stmt_, i);
  }
}

void SqliteStatement::BindAll(const std::vector<SqlValue>& values) {
  int i = 1;
  for (const SqlValue& v : values) Bind(i++, v);
}

Result<bool> SqliteStatement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, "step");
}

Status SqliteStatement::Run() {
  auto r = Step();
  if (!r) return r.error();
  return OkStatus();
}

bool SqliteStatement::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::string SqliteStatement::Text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}

int64_t SqliteStatement::Int(int col) { return sqlite3_column_int64(stmt_, col); }

}  // namespace sbx::store
