#include "api/wire.h"

namespace sbx::api {
namespace json = boost::json;

namespace {
json::value TimeOrNull(const std::optional<SystemTime>& t) {
  if (!t) return nullptr;
  return json::value(FormatRfc3339(*t));
}
}  // namespace

json::object SandboxJson(const core::Sandbox& s) {
  json::object o;
  o["projectId"] = s.project_id;
  o["sandboxId"] = s.sandbox_id.empty() ? json::value(nullptr) : json::value(s.sandbox_id);
  o["status"] = core::StatusName(s.status);
  o["url"] = s.url ? json::value(*s.url) : json::value(nullptr);
  o["template"] = s.template_name;
  o["idleTimeoutSeconds"] = s.idle_timeout_s;
  o["lastActivityAt"] = FormatRfc3339(s.last_activity_at);
  o["pauseAt"] = TimeOrNull(core::PauseAt(s));
  o["createdAt"] = FormatRfc3339(s.created_at);
  o["updatedAt"] = FormatRfc3339(s.updated_at);
  o["version"] = s.version;
  if (s.last_error) {
    json::object e;
    e["code"] = s.last_error->code;
    e["message"] = s.last_error->message;
    e["at"] = FormatRfc3339(s.last_error->at);
    o["lastError"] = std::move(e);
  } else {
    o["lastError"] = nullptr;
  }
  o["providerEndAt"] = TimeOrNull(s.provider_end_at);
  json::object md;
  for (const auto& [k, v] : s.metadata) md[k] = v;
  o["metadata"] = std::move(md);
  return o;
}

json::object HistoryJson(const store::HistoryRow& h) {
  json::object o;
  o["seq"] = h.seq;
  o["id"] = h.event_id;
  o["type"] = h.type;
  o["source"] = h.source;
  o["outcome"] = h.outcome;
  o["sandboxId"] = h.sandbox_id;
  o["at"] = FormatRfc3339(h.at);
  o["recordedAt"] = FormatRfc3339(h.recorded_at);
  o["status"] = h.status ? json::value(*h.status) : json::value(nullptr);
  o["detail"] = h.detail;
  return o;
}

json::object JobRunJson(const store::JobRun& r) {
  json::object o;
  o["id"] = r.id;
  o["trigger"] = r.trigger;
  o["startedAt"] = FormatRfc3339(r.started_at);
  o["finishedAt"] = FormatRfc3339(r.finished_at);
  o["checked"] = r.checked;
  o["paused"] = r.paused;
  o["failed"] = r.failed;
  json::array errs;
  for (const auto& e : r.errors) errs.emplace_back(e);
  o["errors"] = std::move(errs);
  return o;
}

}  // namespace sbx::api
