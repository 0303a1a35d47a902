// SqliteStore's reads and writes of sandbox records, processed events,
// history, job runs and sessions, and retention: the shared statements
// (store/sql.h) and row codec (store/codec.h), run on the store's connection.
#include <limits>
#include <fmt/format.h>
#include <sqlite3.h>

#include "store/codec.h"
#include "store/schema.h"
#include "store/sql.h"
#include "store/sqlite/sqlite_statement.h"
#include "store/sqlite/sqlite_store.h"

namespace sbx::store {
namespace {

using core::Sandbox;

const SqlStatements& Sql() { return Statements(Dialect::kSqlite); }

// seq and id are plain keys (see sqlite_migrations.cc): the next is MAX + 1.
const std::string& InsertHistorySql() {
  static const std::string sql = fmt::format(
      "INSERT INTO history (seq, {}) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM history), {})",
      schema::WriteList(schema::kHistory), schema::WriteParams(schema::kHistory, '?'));
  return sql;
}

const std::string& InsertJobRunSql() {
  static const std::string sql = fmt::format(
      "INSERT INTO job_runs (id, {}) VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM job_runs), {}) "
      "RETURNING id",
      schema::WriteList(schema::kJobRuns), schema::WriteParams(schema::kJobRuns, '?'));
  return sql;
}

// Steps through the rows of `st` and decodes each with `decode`.
template <typename T>
Result<std::vector<T>> DecodeAll(SqliteStatement& st, Result<T> (*decode)(RowReader&)) {
  std::vector<T> out;
  for (;;) {
    SBX_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    SBX_ASSIGN_OR_RETURN(T value, decode(st));
    out.push_back(std::move(value));
  }
}

}  // namespace

// Store: sandbox records

Result<std::vector<Sandbox>> SqliteStore::QuerySandboxesLocked(const std::string& sql,
                                                               const std::vector<SqlValue>& params) {
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(sql));
  st.BindAll(params);
  return DecodeAll(st, DecodeSandbox);
}

Result<std::vector<Sandbox>> SqliteStore::LoadSandboxes() {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  return QuerySandboxesLocked(Sql().load_sandboxes, {});
}

Result<Sandbox> SqliteStore::GetSandbox(const std::string& project_id) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(auto rows, QuerySandboxesLocked(Sql().get_sandbox, {project_id}));
  if (rows.empty()) return NotFound(fmt::format("project {} has no sandbox", project_id));
  return std::move(rows.front());
}

Result<std::vector<Sandbox>> SqliteStore::ListSandboxes(const ListOptions& options) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  // A negative limit is no limit.
  if (options.status) {
    return QuerySandboxesLocked(Sql().list_sandboxes_with_status,
                                {options.after_project_id,
                                 std::string(core::StatusName(*options.status)),
                                 int64_t{options.limit}});
  }
  return QuerySandboxesLocked(Sql().list_sandboxes,
                              {options.after_project_id, int64_t{options.limit}});
}

Result<std::vector<Sandbox>> SqliteStore::ListIdleDue(SystemTime now, int limit) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  return QuerySandboxesLocked(Sql().list_idle_due, {ToUnixMillis(now), int64_t{limit}});
}

Status SqliteStore::CommitTransition(const Sandbox& next, int64_t expected_version,
                                     const std::string& event_id,
                                     const std::optional<HistoryRow>& history) {
  if (next.version != expected_version + 1) {
    return InvalidArgument(fmt::format("version {} does not follow {}", next.version,
                                       expected_version));
  }
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  return AtomicallyLocked([&]() -> Status {
    if (!event_id.empty()) SBX_RETURN_IF_ERROR(MarkProcessedLocked(event_id, next.updated_at));
    std::vector<SqlValue> params = EncodeSandbox(next);
    if (expected_version != 0) params.emplace_back(expected_version);
    SBX_ASSIGN_OR_RETURN(
        SqliteStatement st,
        PrepareLocked(expected_version == 0 ? Sql().insert_sandbox : Sql().update_sandbox));
    st.BindAll(params);
    SBX_RETURN_IF_ERROR(st.Run());
    if (sqlite3_changes(db_) == 0) {
      return FailedPrecondition(fmt::format("sandbox of project {} changed (expected version {})",
                                            next.project_id, expected_version));
    }
    if (history) SBX_RETURN_IF_ERROR(InsertHistoryLocked(*history));
    return OkStatus();
  });
}

