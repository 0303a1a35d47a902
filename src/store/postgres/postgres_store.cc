#include "store/postgres/postgres_store.h"

#include <limits>
#include <fmt/format.h>

#include <array>
#include <iterator>
#include <span>

#include "store/codec.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_migrations.h"
#include "store/postgres/pg_notify.h"
#include "store/schema.h"
#include "store/sql.h"

// Opening, batches and the Store's reads and writes: the shared statements
// (store/sql.h) and row codec (store/codec.h) on a pooled connection. Leases
// are in pg_leases.cc, NOTIFY and LISTEN in pg_notify.cc.

namespace sbx::store {
namespace {

using namespace std::chrono_literals;
using core::Sandbox;

const SqlStatements& Sql() { return Statements(Dialect::kPostgres); }

// history.seq and job_runs.id are identity columns (pg_migrations.cc).
const std::string& InsertHistorySql() {
  static const std::string sql =
      fmt::format("INSERT INTO history ({}) VALUES ({})", schema::WriteList(schema::kHistory),
                  schema::WriteParams(schema::kHistory, '$'));
  return sql;
}

const std::string& InsertJobRunSql() {
  static const std::string sql =
      fmt::format("INSERT INTO job_runs ({}) VALUES ({}) RETURNING id",
                  schema::WriteList(schema::kJobRuns), schema::WriteParams(schema::kJobRuns, '$'));
  return sql;
}

// CommitTransition as one statement, so that an event costs one round trip
// (the apply pipeline writes a batch's events one after another on one
// connection; seven round trips per event bounded ingest). In order: the
// event id is new (`fresh`); the record is written if so and its version
// still matches (`u`: the compare-and-set); only then are the id marked
// processed, the history row appended and the change announced. A single
// statement is all-or-nothing by itself, so no savepoint is needed; a
// concurrent replica that marked the same id first makes the insert into
// processed_events fail, which fails the statement (and its batch, whose
// events are then written one by one). Parameters: the record's columns,
// the expected version (updates), event id and its time, the history row's
// columns (if any), the channel and payload (if announcing).
std::string BuildCommitTransitionSql(bool insert, bool history, bool notify) {
  using schema::kHistory;
  using schema::kSandboxes;
  int next = schema::WriteCount(kSandboxes) + 1;
  const int version = insert ? 0 : next++;
  const int event = next;
  next += 2;
  std::string sql = fmt::format(
      "WITH fresh AS (SELECT (${0}::text = '' OR NOT EXISTS (SELECT 1 FROM processed_events "
      "WHERE event_id = ${0}::text))::int AS ok), ",
      event);
  if (insert) {
    sql += fmt::format(
        "u AS (INSERT INTO sandboxes ({}) SELECT {} WHERE (SELECT ok FROM fresh) = 1 "
        "ON CONFLICT (project_id) DO NOTHING RETURNING 1), ",
        schema::WriteList(kSandboxes), schema::TypedParams(kSandboxes, 1));
  } else {
    sql += fmt::format(
        "u AS (UPDATE sandboxes SET {} WHERE project_id = $1 AND version = ${} "
        "AND (SELECT ok FROM fresh) = 1 RETURNING 1), ",
        schema::UpdateAssignments(kSandboxes, '$'), version);
  }
  sql += fmt::format(
      "p AS (INSERT INTO processed_events (event_id, processed_at_ms) "
      "SELECT ${0}::text, ${1}::bigint FROM u WHERE ${0}::text <> '')",
      event, event + 1);
  if (history) {
    sql += fmt::format(", h AS (INSERT INTO history ({}) SELECT {} FROM u)",
                       schema::WriteList(kHistory), schema::TypedParams(kHistory, next));
    next += schema::WriteCount(kHistory);
  }
  if (notify) {
    sql += fmt::format(", n AS (SELECT pg_notify(${}::text, ${}::text) FROM u)", next, next + 1);
  }
  sql += " SELECT (SELECT ok FROM fresh), (SELECT count(*) FROM u)";
  // Referenced so that the notification is sent (a plain SELECT in WITH runs
  // only when read).
  if (notify) sql += ", (SELECT count(*) FROM n)";
  return sql;
}

const std::string& CommitTransitionSql(bool insert, bool history, bool notify) {
  static const std::array<std::string, 8> variants = [] {
    std::array<std::string, 8> v;
    for (int i = 0; i < 8; ++i) {
      v[static_cast<size_t>(i)] =
          BuildCommitTransitionSql((i & 4) != 0, (i & 2) != 0, (i & 1) != 0);
    }
    return v;
  }();
  return variants[(insert ? 4 : 0) + (history ? 2 : 0) + (notify ? 1 : 0)];
}

// A PostgreSQL array literal of text values: {"a","b\"c"}.
std::string TextArray(std::span<const std::string> values) {
  std::string out = "{";
  for (const std::string& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// LIMIT NULL is no limit, as a negative LIMIT is in SQLite.
PgParam LimitParam(int limit) {
  if (limit < 0) return std::nullopt;
  return Param(int64_t{limit});
}

Status MarkProcessed(PgConnection& conn, const std::string& event_id, SystemTime now) {
  SBX_ASSIGN_OR_RETURN(PgResult r,
                       conn.Run(Sql().mark_processed, {Param(event_id), Param(ToUnixMillis(now))}));
  if (r.affected() == 0) {
    return AlreadyExists(fmt::format("event {} was already processed", event_id));
  }
  return OkStatus();
}

Status InsertHistory(PgConnection& conn, const HistoryRow& row) {
  return conn.Run(InsertHistorySql(), Params(EncodeHistoryRow(row))).status();
}

}  // namespace

PostgresStore::PostgresStore(std::string url, PostgresOptions options, std::unique_ptr<PgPool> pool)
    : url_(std::move(url)), options_(options), pool_(std::move(pool)) {}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url,
                                                           PostgresOptions options) {
  if (options.pool_size < 1) {
    return InvalidArgument(fmt::format("postgres pool size {} is below 1", options.pool_size));
  }
  SBX_RETURN_IF_ERROR(MigrateTo(url, LatestSchemaVersion(), options).status());
  const bool timed = options.statement_timeout > 0ms;
  SBX_ASSIGN_OR_RETURN(
      auto pool,
      PgPool::Create({.url = url,
                      .connect_timeout = options.connect_timeout,
                      .statement_timeout = options.statement_timeout,
                      .lock_timeout = options.lock_timeout,
                      .idle_in_transaction_timeout = 2 * options.statement_timeout,
                      .response_timeout = timed ? options.statement_timeout + 1s : 0ms},
                     {.size = options.pool_size,
                      .borrow_timeout = options.borrow_timeout,
                      .retry_interval = options.retry_interval}));
  return std::unique_ptr<PostgresStore>(new PostgresStore(url, options, std::move(pool)));
}

int64_t PostgresStore::LatestSchemaVersion() {
  return static_cast<int64_t>(PostgresMigrations().size());
}

Result<int64_t> PostgresStore::MigrateTo(const std::string& url, int64_t version,
                                         PostgresOptions options) {
  if (version < 1 || version > LatestSchemaVersion()) {
    return InvalidArgument(fmt::format("schema version {}: this sandboxd knows versions 1 to {}",
                                       version, LatestSchemaVersion()));
  }
  // A connection of its own without deadlines: an index on a big table
  // takes as long as it takes, and a replica starting beside one that
  // migrates waits for its advisory lock.
  SBX_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(
                                      {.url = url, .connect_timeout = options.connect_timeout}));
  return MigratePostgres(*conn, version);
}

Status PostgresStore::Batch(const std::function<Status()>& body) {
  // Every call of this thread borrows the pinned connection and so joins
  // its transaction; a batch inside a batch is a savepoint (InTransaction).
  return pool_->Pinned([&](PgConnection& conn) { return InTransaction(conn, body); });
}

Result<int64_t> PostgresStore::SchemaVersion() {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r,
                       conn->Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  PgRow row(r, 0);
  const int64_t version = row.Int(0);
  SBX_RETURN_IF_ERROR(row.status());
  return version;
}

Status PostgresStore::Ping() {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  return conn->Exec("SELECT 1").status();
}

// Store: sandbox records

Result<std::vector<Sandbox>> PostgresStore::QuerySandboxes(const std::string& sql,
                                                           const std::vector<PgParam>& params) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(sql, params));
  return DecodeRows(r, DecodeSandbox);
}

