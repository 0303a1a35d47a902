#include "api/wire.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace sbx::api {
namespace json = boost::json;

namespace {
json::value TimeOrNull(const std::optional<SystemTime>& t) {
  if (!t) return nullptr;
  return json::value(FormatRfc3339(*t));
}
json::value IntOrNull(std::optional<int64_t> v) {
  if (!v) return nullptr;
  return *v;
}
json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& e : v) a.emplace_back(e);
  return a;
}
std::optional<uint16_t> ParsePort(std::string_view text) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1 || v > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

std::optional<uint16_t> PreviewPortOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  std::string_view authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.starts_with('[')) {  // an IPv6 literal: only an explicit port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos || close + 1 >= authority.size() ||
        authority[close + 1] != ':') {
      return std::nullopt;
    }
    return ParsePort(authority.substr(close + 2));
  }
  const std::string_view label = authority.substr(0, authority.find_first_of(".:"));
  if (const size_t dash = label.find('-'); dash != std::string_view::npos) {
    if (auto port = ParsePort(label.substr(0, dash))) return port;
  }
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return ParsePort(authority.substr(colon + 1));
}

std::optional<std::string> PreviewUrlOf(const core::Sandbox& s, const SandboxView& preview) {
  if (!s.url) return std::nullopt;
  if (preview.domain.empty()) return s.url;
  const auto port = PreviewPortOf(*s.url);
  if (!port || s.sandbox_id.empty()) return std::nullopt;
  return fmt::format("{}://{}-{}.{}/", preview.scheme, *port, s.sandbox_id, preview.domain);
}

json::object SandboxJson(const core::Sandbox& s, const SandboxView& preview, SystemTime now) {
  json::object o;
  o["projectId"] = s.project_id;
  o["sandboxId"] = s.sandbox_id.empty() ? json::value(nullptr) : json::value(s.sandbox_id);
  o["status"] = core::StatusName(s.status);
  const auto url = PreviewUrlOf(s, preview);
  o["url"] = url ? json::value(*url) : json::value(nullptr);
  o["trafficAccessToken"] = preview.traffic_token && !s.sandbox_id.empty()
                                ? json::value(preview.traffic_token(s.sandbox_id))
                                : json::value(nullptr);
  o["template"] = s.template_name;
  o["idleTimeoutSeconds"] = s.idle_timeout_s;
  o["idlePolicy"] = s.idle_policy.empty() ? json::value(nullptr) : json::value(s.idle_policy);
  o["effectiveIdlePolicy"] = s.idle_policy.empty() ? preview.default_idle_policy : s.idle_policy;
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
  o["holds"] = HoldsJson(s.holds, now);
  o["activity"] = ActivityJson(s.activity);
  // When it last started to run (made or woken), while it runs.
  auto start = s.activity.find("start");
  o["runningSince"] =
      (s.status == core::SandboxStatus::kRunning || s.status == core::SandboxStatus::kPausing) &&
              start != s.activity.end()
          ? json::value(FormatRfc3339(start->second))
          : json::value(nullptr);
  return o;
}

json::object ActivityJson(const core::ActivityBySource& activity) {
  json::object o;
  for (const auto& [source, at] : activity) o[source] = FormatRfc3339(at);
  return o;
}

json::array HoldsJson(const core::Holds& holds, SystemTime now) {
  json::array a;
  for (const auto& [name, expires_at] : holds) {
    if (expires_at <= now) continue;
    json::object h;
    h["name"] = name;
    h["expiresAt"] = FormatRfc3339(expires_at);
    a.push_back(std::move(h));
  }
  return a;
}

std::optional<SystemTime> NextHoldExpiry(const core::Holds& holds, SystemTime now) {
  std::optional<SystemTime> next;
  for (const auto& [name, expires_at] : holds) {
    if (expires_at > now && (!next || expires_at < *next)) next = expires_at;
  }
  return next;
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
  o["inputs"] = InputsJson(h.inputs);
  return o;
}

json::object InputsJson(const std::string& inputs) {
  if (inputs.empty()) return {};
  boost::system::error_code ec;
  json::value v = json::parse(inputs, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.get_object());
}

namespace {

json::object ReasonJson(const lifecycle::AwakeReason& r) {
  json::object o;
  o["kind"] = r.kind;
  if (r.kind == "activity") {
    o["source"] = r.source.empty() ? json::value(nullptr) : json::value(r.source);
    o["at"] = TimeOrNull(r.at);
    o["until"] = TimeOrNull(r.until);
  } else if (r.kind == "hold") {
    o["name"] = r.name;
    o["until"] = TimeOrNull(r.until);
  } else {
    o["streams"] = r.streams;
  }
  return o;
}

}  // namespace

json::object ExplanationJson(const lifecycle::Explanation& e) {
  const core::Sandbox& s = e.sandbox;
  json::object o;
  o["projectId"] = s.project_id;
  o["sandboxId"] = s.sandbox_id;
  o["status"] = core::StatusName(s.status);
  o["since"] = TimeOrNull(e.since);
  o["summary"] = e.summary;
  o["next"] = e.next;
  o["idleTimeoutSeconds"] = s.idle_timeout_s;
  o["lastActivityAt"] = FormatRfc3339(s.last_activity_at);
  o["pauseAt"] = TimeOrNull(e.pause_at);
  json::array awake;
  for (const auto& r : e.awake) awake.push_back(ReasonJson(r));
  o["awake"] = std::move(awake);
  o["pauseAtSetBy"] = e.pause_at_set_by ? json::value(ReasonJson(*e.pause_at_set_by))
                                        : json::value(nullptr);
  o["activity"] = ActivityJson(s.activity);
  auto cause = [](const std::optional<lifecycle::Cause>& c) -> json::value {
    if (!c) return nullptr;
    return json::object{{"type", c->type},
                        {"source", c->source},
                        {"by", c->by},
                        {"at", FormatRfc3339(c->at)},
                        {"detail", c->detail},
                        {"inputs", InputsJson(c->inputs)}};
  };
  o["cause"] = cause(e.cause);
  o["timeoutSetBy"] = cause(e.timeout_set_by);
  if (e.failure) {
    json::object f;
    f["code"] = e.failure->error.code;
    f["message"] = e.failure->error.message;
    f["at"] = FormatRfc3339(e.failure->error.at);
    f["retry"] = e.failure->retry;
    o["failure"] = std::move(f);
  } else {
    o["failure"] = nullptr;
  }
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
  o["errors"] = Strings(r.errors);
  o["pausedProjects"] = Strings(r.paused_projects);
  return o;
}

