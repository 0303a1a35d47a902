#include "store/codec.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <map>

#include "store/schema.h"

namespace sbx::store {
namespace {

namespace json = boost::json;

std::string EncodeMetadata(const core::Metadata& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return json::serialize(o);
}

Result<core::Metadata> DecodeMetadata(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Internal("stored metadata is not a JSON object");
  core::Metadata out;
  for (const auto& [k, val] : v.get_object()) {
    if (val.is_string()) out[std::string(k)] = std::string(val.get_string());
  }
  return out;
}

// Holds and activity by source: a JSON object of name to Unix ms.
std::string EncodeTimes(const std::map<std::string, SystemTime>& times) {
  json::object o;
  for (const auto& [name, at] : times) o[name] = ToUnixMillis(at);
  return json::serialize(o);
}

// `what` names the map in errors ("hold expiries", "activity times").
Result<std::map<std::string, SystemTime>> DecodeTimes(const std::string& text,
                                                     std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Internal(fmt::format("stored {} are not a JSON object", what));
  std::map<std::string, SystemTime> out;
  for (const auto& [name, val] : v.get_object()) {
    if (!val.is_int64()) return Internal(fmt::format("a value of the stored {} is not an integer", what));
    out[std::string(name)] = FromUnixMillis(val.get_int64());
  }
  return out;
}

// A history row's decision inputs: a JSON object ("{}" for none).
Result<std::string> DecodeInputs(std::string text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Internal("stored decision inputs are not a JSON object");
  return text;
}

Result<std::vector<std::string>> DecodeStrings(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return Internal("stored list is not a JSON array");
  std::vector<std::string> out;
  for (const auto& e : v.get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

SqlValue Millis(SystemTime t) { return ToUnixMillis(t); }

template <typename T, typename Encode>
SqlValue OrNull(const std::optional<T>& v, Encode encode) {
  if (!v) return std::monostate();
  return encode(*v);
}

// A row with one value per column of `table`, by column id.
std::vector<SqlValue> Row(const schema::Table& table) {
  return std::vector<SqlValue>(table.columns.size());
}

// Drops what the store assigns itself: the rest is in WriteList's order.
std::vector<SqlValue> Written(const schema::Table& table, std::vector<SqlValue> row) {
  std::vector<SqlValue> out;
  out.reserve(row.size());
  for (const schema::Column& c : table.columns) {
    if (c.access == schema::Access::kAssigned) continue;
    out.push_back(std::move(row[static_cast<size_t>(c.id)]));
  }
  return out;
}

// A row held as a JSON array of column values (EncodeSandboxJson).
class JsonRow final : public RowReader {
 public:
  explicit JsonRow(const json::array& values) : values_(values) {}

  bool IsNull(int col) const override { return At(col).is_null(); }
  std::string Text(int col) const override {
    const json::value& v = At(col);
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_int64()) return std::to_string(v.get_int64());
    return "";
  }
  int64_t Int(int col) override {
    const json::value& v = At(col);
    if (v.is_int64()) return v.get_int64();
    if (status_.ok()) status_ = Internal(fmt::format("value {} is not an integer", col));
    return 0;
  }
  Status status() const override { return status_; }

 private:
  const json::value& At(int col) const { return values_.at(static_cast<size_t>(col)); }

  const json::array& values_;
  Status status_;
};

}  // namespace

std::string EncodeStrings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return json::serialize(a);
}

std::optional<std::string> RowReader::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

std::optional<int64_t> RowReader::OptInt(int col) {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::vector<SqlValue> EncodeSandbox(const core::Sandbox& s) {
  using C = schema::SandboxColumn;
  std::vector<SqlValue> v = Row(schema::kSandboxes);
  v[C::kProjectId] = s.project_id;
  v[C::kSandboxId] = s.sandbox_id;
  v[C::kStatus] = std::string(core::StatusName(s.status));
  v[C::kUrl] = OrNull(s.url, [](const std::string& u) { return SqlValue(u); });
  v[C::kTemplate] = s.template_name;
  v[C::kIdleTimeoutS] = s.idle_timeout_s;
  v[C::kLastActivityAtMs] = Millis(s.last_activity_at);
  v[C::kCreatedAtMs] = Millis(s.created_at);
  v[C::kUpdatedAtMs] = Millis(s.updated_at);
  v[C::kVersion] = s.version;
  if (s.last_error) {
    v[C::kLastErrorCode] = s.last_error->code;
    v[C::kLastErrorMessage] = s.last_error->message;
    v[C::kLastErrorAtMs] = Millis(s.last_error->at);
  }
  v[C::kLastEventAtMs] = Millis(s.last_event_at);
  v[C::kProviderEndAtMs] = OrNull(s.provider_end_at, Millis);
  v[C::kMetadata] = EncodeMetadata(s.metadata);
  v[C::kHolds] = EncodeTimes(s.holds);
  v[C::kActivity] = EncodeTimes(s.activity);
  v[C::kIdlePolicy] = s.idle_policy;
  v[C::kPauseAtMs] = OrNull(core::PauseAt(s), Millis);
  return Written(schema::kSandboxes, std::move(v));
}

Result<core::Sandbox> DecodeSandbox(RowReader& row) {
  using C = schema::SandboxColumn;
  core::Sandbox s;
  s.project_id = row.Text(C::kProjectId);
  s.sandbox_id = row.Text(C::kSandboxId);
  auto status = core::ParseStatus(row.Text(C::kStatus));
  if (!status) return Internal("stored status is invalid: " + status.error().message());
  s.status = *status;
  s.url = row.OptText(C::kUrl);
  s.template_name = row.Text(C::kTemplate);
  s.idle_timeout_s = row.Int(C::kIdleTimeoutS);
  s.idle_policy = row.Text(C::kIdlePolicy);
  s.last_activity_at = FromUnixMillis(row.Int(C::kLastActivityAtMs));
  s.created_at = FromUnixMillis(row.Int(C::kCreatedAtMs));
  s.updated_at = FromUnixMillis(row.Int(C::kUpdatedAtMs));
  s.version = row.Int(C::kVersion);
  if (auto code = row.OptText(C::kLastErrorCode)) {
    s.last_error = core::LastError{*code, row.Text(C::kLastErrorMessage),
                                   FromUnixMillis(row.Int(C::kLastErrorAtMs))};
  }
  s.last_event_at = FromUnixMillis(row.Int(C::kLastEventAtMs));
  if (auto end = row.OptInt(C::kProviderEndAtMs)) s.provider_end_at = FromUnixMillis(*end);
  SBX_RETURN_IF_ERROR(row.status());
  SBX_ASSIGN_OR_RETURN(s.metadata, DecodeMetadata(row.Text(C::kMetadata)));
  SBX_ASSIGN_OR_RETURN(s.holds, DecodeTimes(row.Text(C::kHolds), "hold expiries"));
  SBX_ASSIGN_OR_RETURN(s.activity, DecodeTimes(row.Text(C::kActivity), "activity times"));
  return s;
}

std::string EncodeSandboxJson(std::span<const SqlValue> encoded) {
  json::array a;
  a.reserve(encoded.size());
  for (const SqlValue& v : encoded) {
    if (const auto* n = std::get_if<int64_t>(&v)) {
      a.emplace_back(*n);
    } else if (const auto* text = std::get_if<std::string>(&v)) {
      a.emplace_back(*text);
    } else {
      a.emplace_back(nullptr);
    }
  }
  return json::serialize(a);
}

Result<core::Sandbox> DecodeSandboxJson(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  // The sandboxes table has no column the store assigns, so EncodeSandbox's
  // values are every column by id.
  if (ec || !v.is_array() || v.get_array().size() != schema::kSandboxes.columns.size()) {
    return InvalidArgument("not a sandbox record's values");
  }
  JsonRow row(v.get_array());
  return DecodeSandbox(row);
}

std::vector<SqlValue> EncodeHistoryRow(const HistoryRow& h) {
  using C = schema::HistoryColumn;
  std::vector<SqlValue> v = Row(schema::kHistory);
  v[C::kProjectId] = h.project_id;
  v[C::kSandboxId] = h.sandbox_id;
  v[C::kEventId] = h.event_id;
  v[C::kType] = h.type;
  v[C::kSource] = h.source;
  v[C::kOutcome] = h.outcome;
  v[C::kAtMs] = Millis(h.at);
  v[C::kRecordedAtMs] = Millis(h.recorded_at);
  v[C::kStatus] = OrNull(h.status, [](const std::string& s) { return SqlValue(s); });
  v[C::kDetail] = h.detail;
  v[C::kInputs] = h.inputs.empty() ? std::string("{}") : h.inputs;
  return Written(schema::kHistory, std::move(v));
}

Result<HistoryRow> DecodeHistoryRow(RowReader& row) {
  using C = schema::HistoryColumn;
  HistoryRow h;
  h.seq = row.Int(C::kSeq);
  h.project_id = row.Text(C::kProjectId);
  h.sandbox_id = row.Text(C::kSandboxId);
  h.event_id = row.Text(C::kEventId);
  h.type = row.Text(C::kType);
  h.source = row.Text(C::kSource);
  h.outcome = row.Text(C::kOutcome);
  h.at = FromUnixMillis(row.Int(C::kAtMs));
  h.recorded_at = FromUnixMillis(row.Int(C::kRecordedAtMs));
  h.status = row.OptText(C::kStatus);
  h.detail = row.Text(C::kDetail);
  const std::string inputs = row.Text(C::kInputs);
  SBX_RETURN_IF_ERROR(row.status());
  SBX_ASSIGN_OR_RETURN(h.inputs, DecodeInputs(inputs));
  if (h.inputs == "{}") h.inputs.clear();
  return h;
}

std::vector<SqlValue> EncodeJobRun(const JobRun& run) {
  using C = schema::JobRunColumn;
  std::vector<SqlValue> v = Row(schema::kJobRuns);
  v[C::kJob] = run.job;
  v[C::kTrigger] = run.trigger;
  v[C::kStartedAtMs] = Millis(run.started_at);
  v[C::kFinishedAtMs] = Millis(run.finished_at);
  v[C::kChecked] = run.checked;
  v[C::kPaused] = run.paused;
  v[C::kFailed] = run.failed;
  v[C::kErrors] = EncodeStrings(run.errors);
  v[C::kPausedProjects] = EncodeStrings(run.paused_projects);
  return Written(schema::kJobRuns, std::move(v));
}

Result<JobRun> DecodeJobRun(RowReader& row) {
  using C = schema::JobRunColumn;
  JobRun run;
  run.id = row.Int(C::kId);
  run.job = row.Text(C::kJob);
  run.trigger = row.Text(C::kTrigger);
  run.started_at = FromUnixMillis(row.Int(C::kStartedAtMs));
  run.finished_at = FromUnixMillis(row.Int(C::kFinishedAtMs));
  run.checked = row.Int(C::kChecked);
  run.paused = row.Int(C::kPaused);
  run.failed = row.Int(C::kFailed);
  const std::string errors = row.Text(C::kErrors);
  const std::string paused_projects = row.Text(C::kPausedProjects);
  SBX_RETURN_IF_ERROR(row.status());
  SBX_ASSIGN_OR_RETURN(run.errors, DecodeStrings(errors));
  SBX_ASSIGN_OR_RETURN(run.paused_projects, DecodeStrings(paused_projects));
  return run;
}

Result<HistoryRow> DecodeTransition(RowReader& row) {
  HistoryRow h;
  h.seq = row.Int(0);
  h.project_id = row.Text(1);
  h.type = row.Text(2);
  h.source = row.Text(3);
  h.outcome = row.Text(4);
  h.recorded_at = FromUnixMillis(row.Int(5));
  h.at = h.recorded_at;
  h.status = row.OptText(6);
  h.inputs = row.Text(7);
  SBX_RETURN_IF_ERROR(row.status());
  if (h.inputs == "{}") h.inputs.clear();
  return h;
}

Result<HistoryCount> DecodeHistoryCount(RowReader& row) {
  HistoryCount c;
  c.bucket = row.Int(0);
  c.source = row.Text(1);
  c.outcome = row.Text(2);
  c.count = row.Int(3);
  SBX_RETURN_IF_ERROR(row.status());
  return c;
}

Result<int64_t> DecodeNewestWebhook(RowReader& row, DeliverySummary& summary) {
  const int64_t seq = row.Int(0);
  summary.last_webhook = FromUnixMillis(row.Int(1));
  SBX_RETURN_IF_ERROR(row.status());
  return seq;
}

Status DecodeDriftAfter(RowReader& row, DeliverySummary& summary) {
  summary.last_drift.reset();
  if (!row.IsNull(0)) summary.last_drift = FromUnixMillis(row.Int(0));
  summary.drift_since_webhook = row.Int(1);
  return row.status();
}

std::vector<SqlValue> EncodeSession(const SessionRecord& s) {
  using C = schema::SessionColumn;
  std::vector<SqlValue> v = Row(schema::kSessions);
  v[C::kIdHash] = s.id_hash;
  v[C::kCreatedAtMs] = Millis(s.created_at);
  v[C::kExpiresAtMs] = Millis(s.expires_at);
  return Written(schema::kSessions, std::move(v));
}

Result<SessionRecord> DecodeSession(RowReader& row) {
  using C = schema::SessionColumn;
  SessionRecord s;
  s.id_hash = row.Text(C::kIdHash);
  s.created_at = FromUnixMillis(row.Int(C::kCreatedAtMs));
  s.expires_at = FromUnixMillis(row.Int(C::kExpiresAtMs));
  SBX_RETURN_IF_ERROR(row.status());
  return s;
}

}  // namespace sbx::store
