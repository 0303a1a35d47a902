#include "provider/e2b/e2b_provider.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <utility>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base/log.h"
#include "e2b/rest.h"

namespace sbx::provider::e2b {
namespace {

namespace json = boost::json;
// E2B's REST objects; "e2b" alone names this namespace here.
namespace wire = ::sbx::e2b;
using namespace std::chrono_literals;

// Longest piece of an E2B message or body quoted in our error messages.
constexpr size_t kMaxQuotedBytes = 300;

bool IsSuccess(int status) { return status >= 200 && status <= 299; }

bool IsRetryableStatus(int status) { return status == 429 || (status >= 500 && status <= 599); }

bool IsRetryableError(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded;
}

// `text` with the value of every JSON field whose name ends in "token"
// (envdAccessToken, trafficAccessToken, …) replaced: a quoted answer must
// never carry E2B's access tokens into an error, a log line or a history row.
std::string RedactTokens(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t key_end = text.find("oken\"", i);
    if (key_end == std::string_view::npos || key_end == 0) break;
    size_t j = key_end + 5;  // past the key's closing quote
    out.append(text.substr(i, j - i));
    i = j;
    const char t = text[key_end - 1];
    if (t != 't' && t != 'T') continue;
    while (j < text.size() && is_space(text[j])) ++j;
    if (j >= text.size() || text[j] != ':') continue;
    ++j;
    while (j < text.size() && is_space(text[j])) ++j;
    if (j >= text.size() || text[j] != '"') continue;
    size_t end = j + 1;
    while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
    out.append(text.substr(i, j + 1 - i));
    out += "[redacted]";
    i = std::min(end, text.size());
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

// `text` cut to kMaxQuotedBytes, tokens redacted and control characters
// replaced, so that a hostile or binary answer cannot garble a log line.
std::string Quote(std::string_view raw) {
  const std::string redacted = RedactTokens(raw.substr(0, 4 * kMaxQuotedBytes));
  const std::string_view text = redacted;
  std::string out;
  for (char c : text.substr(0, kMaxQuotedBytes)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  if (raw.size() > kMaxQuotedBytes) out += "…";
  return out;
}

// E2B's error text: `message` of its error body, else the start of the body
// itself.
std::string E2bMessage(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec) {
    if (Result<wire::ErrorBody> error = wire::ParseErrorBody(v); error.ok()) {
      return Quote(error->message);
    }
  }
  return Quote(r.body);
}

// Maps a non-2xx answer to a Status whose message names `what` and quotes E2B.
Status HttpError(std::string_view what, const HttpResponse& response, int attempts) {
  const int status = response.status;
  StatusCode code = StatusCode::kUnavailable;
  std::string_view reason = "unexpected answer";
  if (status == 400) {
    code = StatusCode::kInvalidArgument;
    reason = "invalid request";
  } else if (status == 401 || status == 403) {
    code = StatusCode::kPermissionDenied;
    reason = "E2B rejected the API key";
  } else if (status == 404) {
    code = StatusCode::kNotFound;
    reason = "not found";
  } else if (status == 409) {
    code = StatusCode::kFailedPrecondition;
    reason = "conflict";
  } else if (status == 429) {
    code = StatusCode::kResourceExhausted;
    reason = "rate limited";
  } else if (status >= 500 && status <= 599) {
    code = StatusCode::kUnavailable;
    reason = "E2B server error";
  } else if (status >= 400 && status <= 499) {
    code = StatusCode::kInvalidArgument;
    reason = "request refused";
  }
  std::string message = fmt::format("{}: {} (http {}", what, reason, status);
  if (attempts > 1) message += fmt::format(", {} attempts", attempts);
  message += ")";
  if (std::string e2b = E2bMessage(response); !e2b.empty()) message += ": " + e2b;
  return Status(code, std::move(message));
}

// OK for a 2xx answer, else the mapped error.
Status CheckSuccess(std::string_view what, const HttpResponse& response, int attempts) {
  return IsSuccess(response.status) ? OkStatus() : HttpError(what, response, attempts);
}

Status Malformed(std::string_view what, std::string_view detail) {
  return Unavailable(fmt::format("{}: malformed E2B response: {}", what, detail));
}

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string EncodeQueryValue(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// The id as it may appear in a message: it failed validation, so it may hold anything.
std::string QuoteId(std::string_view id) { return "\"" + Quote(id.substr(0, 64)) + "\""; }

Status InvalidId(std::string_view op, std::string_view id) {
  return InvalidArgument(fmt::format(
      "e2b {}: invalid sandbox id {}: want 1-128 characters from [a-z0-9-]", op, QuoteId(id)));
}

// A 2xx body read by `parse`, one of e2b/rest.h's codecs; kUnavailable
// naming `what` when it is not what E2B promises.
template <typename T>
Result<T> ParseAnswer(std::string_view what, const std::string& body,
                      Result<T> (*parse)(const json::value&)) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return Malformed(what, fmt::format("invalid JSON: {}", ec.message()));
  Result<T> parsed = parse(v);
  if (!parsed.ok()) return Malformed(what, parsed.error().message());
  return parsed;
}

// An id from E2B goes into later URL paths: it must be one we could send.
Status CheckAnsweredId(std::string_view what, const std::string& sandbox_id) {
  if (IsValidE2bSandboxId(sandbox_id)) return OkStatus();
  return Malformed(what, fmt::format("invalid sandboxID {}", QuoteId(sandbox_id)));
}

// The template as E2B names it to its users: the alias, else the id.
template <typename E2bObject>
std::string TemplateName(const E2bObject& s) {
  return s.alias.empty() ? s.template_id : s.alias;
}

ProviderState StateOf(wire::SandboxState state) {
  return state == wire::SandboxState::kPaused ? ProviderState::kPaused : ProviderState::kRunning;
}

// A uniformly random fraction in [0, 1) from `ids`, the injected randomness.
double RandomFraction(IdGenerator& ids) {
  const std::string hex = ids.NewHex(8);
  uint32_t n = 0;
  std::from_chars(hex.data(), hex.data() + hex.size(), n, 16);
  return static_cast<double>(n) / 4294967296.0;
}

}  // namespace

Status ValidateE2bOptions(const E2bOptions& o) {
  auto bad = [](std::string_view field, std::string_view why) {
    return InvalidArgument(fmt::format("e2b options: {} {}", field, why));
  };
  if (o.api_key.empty()) return bad("api_key", "is empty (set E2B_API_KEY)");
  if (!o.api_url.starts_with("http://") && !o.api_url.starts_with("https://")) {
    return bad("api_url", fmt::format("\"{}\" is not an http:// or https:// URL", o.api_url));
  }
  if (o.domain.empty()) return bad("domain", "is empty");
  if (o.preview_port == 0) return bad("preview_port", "is 0");
  if (o.template_id.empty()) return bad("template_id", "is empty");
  if (o.sandbox_timeout <= 0s) return bad("sandbox_timeout", "must be positive");
  if (o.sandbox_timeout.count() > std::numeric_limits<int32_t>::max()) {
    return bad("sandbox_timeout", "is too large");
  }
  if (o.request_timeout <= 0ms) return bad("request_timeout", "must be positive");
  if (o.max_attempts < 1) return bad("max_attempts", "must be at least 1");
  if (o.backoff_base < 0ms) return bad("backoff_base", "must not be negative");
  if (o.backoff_max < o.backoff_base) return bad("backoff_max", "must be at least backoff_base");
  if (o.list_page_size < 1 || o.list_page_size > 100) {
    return bad("list_page_size", "must be 1..100");
  }
  if (o.list_timeout <= 0ms) return bad("list_timeout", "must be positive");
  return OkStatus();
}

bool IsValidE2bSandboxId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

E2bProvider::E2bProvider(Clock& clock, IdGenerator& ids, HttpTransport& transport,
                         E2bOptions options)
    : clock_(clock),
      ids_(ids),
      transport_(transport),
      options_(std::move(options)),
      api_base_(options_.api_url.ends_with('/')
                    ? options_.api_url.substr(0, options_.api_url.size() - 1)
                    : options_.api_url) {}

// Provider

Result<ProviderSandbox> E2bProvider::Create(const CreateRequest& request) {
  const std::string what = fmt::format("e2b create sandbox for project {}", request.project_id);
  const std::string template_name =
      request.template_name.empty() ? options_.template_id : request.template_name;
  const std::string request_id = ids_.NewUuid();
  core::Metadata metadata = request.metadata;
  metadata["projectId"] = request.project_id;
  metadata[kCreateRequestIdKey] = request_id;
  // Secure: E2B mints an envd access token (v2 creates are secure anyway;
  // saying so keeps that true whatever the route's default), which sandboxd
  // never reads, keeps, logs or shows.
  const wire::NewSandbox body{.template_id = template_name,
                              .timeout_s = options_.sandbox_timeout.count(),
                              .auto_pause = true,
                              .secure = true,
                              .allow_internet_access = request.allow_internet_access,
                              .metadata = metadata};
  const std::string text = json::serialize(wire::ToJson(body));
  const SteadyTime deadline = CallDeadline();

  for (int attempt = 1;; ++attempt) {
    Result<Reply> reply = Exchange(what, "POST", "/v2/sandboxes", text, deadline, 1);
    const HttpResponse* answer = reply.ok() ? &reply->response : nullptr;
    if (answer != nullptr && IsSuccess(answer->status)) {
      SBX_ASSIGN_OR_RETURN(wire::Sandbox e, ParseAnswer(what, answer->body, wire::ParseSandbox));
      SBX_RETURN_IF_ERROR(CheckAnsweredId(what, e.sandbox_id));
      const SystemTime now = clock_.Now();
      ProviderSandbox out;
      out.sandbox_id = e.sandbox_id;
      out.state = ProviderState::kRunning;
      out.url = PreviewUrl(e.sandbox_id, e.domain);
      out.template_name = template_name;
      out.started_at = now;
      out.end_at = now + options_.sandbox_timeout;
      out.metadata = std::move(metadata);
      return out;
    }
    Status failed = answer != nullptr ? HttpError(what, *answer, attempt)
                                      : Status(reply.error().code(), reply.error().message());
    const bool retryable =
        answer != nullptr ? IsRetryableStatus(answer->status) : IsRetryableError(reply.error());
    if (!retryable) return failed;
    // A timeout, a broken connection or a 5xx may have created the sandbox
    // anyway: adopt it rather than create (and pay for) a second one. A 429
    // is a refusal.
    if (answer == nullptr || answer->status != 429) {
      Result<std::optional<ProviderSandbox>> found =
          FindCreated(request_id, template_name, deadline);
      if (!found.ok()) {
        return Status(failed.code(),
                      fmt::format("{}; it may have created a sandbox, and looking for it failed "
                                  "(the reconciler kills it if so): {}",
                                  failed.message(), found.error().message()));
      }
      if (*found) {
        SBX_LOG_WARN("{}: attempt {} failed ({}) but created sandbox {}: adopting it", what,
                     attempt, failed.message(), (*found)->sandbox_id);
        (*found)->metadata = std::move(metadata);
        return std::move(**found);
      }
    }
    const std::chrono::milliseconds delay = Backoff(attempt, answer);
    if (attempt >= options_.max_attempts || clock_.SteadyNow() + delay >= deadline) {
      if (answer != nullptr || attempt == 1) return failed;
      return Status(failed.code(), fmt::format("{} ({} attempts)", failed.message(), attempt));
    }
    SBX_LOG_DEBUG("{}: attempt {} failed ({}); retrying in {} ms", what, attempt, failed.message(),
                  delay.count());
    clock_.BlockingSleep(delay);
  }
}

Result<std::optional<ProviderSandbox>> E2bProvider::FindCreated(const std::string& request_id,
                                                                const std::string& template_name,
                                                                SteadyTime deadline) {
  const std::string what = fmt::format("e2b look for the sandbox of create request {}", request_id);
  // metadata=<k>=<v>, each part URL-encoded, then the whole parameter.
  const std::string filter = EncodeQueryValue(EncodeQueryValue(kCreateRequestIdKey) + "=" +
                                              EncodeQueryValue(request_id));
  SBX_ASSIGN_OR_RETURN(Reply reply, Exchange(what, "GET",
                                             "/v2/sandboxes?limit=100&metadata=" + filter, "",
                                             deadline, options_.max_attempts));
  SBX_RETURN_IF_ERROR(CheckSuccess(what, reply.response, reply.attempts));
  SBX_ASSIGN_OR_RETURN(std::vector<wire::ListedSandbox> listed,
                       ParseAnswer(what, reply.response.body, wire::ParseListedSandboxes));
  for (const wire::ListedSandbox& e : listed) {
    auto it = e.metadata.find(kCreateRequestIdKey);
    if (it == e.metadata.end() || it->second != request_id) continue;
    SBX_RETURN_IF_ERROR(CheckAnsweredId(what, e.sandbox_id));
    ProviderSandbox out = FromListed(e, std::nullopt);
    out.template_name = template_name;
    return std::optional<ProviderSandbox>(std::move(out));
  }
  return std::optional<ProviderSandbox>();
}

Status E2bProvider::Pause(const std::string& sandbox_id) {
  if (!IsValidE2bSandboxId(sandbox_id)) return InvalidId("pause", sandbox_id);
  const std::string what = fmt::format("e2b pause sandbox {}", sandbox_id);
  // An empty JSON object: the body is optional, but strict JSON readers choke on none.
  const std::string body = json::serialize(wire::ToJson(wire::SandboxPauseRequest{}));
  SBX_ASSIGN_OR_RETURN(
      Reply reply, Exchange(what, "POST", fmt::format("/sandboxes/{}/pause", sandbox_id), body));
  if (reply.response.status != 409) return CheckSuccess(what, reply.response, reply.attempts);
  // 409 means "already paused" or "busy in another transition": only the
  // first is success, so anything but E2B's known wording is checked.
  if (E2bMessage(reply.response).find("already paused") != std::string::npos) return OkStatus();
  Result<ProviderSandbox> current = Get(sandbox_id);
  if (current.ok() && current->state == ProviderState::kPaused) return OkStatus();
  if (!current.ok() && current.error().code() == StatusCode::kNotFound) return current.error();
  return HttpError(what, reply.response, reply.attempts);
}

Result<ProviderSandbox> E2bProvider::Resume(const std::string& sandbox_id) {
  if (!IsValidE2bSandboxId(sandbox_id)) return InvalidId("resume", sandbox_id);
  const std::string what = fmt::format("e2b resume sandbox {}", sandbox_id);
  const wire::ConnectSandbox body{.timeout_s = options_.sandbox_timeout.count()};
  SBX_ASSIGN_OR_RETURN(Reply reply,
                       Exchange(what, "POST", fmt::format("/v2/sandboxes/{}/connect", sandbox_id),
                                json::serialize(wire::ToJson(body))));
  SBX_RETURN_IF_ERROR(CheckSuccess(what, reply.response, reply.attempts));
  SBX_ASSIGN_OR_RETURN(wire::Sandbox e, ParseAnswer(what, reply.response.body, wire::ParseSandbox));
  SBX_RETURN_IF_ERROR(CheckAnsweredId(what, e.sandbox_id));

  const SystemTime now = clock_.Now();
  ProviderSandbox out;
  // The id asked for, not E2B's echo, which drops a legacy "-<clientID>" suffix.
  out.sandbox_id = sandbox_id;
  out.state = ProviderState::kRunning;
  out.url = PreviewUrl(e.sandbox_id, e.domain);
  out.template_name = TemplateName(e);
  out.started_at = now;
  out.end_at = now + options_.sandbox_timeout;
  return out;
}

Status E2bProvider::Kill(const std::string& sandbox_id) {
  if (!IsValidE2bSandboxId(sandbox_id)) return InvalidId("kill", sandbox_id);
  const std::string what = fmt::format("e2b kill sandbox {}", sandbox_id);
  SBX_ASSIGN_OR_RETURN(Reply reply,
                       Exchange(what, "DELETE", fmt::format("/sandboxes/{}", sandbox_id), ""));
  if (reply.response.status == 404) return OkStatus();  // already gone: what Kill wants
  return CheckSuccess(what, reply.response, reply.attempts);
}

Status E2bProvider::SetTimeout(const std::string& sandbox_id, std::chrono::seconds timeout) {
  if (!IsValidE2bSandboxId(sandbox_id)) return InvalidId("set timeout", sandbox_id);
  const std::string what = fmt::format("e2b set timeout of sandbox {}", sandbox_id);
  if (timeout < 0s || timeout.count() > std::numeric_limits<int32_t>::max()) {
    return InvalidArgument(fmt::format("{}: timeout {} s out of range", what, timeout.count()));
  }
  const wire::SandboxTimeoutRequest body{.timeout_s = timeout.count()};
  SBX_ASSIGN_OR_RETURN(Reply reply,
                       Exchange(what, "POST", fmt::format("/sandboxes/{}/timeout", sandbox_id),
                                json::serialize(wire::ToJson(body))));
  return CheckSuccess(what, reply.response, reply.attempts);
}

Result<ListResult> E2bProvider::List() {
  const SteadyTime deadline = clock_.SteadyNow() + options_.list_timeout;
  ListResult out;
  std::set<std::string> seen_ids;
  std::set<std::string> seen_tokens;
  std::optional<std::string> token;
  for (int page = 1;; ++page) {
    const std::string what = fmt::format("e2b list sandboxes (page {})", page);
    std::string path = fmt::format("/v2/sandboxes?limit={}", options_.list_page_size);
    if (token) path += "&nextToken=" + EncodeQueryValue(*token);
    SBX_ASSIGN_OR_RETURN(Reply reply,
                         Exchange(what, "GET", path, "", deadline, options_.max_attempts));
    SBX_RETURN_IF_ERROR(CheckSuccess(what, reply.response, reply.attempts));
    SBX_ASSIGN_OR_RETURN(std::vector<wire::ListedSandbox> listed,
                         ParseAnswer(what, reply.response.body, wire::ParseListedSandboxes));
    for (const wire::ListedSandbox& e : listed) {
      SBX_RETURN_IF_ERROR(CheckAnsweredId(what, e.sandbox_id));
      // A sandbox can move between pages while we read them: keep it once.
      if (!seen_ids.insert(e.sandbox_id).second) continue;
      out.sandboxes.push_back(FromListed(e, std::nullopt));
    }
    std::optional<std::string> next = reply.response.Header(wire::kNextTokenHeader);
    if (!next || next->empty()) break;
    if (!seen_tokens.insert(*next).second) {
      return Unavailable(fmt::format("{}: E2B repeated page token \"{}\"", what, Quote(*next)));
    }
    token = std::move(next);
  }
  out.complete = true;
  return out;
}

Result<ProviderSandbox> E2bProvider::Get(const std::string& sandbox_id) {
  if (!IsValidE2bSandboxId(sandbox_id)) return InvalidId("get", sandbox_id);
  const std::string what = fmt::format("e2b get sandbox {}", sandbox_id);
  SBX_ASSIGN_OR_RETURN(Reply reply,
                       Exchange(what, "GET", fmt::format("/sandboxes/{}", sandbox_id), ""));
  SBX_RETURN_IF_ERROR(CheckSuccess(what, reply.response, reply.attempts));
  SBX_ASSIGN_OR_RETURN(wire::SandboxDetail e,
                       ParseAnswer(what, reply.response.body, wire::ParseSandboxDetail));
  SBX_RETURN_IF_ERROR(CheckAnsweredId(what, e.sandbox_id));
  ProviderSandbox out = FromListed(e, e.domain);
  out.sandbox_id = sandbox_id;
  return out;
}

// Internals

std::chrono::milliseconds LongestCall(const E2bOptions& options) {
  return options.max_attempts * (options.request_timeout + options.backoff_max);
}

SteadyTime E2bProvider::CallDeadline() { return clock_.SteadyNow() + LongestCall(options_); }

Result<E2bProvider::Reply> E2bProvider::Exchange(std::string_view what, const std::string& method,
                                                 const std::string& path, const std::string& body) {
  return Exchange(what, method, path, body, CallDeadline(), options_.max_attempts);
}

Result<E2bProvider::Reply> E2bProvider::Exchange(std::string_view what, const std::string& method,
                                                 const std::string& path, const std::string& body,
                                                 SteadyTime deadline, int max_attempts) {
  HttpRequest request;
  request.method = method;
  request.url = api_base_ + path;
  request.headers = {{wire::kApiKeyHeader, options_.api_key}, {"Accept", "application/json"}};
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.body = body;

  Result<HttpResponse> last = DeadlineExceeded("deadline passed before the request was sent");
  int attempts = 0;
  while (attempts < max_attempts) {
    const auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.SteadyNow());
    if (remaining <= 0ms) break;
    request.timeout = std::min(options_.request_timeout, remaining);
    ++attempts;
    last = transport_.Send(request);
    const bool retry = last.ok() ? IsRetryableStatus(last->status) : IsRetryableError(last.error());
    if (!retry || attempts >= max_attempts) break;
    const std::chrono::milliseconds delay = Backoff(attempts, last.ok() ? &*last : nullptr);
    if (clock_.SteadyNow() + delay >= deadline) break;
    SBX_LOG_DEBUG("{}: attempt {} failed ({}); retrying in {} ms", what, attempts,
                  last.ok() ? fmt::format("http {}", last->status) : last.error().message(),
                  delay.count());
    clock_.BlockingSleep(delay);
  }
  if (!last.ok()) {
    std::string message = fmt::format("{}: {}", what, last.error().message());
    if (attempts > 1) message += fmt::format(" ({} attempts)", attempts);
    return Status(last.error().code(), std::move(message));
  }
  return Reply{std::move(*last), attempts};
}

std::chrono::milliseconds E2bProvider::Backoff(int retry, const HttpResponse* response) {
  std::chrono::milliseconds cap = options_.backoff_base;
  for (int i = 1; i < retry && cap < options_.backoff_max; ++i) cap *= 2;
  cap = std::min(cap, options_.backoff_max);
  auto delay = std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(cap.count()) * RandomFraction(ids_)));
  if (response != nullptr && response->status == 429) {
    // Retry-After in seconds (E2B's limiter may send it); dates are ignored.
    if (std::optional<std::string> after = response->Header("Retry-After")) {
      int64_t seconds = 0;
      auto [end, ec] = std::from_chars(after->data(), after->data() + after->size(), seconds);
      if (ec == std::errc() && end == after->data() + after->size() && seconds > 0) {
        delay = std::max(delay, std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds),
                                                                    options_.backoff_max));
      }
    }
  }
  return delay;
}

ProviderSandbox E2bProvider::FromListed(const wire::ListedSandbox& e,
                                        const std::optional<std::string>& domain) const {
  ProviderSandbox s;
  s.sandbox_id = e.sandbox_id;
  s.state = StateOf(e.state);
  s.url = PreviewUrl(e.sandbox_id, domain);
  s.template_name = TemplateName(e);
  s.started_at = e.started_at;
  s.end_at = e.end_at;
  s.metadata = e.metadata;
  return s;
}

std::string E2bProvider::PreviewUrl(const std::string& sandbox_id,
                                    const std::optional<std::string>& domain) const {
  const std::string_view scheme = options_.api_url.starts_with("http://") ? "http" : "https";
  // E2B answers null (or nothing) on its default cluster.
  const std::string& host_domain = domain && !domain->empty() ? *domain : options_.domain;
  return fmt::format("{}://{}-{}.{}/", scheme, options_.preview_port, sandbox_id, host_domain);
}

}  // namespace sbx::provider::e2b