Result<std::vector<Sandbox>> PostgresStore::LoadSandboxes() {
  return QuerySandboxes(Sql().load_sandboxes, {});
}

Result<Sandbox> PostgresStore::GetSandbox(const std::string& project_id) {
  SBX_ASSIGN_OR_RETURN(auto rows, QuerySandboxes(Sql().get_sandbox, {Param(project_id)}));
  if (rows.empty()) return NotFound(fmt::format("project {} has no sandbox", project_id));
  return std::move(rows.front());
}

Result<std::vector<Sandbox>> PostgresStore::GetSandboxes(
    std::span<const std::string> project_ids) {
  if (project_ids.empty()) return std::vector<Sandbox>();
  static const std::string sql =
      fmt::format("SELECT {} FROM sandboxes WHERE project_id = ANY($1::text[])",
                  schema::ReadList(schema::kSandboxes));
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->RunPlannedEachTime(sql, {Param(TextArray(project_ids))}));
  return DecodeRows(r, DecodeSandbox);
}

Result<std::vector<Sandbox>> PostgresStore::ListSandboxes(const ListOptions& options) {
  if (options.status) {
    return QuerySandboxes(
        Sql().list_sandboxes_with_status,
        {Param(options.after_project_id), Param(std::string(core::StatusName(*options.status))),
         LimitParam(options.limit)});
  }
  return QuerySandboxes(Sql().list_sandboxes,
                        {Param(options.after_project_id), LimitParam(options.limit)});
}

