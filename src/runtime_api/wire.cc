#include "runtime_api/wire.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace sbx::runtime_api {
namespace json = boost::json;

namespace {

bool IsIdChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsId(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsIdChar); }

std::string_view KindName(json::kind k) {
  switch (k) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "unknown";
}

Status TypeError(std::string_view key, std::string_view want, const json::value& got) {
  return InvalidArgument(
      fmt::format("Field '{}' must be {}, got {}", key, want, KindName(got.kind())));
}

const json::value* Present(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  return v;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of one query component; '+' is a space (form encoding,
// which is what URLSearchParams produces).
std::optional<std::string> QueryDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

std::string_view StateName(SandboxState state) {
  return state == SandboxState::kPaused ? "paused" : "running";
}


http_server::Response JsonBody(const http_server::Request& req, http::status status,
                               const json::value& body) {
  return http_server::JsonResponse(req, status, json::serialize(body));
}

http_server::Response Empty(const http_server::Request& req, http::status status) {
  http_server::Response res{status, req.version()};
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

http_server::Response E2bError(const http_server::Request& req, http::status status,
                               std::string_view message) {
  json::object o;
  o["code"] = static_cast<int>(status);
  o["message"] = message;
  return JsonBody(req, status, o);
}

http_server::Response ErrorFor(const http_server::Request& req, const Status& status) {
  return E2bError(req, HttpStatusFor(status.code()), status.message());
}

Result<std::string> NormalizeSandboxId(std::string_view path_id) {
  std::string_view id = path_id.substr(0, path_id.find('-'));
  if (!IsId(id)) return InvalidArgument("Invalid sandbox ID");
  return std::string(id);
}

Result<json::object> ParseJsonObject(std::string_view body, bool required) {
  const bool blank = std::all_of(body.begin(), body.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  });
  if (blank) {
    if (required) return InvalidArgument("Request body is required");
    return json::object{};
  }
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return InvalidArgument(fmt::format("Error when parsing request: {}", ec.message()));
  if (!v.is_object())
    return InvalidArgument("Error when parsing request: body must be a JSON object");
  return std::move(v.as_object());
}

Result<std::optional<int64_t>> OptionalInt(const json::object& o, std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->as_int64());
  if (v->is_uint64()) {
    if (v->as_uint64() > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgument(fmt::format("Field '{}' is out of range", key));
    }
    return std::optional<int64_t>(static_cast<int64_t>(v->as_uint64()));
  }
  if (v->is_double()) {
    const double d = v->as_double();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d > -9e15 && d < 9e15) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return TypeError(key, "an integer", *v);
}

Result<int64_t> RequiredTimeout(std::string_view body) {
  SBX_ASSIGN_OR_RETURN(json::object o, ParseJsonObject(body, /*required=*/true));
  SBX_ASSIGN_OR_RETURN(std::optional<int64_t> timeout, OptionalInt(o, "timeout"));
  if (!timeout) return InvalidArgument("Field 'timeout' is required");
  return *timeout;
}

Result<std::optional<bool>> OptionalBool(const json::object& o, std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) return TypeError(key, "a boolean", *v);
  return std::optional<bool>(v->as_bool());
}