// Store: processed events and history

Status SqliteStore::MarkProcessedLocked(const std::string& event_id, SystemTime now) {
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().mark_processed));
  st.BindAll({event_id, ToUnixMillis(now)});
  SBX_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(db_) == 0) {
    return AlreadyExists(fmt::format("event {} was already processed", event_id));
  }
  return OkStatus();
}

Status SqliteStore::InsertHistoryLocked(const HistoryRow& row) {
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(InsertHistorySql()));
  st.BindAll(EncodeHistoryRow(row));
  return st.Run();
}

Status SqliteStore::RecordEvent(const std::string& event_id, const HistoryRow& history) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  return AtomicallyLocked([&]() -> Status {
    if (!event_id.empty()) SBX_RETURN_IF_ERROR(MarkProcessedLocked(event_id, history.recorded_at));
    return InsertHistoryLocked(history);
  });
}

Status SqliteStore::AppendHistory(const HistoryRow& history) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  // A unit of its own (a savepoint inside a batch), like every write a batch
  // makes, so that it never commits by itself after the batch was lost.
  return AtomicallyLocked([&] { return InsertHistoryLocked(history); });
}

Result<bool> SqliteStore::IsEventProcessed(const std::string& event_id) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().is_processed));
  st.Bind(1, event_id);
  return st.Step();
}

Result<std::vector<HistoryRow>> SqliteStore::ListHistory(const std::string& project_id,
                                                         int limit, int64_t before_seq) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().list_history));
  st.BindAll({project_id, int64_t{limit},
              before_seq > 0 ? before_seq : std::numeric_limits<int64_t>::max()});
  return DecodeAll(st, DecodeHistoryRow);
}

// Store: job runs

Result<int64_t> SqliteStore::RecordJobRun(const JobRun& run) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(InsertJobRunSql()));
  st.BindAll(EncodeJobRun(run));
  SBX_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Internal("job run insert returned no id");
  const int64_t id = st.Int(0);
  SBX_ASSIGN_OR_RETURN(bool more, st.Step());
  (void)more;
  return id;
}

Result<std::vector<JobRun>> SqliteStore::ListJobRuns(const std::string& job, int limit,
                                                     int64_t before_id) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().list_job_runs));
  st.BindAll({job, int64_t{limit},
              before_id > 0 ? before_id : std::numeric_limits<int64_t>::max()});
  return DecodeAll(st, DecodeJobRun);
}

// Store: the overview's reads

Result<std::vector<HistoryCount>> SqliteStore::CountHistory(SystemTime since, SystemTime until,
                                                            Millis width) {
  if (width <= Millis::zero()) return InvalidArgument("a bucket must be longer than 0 ms");
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().count_history));
  st.BindAll({ToUnixMillis(since), ToUnixMillis(until), int64_t{width.count()}});
  return DecodeAll(st, DecodeHistoryCount);
}

Result<std::vector<HistoryRow>> SqliteStore::ListTransitions(SystemTime since, int limit) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().list_transitions));
  st.BindAll({ToUnixMillis(since), int64_t{limit}});
  return DecodeAll(st, DecodeTransition);
}

Result<DeliverySummary> SqliteStore::SummarizeDelivery() {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  DeliverySummary out;
  int64_t after = 0;  // seq starts at 1
  {
    SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().newest_webhook));
    SBX_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      SBX_ASSIGN_OR_RETURN(after, DecodeNewestWebhook(st, out));
    }
  }
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().drift_after));
  st.BindAll({after, int64_t{kMaxDriftCounted}});
  SBX_ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) SBX_RETURN_IF_ERROR(DecodeDriftAfter(st, out));
  return out;
}

Result<std::map<std::string, std::string>> SqliteStore::StatusesBefore(
    std::span<const std::string> projects, int64_t before_seq) {
  // The projects arrive as one JSON array (json_each): one statement
  // whatever their number, each looked up through history_project.
  static const std::string sql =
      "SELECT p.value, (SELECT status FROM history WHERE project_id = p.value AND seq < ?2 "
      "AND status IS NOT NULL ORDER BY seq DESC LIMIT 1) FROM json_each(?1) AS p";
  std::map<std::string, std::string> out;
  if (projects.empty()) return out;
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(sql));
  st.BindAll({EncodeStrings({projects.begin(), projects.end()}), before_seq});
  for (;;) {
    SBX_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    if (!st.IsNull(1)) out[st.Text(0)] = st.Text(1);
  }
}