Result<std::vector<Sandbox>> PostgresStore::ListIdleDue(SystemTime now, int limit) {
  // Served by the partial index sandboxes_pause_at: pause_at_ms is NULL
  // unless RUNNING.
  return QuerySandboxes(Sql().list_idle_due, {Param(ToUnixMillis(now)), LimitParam(limit)});
}

namespace {

// The statement that commits one transition (CommitTransitionSql); with a
// change channel it also announces the change there.
Result<PgConnection::Statement> TransitionStatement(const Sandbox& next, int64_t expected_version,
                                                    const std::string& event_id,
                                                    const std::optional<HistoryRow>& history,
                                                    const std::string& change_channel) {
  if (next.version != expected_version + 1) {
    return InvalidArgument(
        fmt::format("version {} does not follow {}", next.version, expected_version));
  }
  const bool insert = expected_version == 0;
  const bool notify = !change_channel.empty();
  const std::vector<SqlValue> record = EncodeSandbox(next);
  std::vector<PgParam> params = Params(record);
  if (!insert) params.push_back(Param(expected_version));
  params.push_back(Param(event_id));
  params.push_back(Param(ToUnixMillis(next.updated_at)));
  if (history) {
    std::vector<PgParam> h = Params(EncodeHistoryRow(*history));
    params.insert(params.end(), std::make_move_iterator(h.begin()),
                  std::make_move_iterator(h.end()));
  }
  if (notify) {
    params.push_back(Param(change_channel));
    params.push_back(Param(ChangePayload(record)));
  }
  return PgConnection::Statement{CommitTransitionSql(insert, history.has_value(), notify),
                                 std::move(params)};
}

// What the commit statement's one row says: written, or why not.
Status TransitionOutcome(const PgResult& r, const Sandbox& next, int64_t expected_version,
                         const std::string& event_id) {
  if (r.rows() != 1) return Internal("commit statement returned no row");
  PgRow row(r, 0);
  const int64_t fresh = row.Int(0);
  const int64_t written = row.Int(1);
  SBX_RETURN_IF_ERROR(row.status());
  if (fresh == 0) return AlreadyExists(fmt::format("event {} was already processed", event_id));
  if (written == 0) {
    return FailedPrecondition(fmt::format("sandbox of project {} changed (expected version {})",
                                          next.project_id, expected_version));
  }
  return OkStatus();
}

}  // namespace

Status PostgresStore::CommitTransition(const Sandbox& next, int64_t expected_version,
                                       const std::string& event_id,
                                       const std::optional<HistoryRow>& history) {
  SBX_ASSIGN_OR_RETURN(PgConnection::Statement st,
                       TransitionStatement(next, expected_version, event_id, history,
                                           options_.change_channel));
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(st.sql, st.params));
  return TransitionOutcome(r, next, expected_version, event_id);
}

Status PostgresStore::CommitTransitions(std::span<const TransitionWrite> writes) {
  // One round trip for all of them (pipeline mode): the server runs each
  // statement after the one before, as separate calls would.
  std::vector<PgConnection::Statement> statements;
  statements.reserve(writes.size());
  for (const TransitionWrite& w : writes) {
    SBX_ASSIGN_OR_RETURN(PgConnection::Statement st,
                         TransitionStatement(w.next, w.expected_version, w.event_id, w.history,
                                             options_.change_channel));
    statements.push_back(std::move(st));
  }
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(std::vector<PgResult> results, conn->RunPipelined(statements));
  for (size_t i = 0; i < writes.size(); ++i) {
    const TransitionWrite& w = writes[i];
    Status s = TransitionOutcome(results[i], w.next, w.expected_version, w.event_id);
    if (!s.ok()) return s.WithContext(fmt::format("write {} of {}", i + 1, writes.size()));
  }
  return OkStatus();
}