Result<std::optional<std::string>> OptionalString(const json::object& o, std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return TypeError(key, "a string", *v);
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::optional<core::Metadata>> OptionalStringMap(const json::object& o,
                                                        std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return std::optional<core::Metadata>();
  if (!v->is_object()) return TypeError(key, "an object", *v);
  core::Metadata out;
  for (const auto& kv : v->as_object()) {
    if (!kv.value().is_string()) {
      return TypeError(fmt::format("{}.{}", key, std::string_view(kv.key())), "a string",
                       kv.value());
    }
    out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return std::optional<core::Metadata>(std::move(out));
}

Result<std::optional<std::vector<std::string>>> OptionalStringArray(const json::object& o,
                                                                    std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) return TypeError(key, "an array of strings", *v);
  std::vector<std::string> out;
  for (const json::value& e : v->as_array()) {
    if (!e.is_string()) return TypeError(key, "an array of strings", e);
    out.emplace_back(e.as_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<CreateParams> ParseNewSandbox(const json::object& body) {
  CreateParams p;
  std::optional<std::string> template_id;
  SBX_ASSIGN_OR_RETURN(template_id, OptionalString(body, "templateID"));
  if (!template_id || template_id->empty()) {
    return InvalidArgument("Field 'templateID' is required");
  }
  p.template_id = std::move(*template_id);
  SBX_ASSIGN_OR_RETURN(p.timeout_s, OptionalInt(body, "timeout"));
  std::optional<bool> auto_pause;
  SBX_ASSIGN_OR_RETURN(auto_pause, OptionalBool(body, "autoPause"));
  p.auto_pause = auto_pause.value_or(false);
  SBX_ASSIGN_OR_RETURN(p.auto_pause_memory, OptionalBool(body, "autoPauseMemory"));
  std::optional<core::Metadata> metadata;
  SBX_ASSIGN_OR_RETURN(metadata, OptionalStringMap(body, "metadata"));
  if (metadata) p.metadata = std::move(*metadata);
  std::optional<core::Metadata> env_vars;  // checked for shape only
  SBX_ASSIGN_OR_RETURN(env_vars, OptionalStringMap(body, "envVars"));
  SBX_ASSIGN_OR_RETURN(p.allow_internet_access, OptionalBool(body, "allow_internet_access"));
  return p;
}

json::object SandboxJson(const SandboxRecord& s, std::string_view domain) {
  json::object o;
  o["templateID"] = s.template_id;
  if (!s.alias.empty()) o["alias"] = s.alias;
  o["sandboxID"] = s.sandbox_id;
  o["clientID"] = kClientId;
  o["envdVersion"] = kEnvdVersion;
  o["trafficAccessToken"] = nullptr;
  o["domain"] = domain;
  return o;
}

json::object ListedSandboxJson(const SandboxRecord& s) {
  json::object o;
  o["templateID"] = s.template_id;
  if (!s.alias.empty()) o["alias"] = s.alias;
  o["sandboxID"] = s.sandbox_id;
  o["clientID"] = kClientId;
  o["startedAt"] = FormatRfc3339(s.started_at);
  // E2B answers a paused sandbox from its snapshot, whose end is the pause.
  const SystemTime end = s.state == SandboxState::kPaused && s.paused_at ? *s.paused_at : s.end_at;
  o["endAt"] = FormatRfc3339(end);
  o["cpuCount"] = s.cpu_count;
  o["memoryMB"] = s.memory_mb;
  o["diskSizeMB"] = s.disk_size_mb;
  json::object metadata;
  for (const auto& [k, v] : s.metadata) metadata[k] = v;
  o["metadata"] = std::move(metadata);
  o["state"] = StateName(s.state);
  o["envdVersion"] = kEnvdVersion;
  return o;
}

json::object SandboxDetailJson(const SandboxRecord& s, std::string_view domain) {
  json::object o = ListedSandboxJson(s);
  o["domain"] = domain;
  if (s.allow_internet_access) {
    o["allowInternetAccess"] = *s.allow_internet_access;
  } else {
    o["allowInternetAccess"] = nullptr;
  }
  json::object lifecycle;
  lifecycle["autoResume"] = false;
  lifecycle["onTimeout"] = s.auto_pause ? "pause" : "kill";
  o["lifecycle"] = std::move(lifecycle);
  return o;
}

json::object WebhookJson(const Webhook& w, std::string_view team_id) {
  json::object o;
  o["id"] = w.id;
  o["teamId"] = team_id;
  o["name"] = w.name;
  o["createdAt"] = FormatRfc3339(w.created_at);
  o["url"] = w.url;
  o["enabled"] = w.enabled;
  json::array events;
  for (const auto& e : w.events) events.emplace_back(e);
  o["events"] = std::move(events);
  return o;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kBase64Url[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kBase64Url[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = std::find(std::begin(kBase64Url), std::end(kBase64Url) - 1, c);
    if (p == std::end(kBase64Url) - 1) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kBase64Url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so that every text has one meaning.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string EncodeCursor(const ListCursor& cursor) {
  return Base64UrlEncode(fmt::format("{}__{}{}", cursor.started_at_ms, cursor.sandbox_id,
                                     cursor.ascending ? "__asc" : ""));
}

Result<ListCursor> DecodeCursor(std::string_view token) {
  const Status bad = InvalidArgument("Invalid next token");
  auto text = Base64UrlDecode(token);
  if (!text) return bad;
  std::string_view rest = *text;
  ListCursor c;
  size_t sep = rest.find("__");
  if (sep == std::string_view::npos) return bad;
  auto ms = ParseInt64(rest.substr(0, sep));
  if (!ms) return bad;
  c.started_at_ms = *ms;
  rest.remove_prefix(sep + 2);
  sep = rest.find("__");
  c.sandbox_id = std::string(rest.substr(0, sep));
  if (!IsId(c.sandbox_id)) return bad;
  if (sep != std::string_view::npos) {
    if (rest.substr(sep + 2) != "asc") return bad;
    c.ascending = true;
  }
  return c;
}

Result<core::Metadata> ParseMetadataQuery(std::string_view text) {
  core::Metadata out;
  const Status bad = InvalidArgument(fmt::format("Invalid metadata query \"{}\"", text));
  while (!text.empty()) {
    const size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) return bad;
    auto key = QueryDecode(pair.substr(0, eq));
    auto value = QueryDecode(pair.substr(eq + 1));
    if (!key || !value || key->empty()) return bad;
    out[*key] = *value;
  }
  return out;
}

Result<std::set<SandboxState>> ParseStateQuery(const std::optional<std::string>& text) {
  std::set<SandboxState> out;
  if (!text || text->empty())
    return std::set<SandboxState>{SandboxState::kRunning, SandboxState::kPaused};
  std::string_view rest = *text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view word = rest.substr(0, comma);
    if (word == "running") {
      out.insert(SandboxState::kRunning);
    } else if (word == "paused") {
      out.insert(SandboxState::kPaused);
    } else {
      return InvalidArgument(fmt::format("Invalid state \"{}\": use running, paused", word));
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

std::optional<PreviewHost> ParsePreviewHost(std::string_view host, std::string_view domain) {
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (const size_t colon = h.rfind(':'); colon != std::string::npos) {
    const std::string_view port = std::string_view(h).substr(colon + 1);
    if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    h.resize(colon);
  }
  if (!h.empty() && h.back() == '.') h.pop_back();  // fully qualified form
  std::string suffix = "." + std::string(domain);
  std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (h.size() <= suffix.size() || !h.ends_with(suffix)) return std::nullopt;
  const std::string_view label = std::string_view(h).substr(0, h.size() - suffix.size());
  if (label.find('.') != std::string_view::npos) return std::nullopt;
  const size_t dash = label.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto port = ParseInt64(label.substr(0, dash));
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  std::string_view id = label.substr(dash + 1);
  id = id.substr(0, id.find('-'));
  if (!IsId(id)) return std::nullopt;
  return PreviewHost{static_cast<uint16_t>(*port), std::string(id)};
}

}  // namespace sbx::runtime_api
