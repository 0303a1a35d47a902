#include "e2b/rest.h"

#include <utility>

#include <fmt/format.h>

#include "e2b/json.h"

namespace sbx::e2b {
namespace json = boost::json;

namespace {

// `value` as an object, or the error naming the schema it should have been.
Result<const json::object*> AsObject(const json::value& value, std::string_view schema) {
  if (!value.is_object()) {
    return InvalidArgument(
        fmt::format("{} must be a JSON object, got {}", schema, KindName(value.kind())));
  }
  return &value.as_object();
}

json::value NullOr(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

// ListedSandbox metadata: string values only; anything else is not E2B's.
core::Metadata StringValues(const json::object& map) {
  core::Metadata out;
  for (const json::key_value_pair& kv : map) {
    if (kv.value().is_string()) out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return out;
}

// The fields of a ListedSandbox, into `s` (a ListedSandbox or SandboxDetail).
Status ReadListed(const json::object& o, ListedSandbox& s) {
  SBX_ASSIGN_OR_RETURN(s.template_id, RequiredString(o, "templateID"));
  SBX_ASSIGN_OR_RETURN(std::optional<std::string> alias, OptionalString(o, "alias"));
  s.alias = alias.value_or("");
  SBX_ASSIGN_OR_RETURN(s.sandbox_id, RequiredString(o, "sandboxID"));
  SBX_ASSIGN_OR_RETURN(std::optional<std::string> client_id, OptionalString(o, "clientID"));
  s.client_id = client_id.value_or("");
  SBX_ASSIGN_OR_RETURN(std::optional<SystemTime> started_at, OptionalTime(o, "startedAt"));
  if (!started_at) return InvalidArgument("Field 'startedAt' is required");
  s.started_at = *started_at;
  SBX_ASSIGN_OR_RETURN(s.end_at, OptionalTime(o, "endAt"));
  SBX_ASSIGN_OR_RETURN(std::optional<int64_t> cpu_count, OptionalInt(o, "cpuCount"));
  s.cpu_count = cpu_count.value_or(0);
  SBX_ASSIGN_OR_RETURN(std::optional<int64_t> memory_mb, OptionalInt(o, "memoryMB"));
  s.memory_mb = memory_mb.value_or(0);
  SBX_ASSIGN_OR_RETURN(std::optional<int64_t> disk_size_mb, OptionalInt(o, "diskSizeMB"));
  s.disk_size_mb = disk_size_mb.value_or(0);
  SBX_ASSIGN_OR_RETURN(const json::object* metadata, OptionalObject(o, "metadata"));
  if (metadata != nullptr) s.metadata = StringValues(*metadata);
  SBX_ASSIGN_OR_RETURN(std::string state, RequiredString(o, "state"));
  const std::optional<SandboxState> parsed_state = ParseSandboxState(state);
  if (!parsed_state) return InvalidArgument("Field 'state' must be running or paused");
  s.state = *parsed_state;
  SBX_ASSIGN_OR_RETURN(std::optional<std::string> envd_version, OptionalString(o, "envdVersion"));
  s.envd_version = envd_version.value_or("");
  return OkStatus();
}

// A field kept as the JSON it came in; absent and null are nullopt.
std::optional<json::value> OpaqueField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  return *v;
}

void PutStrings(json::object& o, std::string_view key, const std::vector<std::string>& values) {
  if (values.empty()) return;
  json::array a;
  for (const std::string& v : values) a.emplace_back(v);
  o[key] = std::move(a);
}

json::object ToJson(const SandboxNetwork& n) {
  json::object o;
  if (n.allow_public_traffic) o["allowPublicTraffic"] = *n.allow_public_traffic;
  PutStrings(o, "allowOut", n.allow_out);
  PutStrings(o, "denyOut", n.deny_out);
  if (n.mask_request_host) o["maskRequestHost"] = *n.mask_request_host;
  if (n.egress_proxy) o["egressProxy"] = *n.egress_proxy;
  if (n.rules) o["rules"] = *n.rules;
  if (n.https_ports) o["httpsPorts"] = *n.https_ports;
  return o;
}

Result<SandboxNetwork> ParseNetwork(const json::object& o) {
  SandboxNetwork n;
  SBX_ASSIGN_OR_RETURN(n.allow_public_traffic, OptionalBool(o, "allowPublicTraffic"));
  SBX_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> allow_out,
                       OptionalStringArray(o, "allowOut"));
  n.allow_out = allow_out.value_or(std::vector<std::string>{});
  SBX_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> deny_out,
                       OptionalStringArray(o, "denyOut"));
  n.deny_out = deny_out.value_or(std::vector<std::string>{});
  SBX_ASSIGN_OR_RETURN(n.mask_request_host, OptionalString(o, "maskRequestHost"));
  n.egress_proxy = OpaqueField(o, "egressProxy");
  n.rules = OpaqueField(o, "rules");
  n.https_ports = OpaqueField(o, "httpsPorts");
  return n;
}

Result<std::vector<VolumeMount>> ParseVolumeMounts(const json::object& o) {
  std::vector<VolumeMount> out;
  const json::value* v = o.if_contains("volumeMounts");
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return FieldTypeError("volumeMounts", "an array", *v);
  for (const json::value& item : v->as_array()) {
    if (!item.is_object()) return FieldTypeError("volumeMounts[]", "an object", item);
    VolumeMount m;
    SBX_ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(item.as_object(), "name"));
    SBX_ASSIGN_OR_RETURN(std::optional<std::string> path, OptionalString(item.as_object(), "path"));
    if (!name || !path) return InvalidArgument("Field 'volumeMounts[]' needs a name and a path");
    m.name = std::move(*name);
    m.path = std::move(*path);
    out.push_back(std::move(m));
  }
  return out;
}