// Store: processed events and history

Status PostgresStore::RecordEvent(const std::string& event_id, const HistoryRow& history) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  return InTransaction(*conn, [&]() -> Status {
    if (!event_id.empty()) {
      SBX_RETURN_IF_ERROR(MarkProcessed(*conn, event_id, history.recorded_at));
    }
    return InsertHistory(*conn, history);
  });
}

Status PostgresStore::AppendHistory(const HistoryRow& history) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  // In a transaction of its own (a savepoint inside a batch), so that a
  // refused row never aborts the rest of a batch.
  return InTransaction(*conn, [&] { return InsertHistory(*conn, history); });
}

Result<bool> PostgresStore::IsEventProcessed(const std::string& event_id) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(Sql().is_processed, {Param(event_id)}));
  return r.rows() > 0;
}

Result<std::unordered_set<std::string>> PostgresStore::ProcessedAmong(
    std::span<const std::string> ids) {
  std::unordered_set<std::string> seen;
  if (ids.empty()) return seen;
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(
      PgResult r,
      conn->RunPlannedEachTime(
          "SELECT event_id FROM processed_events WHERE event_id = ANY($1::text[])",
          {Param(TextArray(ids))}));
  for (int i = 0; i < r.rows(); ++i) seen.insert(r.Text(i, 0));
  return seen;
}

Result<std::vector<HistoryRow>> PostgresStore::ListHistory(const std::string& project_id,
                                                           int limit, int64_t before_seq) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  const int64_t before = before_seq > 0 ? before_seq : std::numeric_limits<int64_t>::max();
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(Sql().list_history, {Param(project_id),
                                                                  LimitParam(limit),
                                                                  Param(before)}));
  return DecodeRows(r, DecodeHistoryRow);
}

// Store: job runs

Result<int64_t> PostgresStore::RecordJobRun(const JobRun& run) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(InsertJobRunSql(), Params(EncodeJobRun(run))));
  if (r.rows() != 1) return Internal("job run insert returned no id");
  PgRow row(r, 0);
  const int64_t id = row.Int(0);
  SBX_RETURN_IF_ERROR(row.status());
  return id;
}

Result<std::vector<JobRun>> PostgresStore::ListJobRuns(const std::string& job, int limit,
                                                       int64_t before_id) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  const int64_t before = before_id > 0 ? before_id : std::numeric_limits<int64_t>::max();
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(Sql().list_job_runs,
                                             {Param(job), LimitParam(limit), Param(before)}));
  return DecodeRows(r, DecodeJobRun);
}

// Store: the overview's reads

Result<std::vector<HistoryCount>> PostgresStore::CountHistory(SystemTime since, SystemTime until,
                                                              Millis width) {
  if (width <= Millis::zero()) return InvalidArgument("a bucket must be longer than 0 ms");
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r,
                       conn->Run(Sql().count_history,
                                 {Param(ToUnixMillis(since)), Param(ToUnixMillis(until)),
                                  Param(int64_t{width.count()})}));
  return DecodeRows(r, DecodeHistoryCount);
}

Result<std::vector<HistoryRow>> PostgresStore::ListTransitions(SystemTime since, int limit) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(Sql().list_transitions,
                                             {Param(ToUnixMillis(since)), LimitParam(limit)}));
  return DecodeRows(r, DecodeTransition);
}

Result<DeliverySummary> PostgresStore::SummarizeDelivery() {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  DeliverySummary out;
  int64_t after = 0;  // seq starts at 1
  SBX_ASSIGN_OR_RETURN(PgResult newest, conn->Run(Sql().newest_webhook, {}));
  if (newest.rows() == 1) {
    PgRow row(newest, 0);
    SBX_ASSIGN_OR_RETURN(after, DecodeNewestWebhook(row, out));
  }
  SBX_ASSIGN_OR_RETURN(PgResult drift, conn->Run(Sql().drift_after,
                                                 {Param(after), LimitParam(kMaxDriftCounted)}));
  if (drift.rows() == 1) {
    PgRow row(drift, 0);
    SBX_RETURN_IF_ERROR(DecodeDriftAfter(row, out));
  }
  return out;
}