// Store: forgetting a project

Result<int64_t> SqliteStore::ForgetSandbox(const std::string& project_id,
                                           int64_t expected_version, const HistoryRow& forgotten,
                                           bool remove_history) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  int64_t removed = 0;
  Status s = AtomicallyLocked([&]() -> Status {
    SBX_ASSIGN_OR_RETURN(SqliteStatement del, PrepareLocked(Sql().forget_sandbox));
    del.BindAll({project_id, expected_version});
    SBX_RETURN_IF_ERROR(del.Run());
    if (sqlite3_changes(db_) == 0) {
      SBX_ASSIGN_OR_RETURN(auto rows, QuerySandboxesLocked(Sql().get_sandbox, {project_id}));
      if (rows.empty()) return NotFound(fmt::format("project {} has no sandbox", project_id));
      return FailedPrecondition(fmt::format("sandbox of project {} changed (expected version {})",
                                            project_id, expected_version));
    }
    // The row saying so goes first: it takes the next seq, and the older
    // rows it replaces are below it, so seq never starts over.
    SBX_RETURN_IF_ERROR(InsertHistoryLocked(forgotten));
    if (!remove_history) return OkStatus();
    SBX_ASSIGN_OR_RETURN(SqliteStatement max, PrepareLocked("SELECT MAX(seq) FROM history"));
    SBX_ASSIGN_OR_RETURN(bool row, max.Step());
    if (!row) return Internal("history is empty after an insert");
    const int64_t seq = max.Int(0);
    SBX_ASSIGN_OR_RETURN(SqliteStatement old, PrepareLocked(Sql().forget_history));
    old.BindAll({project_id, seq});
    SBX_RETURN_IF_ERROR(old.Run());
    removed = sqlite3_changes(db_);
    return OkStatus();
  });
  if (!s.ok()) return s;
  return removed;
}

// Store: sessions

Status SqliteStore::CreateSession(const std::string& id_hash, SystemTime created_at,
                                  SystemTime expires_at) {
  if (id_hash.empty()) return InvalidArgument("a session needs an id hash");
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().insert_session));
  st.BindAll(EncodeSession({id_hash, created_at, expires_at}));
  SBX_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(db_) == 0) return AlreadyExists("a session with this id hash exists");
  return OkStatus();
}

Result<SessionRecord> SqliteStore::GetSession(const std::string& id_hash) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().get_session));
  st.Bind(1, id_hash);
  SBX_ASSIGN_OR_RETURN(std::vector<SessionRecord> rows, DecodeAll(st, DecodeSession));
  if (rows.empty()) return NotFound("no such session");
  return std::move(rows.front());
}

Status SqliteStore::DeleteSession(const std::string& id_hash) {
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(Sql().delete_session));
  st.Bind(1, id_hash);
  return st.Run();
}

// Store: retention

Result<int64_t> SqliteStore::Prune(const std::string& sql, SystemTime before, int limit) {
  if (limit < 1) return InvalidArgument(fmt::format("prune limit {} is below 1", limit));
  SBX_ASSIGN_OR_RETURN(Call call, BeginCall());
  SBX_ASSIGN_OR_RETURN(SqliteStatement st, PrepareLocked(sql));
  st.BindAll({ToUnixMillis(before), int64_t{limit}});
  SBX_RETURN_IF_ERROR(st.Run());
  return int64_t{sqlite3_changes(db_)};
}

Result<int64_t> SqliteStore::PruneHistory(SystemTime recorded_before, int limit) {
  return Prune(Sql().prune_history, recorded_before, limit);
}

Result<int64_t> SqliteStore::PruneProcessedEvents(SystemTime processed_before, int limit) {
  return Prune(Sql().prune_processed_events, processed_before, limit);
}

Result<int64_t> SqliteStore::PruneJobRuns(SystemTime finished_before, int limit) {
  return Prune(Sql().prune_job_runs, finished_before, limit);
}

Result<int64_t> SqliteStore::PruneExpiredSessions(SystemTime now, int limit) {
  return Prune(Sql().prune_sessions, now, limit);
}

}  // namespace sbx::store