// The required integer `timeout` of the connect and set-timeout bodies.
Result<int64_t> RequiredTimeout(const json::object& o) {
  SBX_ASSIGN_OR_RETURN(std::optional<int64_t> timeout, OptionalInt(o, "timeout"));
  if (!timeout) return InvalidArgument("Field 'timeout' is required");
  return *timeout;
}

}  // namespace

std::string_view SandboxStateName(SandboxState state) {
  return state == SandboxState::kPaused ? "paused" : "running";
}

std::optional<SandboxState> ParseSandboxState(std::string_view name) {
  if (name == "running") return SandboxState::kRunning;
  if (name == "paused") return SandboxState::kPaused;
  return std::nullopt;
}

// Answers

json::object ToJson(const Sandbox& s) {
  json::object o;
  o["templateID"] = s.template_id;
  if (!s.alias.empty()) o["alias"] = s.alias;
  o["sandboxID"] = s.sandbox_id;
  o["clientID"] = s.client_id;
  o["envdVersion"] = s.envd_version;
  o["trafficAccessToken"] = NullOr(s.traffic_access_token);
  o["domain"] = NullOr(s.domain);
  return o;
}

Result<Sandbox> ParseSandbox(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "Sandbox"));
  Sandbox s;
  SBX_ASSIGN_OR_RETURN(s.template_id, RequiredString(*o, "templateID"));
  SBX_ASSIGN_OR_RETURN(std::optional<std::string> alias, OptionalString(*o, "alias"));
  s.alias = alias.value_or("");
  SBX_ASSIGN_OR_RETURN(s.sandbox_id, RequiredString(*o, "sandboxID"));
  SBX_ASSIGN_OR_RETURN(std::optional<std::string> client_id, OptionalString(*o, "clientID"));
  s.client_id = client_id.value_or("");
  SBX_ASSIGN_OR_RETURN(std::optional<std::string> envd_version, OptionalString(*o, "envdVersion"));
  s.envd_version = envd_version.value_or("");
  SBX_ASSIGN_OR_RETURN(s.traffic_access_token, OptionalString(*o, "trafficAccessToken"));
  SBX_ASSIGN_OR_RETURN(s.domain, OptionalString(*o, "domain"));
  return s;
}

json::object ToJson(const ListedSandbox& s) {
  json::object o;
  o["templateID"] = s.template_id;
  if (!s.alias.empty()) o["alias"] = s.alias;
  o["sandboxID"] = s.sandbox_id;
  o["clientID"] = s.client_id;
  o["startedAt"] = FormatRfc3339(s.started_at);
  if (s.end_at) o["endAt"] = FormatRfc3339(*s.end_at);
  o["cpuCount"] = s.cpu_count;
  o["memoryMB"] = s.memory_mb;
  o["diskSizeMB"] = s.disk_size_mb;
  o["metadata"] = StringMapJson(s.metadata);
  o["state"] = SandboxStateName(s.state);
  o["envdVersion"] = s.envd_version;
  return o;
}

Result<ListedSandbox> ParseListedSandbox(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "ListedSandbox"));
  ListedSandbox s;
  SBX_RETURN_IF_ERROR(ReadListed(*o, s));
  return s;
}

json::array ToJson(const std::vector<ListedSandbox>& sandboxes) {
  json::array out;
  for (const ListedSandbox& s : sandboxes) out.push_back(ToJson(s));
  return out;
}

