#include "store/codec.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>

#include "store/schema.h"
#include "store/sql.h"
#include "store/testing/records.h"

namespace sbx::store {
namespace {

using core::Sandbox;
using core::SandboxStatus;
using testing::Make;
using testing::T;

// A row of a result set held as values, read the way a backend reads one:
// integers may arrive as text, and text that is no integer is an error.
class FakeRow final : public RowReader {
 public:
  explicit FakeRow(std::vector<SqlValue> values) : values_(std::move(values)) {}

  bool IsNull(int col) const override { return std::holds_alternative<std::monostate>(At(col)); }
  std::string Text(int col) const override {
    if (const auto* n = std::get_if<int64_t>(&At(col))) return std::to_string(*n);
    if (const auto* s = std::get_if<std::string>(&At(col))) return *s;
    return "";
  }
  int64_t Int(int col) override {
    if (const auto* n = std::get_if<int64_t>(&At(col))) return *n;
    const std::string text = Text(col);
    int64_t out = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if ((ec != std::errc() || end != text.data() + text.size()) && status_.ok()) {
      status_ = Internal("column " + std::to_string(col) + " is not an integer");
    }
    return out;
  }
  Status status() const override { return status_; }

 private:
  const SqlValue& At(int col) const { return values_.at(static_cast<size_t>(col)); }