json::object OverviewJson(const lifecycle::Overview& o) {
  using core::SandboxStatus;
  constexpr SandboxStatus kStatuses[] = {SandboxStatus::kStarting, SandboxStatus::kRunning,
                                         SandboxStatus::kPausing, SandboxStatus::kPaused,
                                         SandboxStatus::kKilled};
  constexpr const char* kOutcomes[] = {"applied", "duplicate", "stale",
                                       "ignored", "orphan",    "rejected"};
  auto statuses = [&](const std::map<SandboxStatus, int64_t>& counts) {
    json::object out;
    for (SandboxStatus s : kStatuses) {
      auto it = counts.find(s);
      out[core::StatusName(s)] = it == counts.end() ? 0 : it->second;
    }
    return out;
  };
  json::array buckets;
  for (const lifecycle::OverviewBucket& b : o.buckets) {
    json::object webhooks;
    for (const char* outcome : kOutcomes) {
      auto it = b.webhooks.find(outcome);
      webhooks[outcome] = it == b.webhooks.end() ? 0 : it->second;
    }
    std::optional<int64_t> max;
    if (!b.lateness_ms.empty()) {
      max = *std::max_element(b.lateness_ms.begin(), b.lateness_ms.end());
    }
    buckets.push_back(json::object{
        {"start", FormatRfc3339(b.start)},
        {"end", FormatRfc3339(b.end)},
        {"statuses", statuses(b.statuses)},
        {"creates", b.creates},
        {"pauses", b.pauses},
        {"wakes", b.wakes},
        {"kills", b.kills},
        {"webhooks", std::move(webhooks)},
        {"lateness", json::object{{"count", b.lateness_ms.size()},
                                  {"medianMs", IntOrNull(lifecycle::Median(b.lateness_ms))},
                                  {"maxMs", IntOrNull(max)}}}});
  }
  json::object out;
  out["window"] = o.window.name;
  out["from"] = FormatRfc3339(o.from);
  out["to"] = FormatRfc3339(o.to);
  out["bucketSeconds"] = o.window.bucket.count() / 1000;
  out["coveredFrom"] = FormatRfc3339(o.covered_from);
  out["truncated"] = o.truncated;
  out["current"] = statuses(o.current);
  out["buckets"] = std::move(buckets);
  out["savings"] = json::object{
      {"runningHours", o.running_hours},
      {"withoutIdlePausesHours", o.without_idle_pauses_hours},
      {"savedHours", o.without_idle_pauses_hours - o.running_hours},
      {"idlePauses", o.idle_pauses}};
  return out;
}

json::object ReplayTallyJson(const policy::ReplayTally& t) {
  return json::object{{"policy", t.policy},
                      {"idlePauses", t.idle_pauses},
                      {"regretWakes", t.regret_wakes},
                      {"resumeWaits", t.resume_waits},
                      {"idleMinutes", t.idle_minutes},
                      {"savedMinutes", t.saved_minutes},
                      {"timeoutChanges", t.timeout_changes},
                      {"preWakes", t.pre_wakes},
                      {"preWakeHits", t.pre_wake_hits},
                      {"preWakeMisses", t.pre_wake_misses}};
}

json::object PolicyReportJson(const lifecycle::PolicyReport& r) {
  auto tally = [](const lifecycle::PolicyTally& t) {
    return json::object{{"pauses", t.pauses},
                        {"idlePauses", t.idle_pauses},
                        {"wakes", t.wakes},
                        {"regretWakes", t.regret_wakes},
                        {"resumeWaits", t.resume_waits},
                        {"savedMinutes", t.saved_minutes}};
  };
  json::object totals = tally(r.totals);
  totals["resumeWaitMedianMs"] = IntOrNull(r.resume_wait_median_ms);
  totals["resumeWaitP95Ms"] = IntOrNull(r.resume_wait_p95_ms);
  json::array projects;
  for (const auto& p : r.projects) {
    json::object o = tally(p.tally);
    o["projectId"] = p.project_id;
    projects.push_back(std::move(o));
  }
  json::value replay = nullptr;
  if (r.replay) {
    json::array policies;
    for (const policy::ReplayTally& t : r.replay->policies) policies.push_back(ReplayTallyJson(t));
    replay = json::object{{"episodes", r.replay->episodes},
                          {"policies", std::move(policies)},
                          {"note", lifecycle::kReplayNote}};
  }
  return json::object{{"from", FormatRfc3339(r.from)},
                      {"to", FormatRfc3339(r.to)},
                      {"coveredFrom", FormatRfc3339(r.covered_from)},
                      {"truncated", r.truncated},
                      {"regretWindowSeconds", r.regret_window.count() / 1000},
                      {"totals", std::move(totals)},
                      {"projects", std::move(projects)},
                      {"projectCount", r.project_count},
                      {"replay", std::move(replay)}};
}

}  // namespace sbx::api
