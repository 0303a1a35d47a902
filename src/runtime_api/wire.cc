#include "runtime_api/wire.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "core/validation.h"

namespace sbx::runtime_api {
namespace json = boost::json;

namespace {

bool IsIdChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsId(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsIdChar); }

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
  const e2b::ErrorBody body{.code = static_cast<int>(status), .message = std::string(message)};
  return JsonBody(req, status, e2b::ToJson(body));
}

http_server::Response ErrorFor(const http_server::Request& req, const Status& status) {
  return E2bError(req, HttpStatusFor(status.code()), status.message());
}

Result<std::string> NormalizeSandboxId(std::string_view path_id) {
  std::string_view id = path_id.substr(0, path_id.find('-'));
  if (!IsId(id) || !core::ValidateProviderId("sandbox id", id).ok()) {
    return InvalidArgument("Invalid sandbox ID");
  }
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

e2b::Sandbox ToSandbox(const SandboxRecord& s, std::string_view domain) {
  return e2b::Sandbox{.template_id = s.template_id,
                      .alias = s.alias,
                      .sandbox_id = s.sandbox_id,
                      .client_id = e2b::kLegacyClientId,
                      .envd_version = kEnvdVersion,
                      .traffic_access_token = std::nullopt,
                      .domain = std::string(domain)};
}

e2b::ListedSandbox ToListedSandbox(const SandboxRecord& s) {
  e2b::ListedSandbox out;
  out.template_id = s.template_id;
  out.alias = s.alias;
  out.sandbox_id = s.sandbox_id;
  out.client_id = e2b::kLegacyClientId;
  out.started_at = s.started_at;
  out.end_at = s.state == SandboxState::kPaused && s.paused_at ? *s.paused_at : s.end_at;
  out.cpu_count = s.cpu_count;
  out.memory_mb = s.memory_mb;
  out.disk_size_mb = s.disk_size_mb;
  out.metadata = s.metadata;
  out.state = s.state;
  out.envd_version = kEnvdVersion;
  return out;
}

e2b::SandboxDetail ToSandboxDetail(const SandboxRecord& s, std::string_view domain) {
  e2b::SandboxDetail out{ToListedSandbox(s)};
  out.domain = std::string(domain);
  out.allow_internet_access = s.allow_internet_access;
  out.lifecycle =
      e2b::SandboxLifecycle{.auto_resume = s.auto_resume, .on_timeout = s.auto_pause ? "pause" : "kill"};
  return out;
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
    const std::optional<SandboxState> state = e2b::ParseSandboxState(word);
    if (!state) {
      return InvalidArgument(fmt::format("Invalid state \"{}\": use running, paused", word));
    }
    out.insert(*state);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

namespace {

// `host` lower-cased, without a ":<port>" suffix and a final '.'; nullopt
// when the suffix is not a port.
std::optional<std::string> HostName(std::string_view host) {
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
  return h;
}

}  // namespace

std::optional<PreviewHost> ParsePreviewHost(std::string_view host, std::string_view domain) {
  // The domain may name the port clients use ("localhost:3000", the
  // runtime's default): hosts are compared without ports on both sides.
  const std::optional<std::string> h = HostName(host);
  const std::optional<std::string> d = HostName(domain);
  if (!h || !d || d->empty()) return std::nullopt;
  const std::string suffix = "." + *d;
  if (h->size() <= suffix.size() || !h->ends_with(suffix)) return std::nullopt;
  const std::string_view label = std::string_view(*h).substr(0, h->size() - suffix.size());
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
