#include "integration/support.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace sbx::integration {
namespace {

namespace json = boost::json;

// Field readers: set *why and return false on a missing or mistyped field.
class Reader {
 public:
  Reader(const json::object& o, std::string* why) : o_(o), why_(why) {}

  bool String(const char* key, std::string& out, bool nullable = false) {
    const json::value* v = o_.if_contains(key);
    if (v && nullable && v->is_null()) {
      out.clear();
      return true;
    }
    if (!v || !v->is_string()) return Fail(key, "a string");
    out = std::string(v->as_string());
    return true;
  }
  bool Int(const char* key, int64_t& out) {
    const json::value* v = o_.if_contains(key);
    if (v && v->is_int64()) {
      out = v->as_int64();
      return true;
    }
    if (v && v->is_uint64()) {
      out = static_cast<int64_t>(v->as_uint64());
      return true;
    }
    return Fail(key, "an integer");
  }
  bool Time(const char* key, SystemTime& out) {
    std::string text;
    if (!String(key, text)) return false;
    auto t = ParseRfc3339(text);
    if (!t.ok()) return Fail(key, "an RFC 3339 time");
    out = *t;
    return true;
  }
  bool OptionalTime(const char* key, std::optional<SystemTime>& out) {
    const json::value* v = o_.if_contains(key);
    if (v && v->is_null()) {
      out.reset();
      return true;
    }
    SystemTime t;
    if (!Time(key, t)) return false;
    out = t;
    return true;
  }

 private:
  bool Fail(const char* key, const char* what) {
    if (why_)
      *why_ = std::string("field \"") + key + "\" is not " + what + " in " + json::serialize(o_);
    return false;
  }
  const json::object& o_;
  std::string* why_;
};

std::optional<json::value> ParseJson(const std::string& body, std::string* why) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    if (why) *why = "not JSON (" + ec.message() + "): " + body;
    return std::nullopt;
  }
  return v;
}

// The array at o[key] of a JSON object body, or nullptr.
const json::array* ArrayField(const json::value& v, const char* key, std::string* why) {
  const json::value* a = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  if (!a || !a->is_array()) {
    if (why) *why = std::string("no \"") + key + "\" array in " + json::serialize(v);
    return nullptr;
  }
  return &a->as_array();
}

}  // namespace

void Report(const std::string& line) { std::cout << "[  REPORT  ] " << line << std::endl; }

std::string SandboxPath(const std::string& project) {
  return "/api/projects/" + project + "/sandbox";
}

int64_t Ms(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

void SleepFor(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

SystemTime WallNow() { return std::chrono::system_clock::now(); }

std::optional<SandboxView> ParseSandbox(const json::value& v, std::string* why) {
  if (!v.is_object()) {
    if (why) *why = "not a JSON object: " + json::serialize(v);
    return std::nullopt;
  }
  const json::object& o = v.as_object();
  Reader r(o, why);
  SandboxView s;
  if (!r.String("projectId", s.project_id) || !r.String("sandboxId", s.sandbox_id, true) ||
      !r.String("status", s.status) || !r.String("url", s.url, true) ||
      !r.String("template", s.template_name) || !r.Int("idleTimeoutSeconds", s.idle_timeout_s) ||
      !r.Time("lastActivityAt", s.last_activity_at) || !r.OptionalTime("pauseAt", s.pause_at) ||
      !r.Time("createdAt", s.created_at) || !r.Time("updatedAt", s.updated_at) ||
      !r.Int("version", s.version)) {
    return std::nullopt;
  }
  const json::value* err = o.if_contains("lastError");
  if (!err || !(err->is_null() || err->is_object())) {
    if (why) *why = "\"lastError\" is neither null nor an object in " + json::serialize(o);
    return std::nullopt;
  }
  s.has_last_error = err->is_object();
  return s;
}

std::optional<SandboxView> ParseSandbox(const std::string& body, std::string* why) {
  auto v = ParseJson(body, why);
  if (!v) return std::nullopt;
  return ParseSandbox(*v, why);
}

std::optional<std::vector<HistoryEvent>> ParseHistory(const std::string& body, std::string* why) {
  auto v = ParseJson(body, why);
  if (!v) return std::nullopt;
  const json::array* events = ArrayField(*v, "events", why);
  if (!events) return std::nullopt;
  std::vector<HistoryEvent> out;
  for (const json::value& e : *events) {
    if (!e.is_object()) {
      if (why) *why = "history event is not an object: " + json::serialize(e);
      return std::nullopt;
    }
    Reader r(e.as_object(), why);
    HistoryEvent h;
    if (!r.String("id", h.id) || !r.String("type", h.type) || !r.String("source", h.source) ||
        !r.String("outcome", h.outcome) || !r.String("status", h.status, true) ||
        !r.String("sandboxId", h.sandbox_id, true) || !r.String("detail", h.detail, true) ||
        !r.Time("at", h.at)) {
      return std::nullopt;
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::optional<std::vector<EnforcerRun>> ParseRuns(const std::string& body, std::string* why) {
  auto v = ParseJson(body, why);
  if (!v) return std::nullopt;
  const json::array* runs = ArrayField(*v, "runs", why);
  if (!runs) return std::nullopt;
  std::vector<EnforcerRun> out;
  for (const json::value& e : *runs) {
    if (!e.is_object()) {
      if (why) *why = "run is not an object: " + json::serialize(e);
      return std::nullopt;
    }
    Reader r(e.as_object(), why);
    EnforcerRun run;
    if (!r.String("trigger", run.trigger) || !r.Time("startedAt", run.started_at) ||
        !r.Time("finishedAt", run.finished_at) || !r.Int("checked", run.checked) ||
        !r.Int("paused", run.paused) || !r.Int("failed", run.failed)) {
      return std::nullopt;
    }
    const json::value* errors = e.as_object().if_contains("errors");
    if (!errors || !errors->is_array()) {
      if (why) *why = "\"errors\" is not an array in " + json::serialize(e);
      return std::nullopt;
    }
    run.errors = errors->as_array().size();
    out.push_back(std::move(run));
  }
  return out;
}

std::optional<HelloState> ParseHelloState(const std::string& body, std::string* why) {
  auto v = ParseJson(body, why);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    if (why) *why = "not a JSON object: " + body;
    return std::nullopt;
  }
  Reader r(v->as_object(), why);
  HelloState s;
  if (!r.String("startedAt", s.started_at) || !r.Int("requests", s.requests)) return std::nullopt;
  return s;
}

std::string Show(SystemTime t) { return FormatRfc3339(t); }

std::string Show(const std::optional<SystemTime>& t) { return t ? FormatRfc3339(*t) : "null"; }

}  // namespace sbx::integration