  std::vector<SqlValue> values_;
  Status status_;
};

// The row a SELECT of ReadList returns for what Encode* wrote: `assigned`
// first when the table has a store-assigned column, and no write-only ones.
std::vector<SqlValue> ReadBack(const schema::Table& table, const std::vector<SqlValue>& written,
                               std::optional<int64_t> assigned = std::nullopt) {
  std::vector<SqlValue> row;
  if (assigned) row.emplace_back(std::in_place_type<int64_t>, *assigned);
  row.insert(row.end(), written.begin(), written.end());
  // Write-only columns come last (schema::WellFormed).
  while (table.columns[row.size() - 1].access == schema::Access::kWriteOnly) row.pop_back();
  return row;
}

Sandbox Full() {
  Sandbox s = Make("p1", 3);
  s.last_error = core::LastError{"pause_failed", "runc pause: exit 1", T(7)};
  s.provider_end_at = T(500);
  s.metadata["x"] = "y \"quoted\"";
  s.holds = {{"build", T(100)}, {"deploy \"x\"", T(150)}};
  s.activity = {{"api", T(8)}, {"presence", T(10)}};
  s.idle_policy = "adaptive";
  return s;
}

TEST(SchemaTest, ListsNameTheColumnsEachWayInOrder) {
  EXPECT_EQ(schema::ReadList(schema::kJobRuns),
            "id, job, trigger, started_at_ms, finished_at_ms, checked, paused, failed, errors, "
            "paused_projects");
  EXPECT_EQ(schema::WriteList(schema::kJobRuns),
            "job, trigger, started_at_ms, finished_at_ms, checked, paused, failed, errors, "
            "paused_projects");
  EXPECT_EQ(schema::WriteParams(schema::kJobRuns, '$'), "$1, $2, $3, $4, $5, $6, $7, $8, $9");
  EXPECT_EQ(schema::WriteCount(schema::kSandboxes), 20);
  EXPECT_EQ(schema::TypedParams(schema::kJobRuns, 3),
            "$3::text, $4::text, $5::bigint, $6::bigint, $7::bigint, $8::bigint, $9::bigint, "
            "$10::text, $11::text");
  EXPECT_EQ(schema::ReadList(schema::kSandboxes).find("pause_at_ms"), std::string::npos);
  EXPECT_NE(schema::WriteList(schema::kSandboxes).find(", pause_at_ms"), std::string::npos);
  EXPECT_EQ(schema::UpdateAssignments(schema::kProcessedEvents, '?'), "processed_at_ms = ?2");
  const std::string set = schema::UpdateAssignments(schema::kSandboxes, '?');
  EXPECT_TRUE(set.starts_with("sandbox_id = ?2, status = ?3, url = ?4, ")) << set;
  EXPECT_TRUE(set.ends_with(", metadata = ?16, holds = ?17, activity = ?18, idle_policy = ?19, "
                            "pause_at_ms = ?20"))
      << set;
}

TEST(SqlTest, StatementsDifferOnlyInHowParametersAreNumbered) {
  const SqlStatements& sqlite = Statements(Dialect::kSqlite);
  const SqlStatements& postgres = Statements(Dialect::kPostgres);
  EXPECT_TRUE(postgres.update_sandbox.ends_with(
      "pause_at_ms = $20 WHERE project_id = $1 AND version = $21"))
      << postgres.update_sandbox;
  EXPECT_EQ(sqlite.get_sandbox, "SELECT " + schema::ReadList(schema::kSandboxes) +
                                    " FROM sandboxes WHERE project_id = ?1");
  std::string update = sqlite.update_sandbox;
  std::replace(update.begin(), update.end(), '?', '$');
  EXPECT_EQ(update, postgres.update_sandbox);
}

TEST(SqlTest, PruneStatementsDeleteABoundedBatchOfTheOldestRowsByKey) {
  const SqlStatements& sqlite = Statements(Dialect::kSqlite);
  EXPECT_EQ(sqlite.prune_history,
            "DELETE FROM history WHERE seq IN (SELECT seq FROM history WHERE recorded_at_ms < ?1 "
            "AND seq < (SELECT MAX(seq) FROM history) ORDER BY recorded_at_ms LIMIT ?2)");
  EXPECT_EQ(Statements(Dialect::kPostgres).prune_sessions,
            "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE "
            "expires_at_ms <= $1 ORDER BY expires_at_ms LIMIT $2)");
  EXPECT_EQ(sqlite.prune_processed_events.find("MAX("), std::string::npos);
  EXPECT_NE(sqlite.prune_job_runs.find("id < (SELECT MAX(id) FROM job_runs)"), std::string::npos);
}

// Every index names a table of the description and only its columns, and
// nothing is newer than the description's version.
TEST(SchemaTest, IndexesNameDescribedTablesAndColumns) {
  for (const schema::Index& index : schema::kIndexes) {
    const schema::Table* table = nullptr;
    for (const schema::Table& t : schema::kTables) {
      if (t.name == index.table) table = &t;
    }
    ASSERT_NE(table, nullptr) << index.name;
    EXPECT_GE(index.since, table->since) << index.name;
    EXPECT_LE(index.since, schema::kVersion) << index.name;
    std::string_view rest = index.columns;
    while (!rest.empty()) {
      const size_t comma = rest.find(", ");
      const std::string_view name = rest.substr(0, comma);
      EXPECT_TRUE(std::any_of(table->columns.begin(), table->columns.end(),
                              [&](const schema::Column& c) { return c.name == name; }))
          << index.name << ": " << name;
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 2);
    }
  }
  for (const schema::Table& t : schema::kTables) EXPECT_LE(t.since, schema::kVersion) << t.name;
}

TEST(CodecTest, EncodeSandboxWritesEveryColumnInWriteListOrder) {
  using C = schema::SandboxColumn;
  const Sandbox s = Full();
  const std::vector<SqlValue> v = EncodeSandbox(s);
  ASSERT_EQ(v.size(), 20u);
  EXPECT_EQ(v[C::kProjectId], SqlValue("p1"));
  EXPECT_EQ(v[C::kStatus], SqlValue("RUNNING"));
  EXPECT_EQ(v[C::kLastActivityAtMs], SqlValue(ToUnixMillis(T(10))));
  EXPECT_EQ(v[C::kLastErrorCode], SqlValue("pause_failed"));
  EXPECT_EQ(v[C::kProviderEndAtMs], SqlValue(ToUnixMillis(T(500))));
  EXPECT_EQ(v[C::kMetadata], SqlValue(R"({"projectId":"p1","x":"y \"quoted\""})"));
  EXPECT_EQ(v[C::kHolds], SqlValue(fmt::format(R"({{"build":{},"deploy \"x\"":{}}})",
                                                ToUnixMillis(T(100)), ToUnixMillis(T(150)))));
  EXPECT_EQ(v[C::kActivity], SqlValue(fmt::format(R"({{"api":{},"presence":{}}})",
                                                   ToUnixMillis(T(8)), ToUnixMillis(T(10)))));
  EXPECT_EQ(v[C::kIdlePolicy], SqlValue("adaptive"));
  EXPECT_EQ(v[C::kPauseAtMs], SqlValue(ToUnixMillis(T(10 + 180))));
}