Result<std::map<std::string, std::string>> PostgresStore::StatusesBefore(
    std::span<const std::string> projects, int64_t before_seq) {
  // One statement whatever the number of projects, each looked up through
  // history_project.
  static const std::string sql =
      "SELECT p, (SELECT status FROM history WHERE project_id = p AND seq < $2::bigint "
      "AND status IS NOT NULL ORDER BY seq DESC LIMIT 1) FROM unnest($1::text[]) AS p";
  std::map<std::string, std::string> out;
  if (projects.empty()) return out;
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->RunPlannedEachTime(
                                       sql, {Param(TextArray(projects)), Param(before_seq)}));
  for (int i = 0; i < r.rows(); ++i) {
    if (!r.IsNull(i, 1)) out[r.Text(i, 0)] = r.Text(i, 1);
  }
  return out;
}

// Store: forgetting a project

Result<int64_t> PostgresStore::ForgetSandbox(const std::string& project_id,
                                             int64_t expected_version,
                                             const HistoryRow& forgotten, bool remove_history) {
  static const std::string insert_history = InsertHistorySql() + " RETURNING seq";
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  int64_t removed = 0;
  Status s = InTransaction(*conn, [&]() -> Status {
    SBX_ASSIGN_OR_RETURN(PgResult del, conn->Run(Sql().forget_sandbox,
                                                 {Param(project_id), Param(expected_version)}));
    if (del.affected() == 0) {
      SBX_ASSIGN_OR_RETURN(PgResult found, conn->Run(Sql().get_sandbox, {Param(project_id)}));
      if (found.rows() == 0) return NotFound(fmt::format("project {} has no sandbox", project_id));
      return FailedPrecondition(fmt::format("sandbox of project {} changed (expected version {})",
                                            project_id, expected_version));
    }
    SBX_ASSIGN_OR_RETURN(PgResult h, conn->Run(insert_history, Params(EncodeHistoryRow(forgotten))));
    if (h.rows() != 1) return Internal("history insert returned no seq");
    PgRow row(h, 0);
    const int64_t seq = row.Int(0);
    SBX_RETURN_IF_ERROR(row.status());
    if (remove_history) {
      SBX_ASSIGN_OR_RETURN(PgResult old,
                           conn->Run(Sql().forget_history, {Param(project_id), Param(seq)}));
      removed = old.affected();
    }
    if (options_.change_channel.empty()) return OkStatus();
    // Version expected + 1 without a record: followers drop theirs.
    return conn
        ->Run("SELECT pg_notify($1::text, $2::text)",
              {Param(options_.change_channel),
               Param(RemovalPayload(project_id, expected_version + 1))})
        .status();
  });
  if (!s.ok()) return s;
  return removed;
}

// Store: sessions

Status PostgresStore::CreateSession(const std::string& id_hash, SystemTime created_at,
                                    SystemTime expires_at) {
  if (id_hash.empty()) return InvalidArgument("a session needs an id hash");
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(Sql().insert_session,
                                             Params(EncodeSession({id_hash, created_at,
                                                                   expires_at}))));
  if (r.affected() == 0) return AlreadyExists("a session with this id hash exists");
  return OkStatus();
}

Result<SessionRecord> PostgresStore::GetSession(const std::string& id_hash) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r, conn->Run(Sql().get_session, {Param(id_hash)}));
  SBX_ASSIGN_OR_RETURN(std::vector<SessionRecord> rows, DecodeRows(r, DecodeSession));
  if (rows.empty()) return NotFound("no such session");
  return std::move(rows.front());
}

Status PostgresStore::DeleteSession(const std::string& id_hash) {
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  return conn->Run(Sql().delete_session, {Param(id_hash)}).status();
}

// Store: retention

Result<int64_t> PostgresStore::Prune(const std::string& sql, SystemTime before, int limit) {
  if (limit < 1) return InvalidArgument(fmt::format("prune limit {} is below 1", limit));
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(PgResult r,
                       conn->Run(sql, {Param(ToUnixMillis(before)), Param(int64_t{limit})}));
  return r.affected();
}

Result<int64_t> PostgresStore::PruneHistory(SystemTime recorded_before, int limit) {
  return Prune(Sql().prune_history, recorded_before, limit);
}

Result<int64_t> PostgresStore::PruneProcessedEvents(SystemTime processed_before, int limit) {
  return Prune(Sql().prune_processed_events, processed_before, limit);
}

Result<int64_t> PostgresStore::PruneJobRuns(SystemTime finished_before, int limit) {
  return Prune(Sql().prune_job_runs, finished_before, limit);
}

Result<int64_t> PostgresStore::PruneExpiredSessions(SystemTime now, int limit) {
  return Prune(Sql().prune_sessions, now, limit);
}

}  // namespace sbx::store
