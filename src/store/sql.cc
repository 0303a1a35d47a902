#include "store/sql.h"

#include <fmt/format.h>

#include "store/schema.h"

namespace sbx::store {
namespace {

// `mark` numbers the parameters: '?' for ?1, ?2, …; '$' for $1, $2, ….
SqlStatements Build(char mark) {
  using schema::kSandboxes;
  auto p = [&](int n) { return fmt::format("{}{}", mark, n); };
  auto select_sandboxes = [&](std::string_view rest) {
    return fmt::format("SELECT {} FROM sandboxes {}", schema::ReadList(kSandboxes), rest);
  };
  SqlStatements s;
  s.load_sandboxes = select_sandboxes("ORDER BY project_id");
  s.get_sandbox = select_sandboxes(fmt::format("WHERE project_id = {}", p(1)));
  s.list_sandboxes = select_sandboxes(
      fmt::format("WHERE project_id > {} ORDER BY project_id LIMIT {}", p(1), p(2)));
  s.list_sandboxes_with_status = select_sandboxes(fmt::format(
      "WHERE project_id > {} AND status = {} ORDER BY project_id LIMIT {}", p(1), p(2), p(3)));
  s.list_idle_due = select_sandboxes(
      fmt::format("WHERE pause_at_ms IS NOT NULL AND pause_at_ms <= {} ORDER BY pause_at_ms "
                  "LIMIT {}",
                  p(1), p(2)));
  s.insert_sandbox =
      fmt::format("INSERT INTO sandboxes ({}) VALUES ({}) ON CONFLICT (project_id) DO NOTHING",
                  schema::WriteList(kSandboxes), schema::WriteParams(kSandboxes, mark));
  s.update_sandbox = fmt::format("UPDATE sandboxes SET {} WHERE project_id = {} AND version = {}",
                                 schema::UpdateAssignments(kSandboxes, mark), p(1),
                                 p(schema::WriteCount(kSandboxes) + 1));
  s.mark_processed = fmt::format(
      "INSERT INTO processed_events (event_id, processed_at_ms) VALUES ({}, {}) "
      "ON CONFLICT (event_id) DO NOTHING",
      p(1), p(2));
  s.is_processed = fmt::format("SELECT 1 FROM processed_events WHERE event_id = {}", p(1));
  s.list_history =
      fmt::format("SELECT {} FROM history WHERE project_id = {} AND seq < {} "
                  "ORDER BY seq DESC LIMIT {}",
                  schema::ReadList(schema::kHistory), p(1), p(3), p(2));
  s.list_job_runs = fmt::format(
      "SELECT {} FROM job_runs WHERE job = {} AND id < {} ORDER BY id DESC LIMIT {}",
      schema::ReadList(schema::kJobRuns), p(1), p(3), p(2));
  // Both read through history_recorded_at; CAST gives PostgreSQL the
  // parameters' types where arithmetic alone would not.
  s.count_history = fmt::format(
      "SELECT (recorded_at_ms - CAST({0} AS BIGINT)) / CAST({2} AS BIGINT) AS bucket, source, "
      "outcome, COUNT(*) FROM history WHERE recorded_at_ms >= {0} AND recorded_at_ms < {1} "
      "GROUP BY bucket, source, outcome ORDER BY bucket",
      p(1), p(2), p(3));
  s.list_transitions = fmt::format(
      "SELECT seq, project_id, type, source, outcome, recorded_at_ms, status, "
      "CASE WHEN source = 'enforcer' THEN inputs ELSE '' END FROM history "
      "WHERE recorded_at_ms >= {} AND status IS NOT NULL "
      "ORDER BY recorded_at_ms DESC, seq DESC LIMIT {}",
      p(1), p(2));
  s.newest_webhook =
      "SELECT seq, recorded_at_ms FROM history WHERE source = 'webhook' ORDER BY seq DESC LIMIT 1";
  // Two subqueries, each an index range of history_source; the count stops
  // at its limit, so a long silence costs no more than that many rows. A
  // settled crash (lifecycle::IsCrashRepair) is no drift.
  constexpr std::string_view kDrift =
      "source = 'reconciler' AND outcome = 'applied' AND type NOT IN ('pause_failed', "
      "'create_failed')";
  s.drift_after = fmt::format(
      "SELECT (SELECT recorded_at_ms FROM history WHERE {0} ORDER BY seq DESC LIMIT 1), "
      "(SELECT COUNT(*) FROM (SELECT 1 FROM history WHERE {0} AND seq > {1} LIMIT {2}) AS d)",
      kDrift, p(1), p(2));
  s.forget_sandbox =
      fmt::format("DELETE FROM sandboxes WHERE project_id = {} AND version = {}", p(1), p(2));
  s.forget_history = fmt::format("DELETE FROM history WHERE project_id = {} AND seq < {}", p(1),
                                 p(2));
  s.insert_session = fmt::format(
      "INSERT INTO sessions ({}) VALUES ({}) ON CONFLICT (id_hash) DO NOTHING",
      schema::WriteList(schema::kSessions), schema::WriteParams(schema::kSessions, mark));
  s.get_session = fmt::format("SELECT {} FROM sessions WHERE id_hash = {}",
                              schema::ReadList(schema::kSessions), p(1));
  s.delete_session = fmt::format("DELETE FROM sessions WHERE id_hash = {}", p(1));
  // Each selects its victims through the time index, oldest first, and
  // deletes them by key: neither dialect has DELETE … LIMIT by default.
  auto prune = [&](std::string_view table, std::string_view key, std::string_view condition,
                   std::string_view order, bool keep_newest) {
    return fmt::format(
        "DELETE FROM {0} WHERE {1} IN (SELECT {1} FROM {0} WHERE {2}{3} ORDER BY {4} LIMIT {5})",
        table, key, condition,
        keep_newest ? fmt::format(" AND {1} < (SELECT MAX({1}) FROM {0})", table, key) : "",
        order, p(2));
  };
  s.prune_history = prune("history", "seq", fmt::format("recorded_at_ms < {}", p(1)),
                          "recorded_at_ms", true);
  s.prune_processed_events =
      prune("processed_events", "event_id", fmt::format("processed_at_ms < {}", p(1)),
            "processed_at_ms", false);
  s.prune_job_runs = prune("job_runs", "id", fmt::format("finished_at_ms < {}", p(1)),
                           "finished_at_ms", true);
  s.prune_sessions = prune("sessions", "id_hash", fmt::format("expires_at_ms <= {}", p(1)),
                           "expires_at_ms", false);
  return s;
}

}  // namespace

const SqlStatements& Statements(Dialect dialect) {
  static const SqlStatements kSqlite = Build('?');
  static const SqlStatements kPostgres = Build('$');
  return dialect == Dialect::kSqlite ? kSqlite : kPostgres;
}

}  // namespace sbx::store