TEST(CodecTest, EncodeSandboxWritesNullForWhatIsUnset) {
  using C = schema::SandboxColumn;
  Sandbox s = Make("p1", 1, SandboxStatus::kPaused);
  s.url.reset();
  const std::vector<SqlValue> v = EncodeSandbox(s);
  for (int col : {C::kUrl, C::kLastErrorCode, C::kLastErrorMessage, C::kLastErrorAtMs,
                  C::kProviderEndAtMs, C::kPauseAtMs}) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(v[static_cast<size_t>(col)])) << col;
  }
}

TEST(CodecTest, SandboxRoundTripsEveryField) {
  for (Sandbox s : {Full(), Make("p2", 1, SandboxStatus::kKilled)}) {
    FakeRow row(ReadBack(schema::kSandboxes, EncodeSandbox(s)));
    auto got = DecodeSandbox(row);
    ASSERT_TRUE(got.ok()) << got.error().ToString();
    EXPECT_EQ(*got, s);
  }
}

TEST(CodecTest, DecodeSandboxRefusesWhatItDoesNotWrite) {
  using C = schema::SandboxColumn;
  auto decode = [](int col, SqlValue value) {
    std::vector<SqlValue> values = ReadBack(schema::kSandboxes, EncodeSandbox(Full()));
    values[static_cast<size_t>(col)] = std::move(value);
    FakeRow row(std::move(values));
    return DecodeSandbox(row);
  };
  auto status = decode(C::kStatus, "running");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), StatusCode::kInternal);
  EXPECT_NE(status.error().message().find("stored status is invalid"), std::string::npos);
  auto metadata = decode(C::kMetadata, "[\"not\", \"an object\"]");
  ASSERT_FALSE(metadata.ok());
  EXPECT_EQ(metadata.error().message(), "stored metadata is not a JSON object");
  auto holds = decode(C::kHolds, R"({"build":"soon"})");
  ASSERT_FALSE(holds.ok());
  EXPECT_EQ(holds.error().message(), "a value of the stored hold expiries is not an integer");
  auto activity = decode(C::kActivity, "[]");
  ASSERT_FALSE(activity.ok());
  EXPECT_EQ(activity.error().message(), "stored activity times are not a JSON object");
  auto version = decode(C::kVersion, "three");
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.error().message(), "column 9 is not an integer");
}

TEST(CodecTest, SandboxJsonRoundTripsEveryField) {
  Sandbox unset = Make("p2", 1, SandboxStatus::kKilled);
  unset.url.reset();
  for (const Sandbox& s : {Full(), unset}) {
    const std::string text = EncodeSandboxJson(EncodeSandbox(s));
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
    auto got = DecodeSandboxJson(text);
    ASSERT_TRUE(got.ok()) << got.error().ToString();
    EXPECT_EQ(*got, s);
  }
  // A newline in a value stays escaped: a change notification ends its
  // head at the text's last newline.
  Sandbox multiline = Full();
  multiline.last_error->message = "line one\nline two";
  const std::string text = EncodeSandboxJson(EncodeSandbox(multiline));
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  auto got = DecodeSandboxJson(text);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(*got, multiline);
}