Result<std::vector<ListedSandbox>> ParseListedSandboxes(const json::value& value) {
  if (!value.is_array()) {
    return InvalidArgument(
        fmt::format("the sandbox list must be a JSON array, got {}", KindName(value.kind())));
  }
  std::vector<ListedSandbox> out;
  for (const json::value& item : value.as_array()) {
    SBX_ASSIGN_OR_RETURN(ListedSandbox s, ParseListedSandbox(item));
    out.push_back(std::move(s));
  }
  return out;
}

json::object ToJson(const SandboxDetail& s) {
  json::object o = ToJson(static_cast<const ListedSandbox&>(s));
  o["domain"] = NullOr(s.domain);
  o["allowInternetAccess"] =
      s.allow_internet_access ? json::value(*s.allow_internet_access) : json::value(nullptr);
  if (s.lifecycle) {
    json::object lifecycle;
    lifecycle["autoResume"] = s.lifecycle->auto_resume;
    lifecycle["onTimeout"] = s.lifecycle->on_timeout;
    o["lifecycle"] = std::move(lifecycle);
  }
  return o;
}

Result<SandboxDetail> ParseSandboxDetail(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "SandboxDetail"));
  SandboxDetail s;
  SBX_RETURN_IF_ERROR(ReadListed(*o, s));
  SBX_ASSIGN_OR_RETURN(s.domain, OptionalString(*o, "domain"));
  SBX_ASSIGN_OR_RETURN(s.allow_internet_access, OptionalBool(*o, "allowInternetAccess"));
  SBX_ASSIGN_OR_RETURN(const json::object* lifecycle, OptionalObject(*o, "lifecycle"));
  if (lifecycle != nullptr) {
    SandboxLifecycle l;
    SBX_ASSIGN_OR_RETURN(std::optional<bool> auto_resume, OptionalBool(*lifecycle, "autoResume"));
    l.auto_resume = auto_resume.value_or(false);
    SBX_ASSIGN_OR_RETURN(std::optional<std::string> on_timeout,
                         OptionalString(*lifecycle, "onTimeout"));
    l.on_timeout = on_timeout.value_or("");
    s.lifecycle = std::move(l);
  }
  return s;
}

json::object ToJson(const ErrorBody& e) {
  json::object o;
  o["code"] = e.code;
  o["message"] = e.message;
  return o;
}

Result<ErrorBody> ParseErrorBody(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "Error"));
  ErrorBody e;
  SBX_ASSIGN_OR_RETURN(std::optional<int64_t> code, OptionalInt(*o, "code"));
  e.code = code.value_or(0);
  SBX_ASSIGN_OR_RETURN(std::optional<std::string> message, OptionalString(*o, "message"));
  if (!message) return InvalidArgument("Field 'message' is required");
  e.message = std::move(*message);
  return e;
}

// Requests

json::object ToJson(const NewSandbox& r) {
  json::object o;
  o["templateID"] = r.template_id;
  if (r.timeout_s) o["timeout"] = *r.timeout_s;
  if (r.auto_pause) o["autoPause"] = *r.auto_pause;
  if (r.auto_pause_memory) o["autoPauseMemory"] = *r.auto_pause_memory;
  if (r.auto_resume) o["autoResume"] = json::object{{"enabled", *r.auto_resume}};
  if (r.secure) o["secure"] = *r.secure;
  if (r.allow_internet_access) o["allow_internet_access"] = *r.allow_internet_access;
  if (r.network) o["network"] = ToJson(*r.network);
  if (!r.volume_mounts.empty()) {
    json::array mounts;
    for (const VolumeMount& m : r.volume_mounts) {
      mounts.push_back(json::object{{"name", m.name}, {"path", m.path}});
    }
    o["volumeMounts"] = std::move(mounts);
  }
  if (r.mcp) o["mcp"] = *r.mcp;
  if (r.iam) o["iam"] = *r.iam;
  if (!r.metadata.empty()) o["metadata"] = StringMapJson(r.metadata);
  if (!r.env_vars.empty()) o["envVars"] = StringMapJson(r.env_vars);
  return o;
}

