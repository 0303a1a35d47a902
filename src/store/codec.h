// The row codec both SQL stores share: how a sandbox record, a history row and
// a job run become the values of their columns (schema.h, in WriteList order)
// and how a row read back (in ReadList order) becomes one again, with the JSON
// text of the columns that hold a map or a list. SqliteStore and PostgresStore
// bind what Encode* returns and hand Decode* a RowReader over their own
// statement or result. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "core/sandbox.h"
#include "store/store.h"

namespace sbx::store {

// A column's value or a statement's parameter: NULL, an integer or text.
using SqlValue = std::variant<std::monostate, int64_t, std::string>;

// One row of a backend's result, read by column position. Not thread-safe.
class RowReader {
 public:
  virtual ~RowReader() = default;
  virtual bool IsNull(int col) const = 0;
  // The column as text; "" for NULL.
  virtual std::string Text(int col) const = 0;
  // The column as an integer. A value that is not one reads as 0 and its
  // error is kept for status().
  virtual int64_t Int(int col) = 0;
  // The first error a read kept; OK when there was none.
  virtual Status status() const = 0;

  // nullopt for NULL.
  std::optional<std::string> OptText(int col) const;
  std::optional<int64_t> OptInt(int col);
};

// The values of schema::WriteList(schema::kSandboxes), in its order:
// timestamps as Unix milliseconds, the status by name, metadata as a JSON
// object, pause_at_ms from core::PauseAt.
std::vector<SqlValue> EncodeSandbox(const core::Sandbox& s);
// A row selected with schema::ReadList(schema::kSandboxes). kInternal for a
// status name or metadata text this code does not write, or an integer
// column that holds none (RowReader::status).
Result<core::Sandbox> DecodeSandbox(RowReader& row);

// A record's EncodeSandbox values as one JSON array, in their order (null,
// integer or string each): how PostgresStore carries a committed record in
// its change notification, from the values it binds for the write.
std::string EncodeSandboxJson(std::span<const SqlValue> encoded);
// What EncodeSandboxJson wrote. kInvalidArgument for text that is not such
// an array; kInternal as DecodeSandbox for values this code does not write.
Result<core::Sandbox> DecodeSandboxJson(std::string_view text);

// The values of schema::WriteList(schema::kHistory): all but `seq`, which the
// store assigns.
std::vector<SqlValue> EncodeHistoryRow(const HistoryRow& h);
// A row selected with schema::ReadList(schema::kHistory); kInternal as above.
Result<HistoryRow> DecodeHistoryRow(RowReader& row);

// The values of schema::WriteList(schema::kJobRuns): all but `id`, which the
// store assigns; the errors as a JSON array.
std::vector<SqlValue> EncodeJobRun(const JobRun& run);
// A row selected with schema::ReadList(schema::kJobRuns); kInternal as above.
Result<JobRun> DecodeJobRun(RowReader& row);

// A list of strings as the JSON array text stored for it.
std::string EncodeStrings(const std::vector<std::string>& v);

// A row of SqlStatements::list_transitions (the overview's applied rows).
Result<HistoryRow> DecodeTransition(RowReader& row);
// A row of SqlStatements::count_history.
Result<HistoryCount> DecodeHistoryCount(RowReader& row);

// SqlStatements::newest_webhook's row into last_webhook; returns its seq.
Result<int64_t> DecodeNewestWebhook(RowReader& row, DeliverySummary& summary);
// SqlStatements::drift_after's row into last_drift and drift_since_webhook.
Status DecodeDriftAfter(RowReader& row, DeliverySummary& summary);

// The values of schema::WriteList(schema::kSessions).
std::vector<SqlValue> EncodeSession(const SessionRecord& s);
// A row selected with schema::ReadList(schema::kSessions); kInternal as above.
Result<SessionRecord> DecodeSession(RowReader& row);

}  // namespace sbx::store