TEST(CodecTest, DecodeSandboxJsonRefusesWhatEncodeDoesNotWrite) {
  const std::string good = EncodeSandboxJson(EncodeSandbox(Full()));
  for (std::string_view bad : {std::string_view(""), std::string_view("{}"),
                               std::string_view("[1,2,3]"), std::string_view("[\"p1\"")}) {
    auto got = DecodeSandboxJson(bad);
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_EQ(got.error().code(), StatusCode::kInvalidArgument) << bad;
  }
  // The right length with a value of the wrong kind: the version as text.
  std::string wrong = good;
  const std::string version = fmt::format(",{},", Full().version);
  const auto at = wrong.find(version);
  ASSERT_NE(at, std::string::npos) << wrong;
  wrong.replace(at, version.size(), fmt::format(",\"{}\",", Full().version));
  auto got = DecodeSandboxJson(wrong);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), StatusCode::kInternal);
}

TEST(CodecTest, HistoryRowRoundTripsWithTheStoresSeq) {
  HistoryRow h = testing::Row("p1", "e1", "applied");
  h.detail = "why";
  h.inputs = R"({"trigger":"timer","version":3})";
  const std::vector<SqlValue> written = EncodeHistoryRow(h);
  ASSERT_EQ(written.size(), 11u);
  EXPECT_EQ(written[0], SqlValue("p1"));  // seq is the store's
  FakeRow row(ReadBack(schema::kHistory, written, 42));
  auto got = DecodeHistoryRow(row);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  h.seq = 42;
  EXPECT_EQ(*got, h);
  h.status.reset();
  FakeRow no_status(ReadBack(schema::kHistory, EncodeHistoryRow(h), 42));
  EXPECT_EQ(DecodeHistoryRow(no_status)->status, std::nullopt);
  // No inputs are stored as {} and read back as none.
  h.inputs.clear();
  const std::vector<SqlValue> none = EncodeHistoryRow(h);
  EXPECT_EQ(none[schema::HistoryColumn::kInputs - 1], SqlValue("{}"));
  FakeRow none_row(ReadBack(schema::kHistory, none, 42));
  EXPECT_EQ(DecodeHistoryRow(none_row)->inputs, "");
  std::vector<SqlValue> bad = none;
  bad[schema::HistoryColumn::kInputs - 1] = SqlValue("[1]");
  FakeRow bad_row(ReadBack(schema::kHistory, bad, 42));
  EXPECT_EQ(DecodeHistoryRow(bad_row).error().message(),
            "stored decision inputs are not a JSON object");
}

TEST(CodecTest, JobRunRoundTripsAndRefusesAnErrorListThatIsNoList) {
  JobRun run{.job = "idle-enforcer", .trigger = "timer", .started_at = T(1), .finished_at = T(2),
             .checked = 3, .paused = 2, .failed = 1, .errors = {"p1: exit 1", "p2: \"x\""},
             .paused_projects = {"p3"}};
  const std::vector<SqlValue> written = EncodeJobRun(run);
  ASSERT_EQ(written.size(), 9u);
  EXPECT_EQ(written[schema::JobRunColumn::kErrors - 1],
            SqlValue(R"(["p1: exit 1","p2: \"x\""])"));
  EXPECT_EQ(written.back(), SqlValue(R"(["p3"])"));
  FakeRow row(ReadBack(schema::kJobRuns, written, 7));
  auto got = DecodeJobRun(row);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  run.id = 7;
  EXPECT_EQ(*got, run);
  std::vector<SqlValue> bad = ReadBack(schema::kJobRuns, written, 7);
  bad[schema::JobRunColumn::kErrors] = "{}";
  FakeRow bad_row(std::move(bad));
  auto refused = DecodeJobRun(bad_row);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(), "stored list is not a JSON array");
}

TEST(CodecTest, SessionRoundTrips) {
  const SessionRecord s{.id_hash = "ab12", .created_at = T(1), .expires_at = T(3600)};
  const std::vector<SqlValue> written = EncodeSession(s);
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[2], SqlValue(ToUnixMillis(T(3600))));
  FakeRow row(ReadBack(schema::kSessions, written));
  auto got = DecodeSession(row);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(*got, s);
  FakeRow bad({SqlValue("ab12"), SqlValue("yesterday"), SqlValue(int64_t{0})});
  EXPECT_EQ(DecodeSession(bad).error().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace sbx::store