Result<NewSandbox> ParseNewSandbox(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "NewSandbox"));
  NewSandbox r;
  SBX_ASSIGN_OR_RETURN(r.template_id, RequiredString(*o, "templateID"));
  SBX_ASSIGN_OR_RETURN(r.timeout_s, OptionalInt(*o, "timeout"));
  SBX_ASSIGN_OR_RETURN(r.auto_pause, OptionalBool(*o, "autoPause"));
  SBX_ASSIGN_OR_RETURN(r.auto_pause_memory, OptionalBool(*o, "autoPauseMemory"));
  SBX_ASSIGN_OR_RETURN(const json::object* auto_resume, OptionalObject(*o, "autoResume"));
  if (auto_resume != nullptr) {
    SBX_ASSIGN_OR_RETURN(std::optional<bool> enabled, OptionalBool(*auto_resume, "enabled"));
    if (!enabled) return InvalidArgument("Field 'autoResume.enabled' is required");
    r.auto_resume = enabled;
  }
  SBX_ASSIGN_OR_RETURN(std::optional<core::Metadata> metadata, OptionalStringMap(*o, "metadata"));
  r.metadata = metadata.value_or(core::Metadata{});
  SBX_ASSIGN_OR_RETURN(std::optional<core::Metadata> env_vars, OptionalStringMap(*o, "envVars"));
  r.env_vars = env_vars.value_or(core::Metadata{});
  SBX_ASSIGN_OR_RETURN(r.allow_internet_access, OptionalBool(*o, "allow_internet_access"));
  SBX_ASSIGN_OR_RETURN(r.secure, OptionalBool(*o, "secure"));
  SBX_ASSIGN_OR_RETURN(const json::object* network, OptionalObject(*o, "network"));
  if (network != nullptr) {
    SBX_ASSIGN_OR_RETURN(SandboxNetwork n, ParseNetwork(*network));
    r.network = std::move(n);
  }
  SBX_ASSIGN_OR_RETURN(r.volume_mounts, ParseVolumeMounts(*o));
  r.mcp = OpaqueField(*o, "mcp");
  r.iam = OpaqueField(*o, "iam");
  return r;
}

json::object ToJson(const ConnectSandbox& r) {
  json::object o;
  if (r.timeout_s) o["timeout"] = *r.timeout_s;
  if (r.memory) o["memory"] = *r.memory;
  return o;
}

Result<ConnectSandbox> ParseConnectSandboxV2(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "ConnectSandbox"));
  ConnectSandbox r;
  SBX_ASSIGN_OR_RETURN(r.timeout_s, OptionalInt(*o, "timeout"));
  SBX_ASSIGN_OR_RETURN(r.memory, OptionalBool(*o, "memory"));
  return r;
}

Result<ConnectSandbox> ParseConnectSandbox(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(ConnectSandbox r, ParseConnectSandboxV2(value));
  if (!r.timeout_s) return InvalidArgument("Field 'timeout' is required");
  return r;
}

json::object ToJson(const ResumedSandbox& r) {
  json::object o;
  if (r.timeout_s) o["timeout"] = *r.timeout_s;
  if (r.auto_pause) o["autoPause"] = *r.auto_pause;
  if (r.memory) o["memory"] = *r.memory;
  return o;
}

Result<ResumedSandbox> ParseResumedSandbox(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "ResumedSandbox"));
  ResumedSandbox r;
  SBX_ASSIGN_OR_RETURN(r.timeout_s, OptionalInt(*o, "timeout"));
  SBX_ASSIGN_OR_RETURN(r.auto_pause, OptionalBool(*o, "autoPause"));
  SBX_ASSIGN_OR_RETURN(r.memory, OptionalBool(*o, "memory"));
  return r;
}

json::object ToJson(const SandboxTimeoutRequest& r) {
  return json::object{{"timeout", r.timeout_s}};
}

Result<SandboxTimeoutRequest> ParseSandboxTimeoutRequest(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "SandboxTimeoutRequest"));
  SandboxTimeoutRequest r;
  SBX_ASSIGN_OR_RETURN(r.timeout_s, RequiredTimeout(*o));
  return r;
}

json::object ToJson(const SandboxRefreshRequest& r) {
  json::object o;
  if (r.duration_s) o["duration"] = *r.duration_s;
  return o;
}

Result<SandboxRefreshRequest> ParseSandboxRefreshRequest(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "SandboxRefreshRequest"));
  SandboxRefreshRequest r;
  SBX_ASSIGN_OR_RETURN(r.duration_s, OptionalInt(*o, "duration"));
  return r;
}

json::object ToJson(const SandboxPauseRequest& r) {
  json::object o;
  if (r.memory) o["memory"] = *r.memory;
  return o;
}

Result<SandboxPauseRequest> ParseSandboxPauseRequest(const json::value& value) {
  SBX_ASSIGN_OR_RETURN(const json::object* o, AsObject(value, "SandboxPauseRequest"));
  SandboxPauseRequest r;
  SBX_ASSIGN_OR_RETURN(r.memory, OptionalBool(*o, "memory"));
  return r;
}

}  // namespace sbx::e2b
