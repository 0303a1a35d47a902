#include "gateway/pages.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/forwarding.h"

namespace sbx::gateway {
namespace {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string_view ErrorCode(AnswerKind k) {
  switch (k) {
    case AnswerKind::kWaking:
    case AnswerKind::kDeadline:
    case AnswerKind::kWakeFailed:
    case AnswerKind::kShutdown: return "unavailable";
    case AnswerKind::kGone: return "gone";
    case AnswerKind::kNotFound: return "not_found";
    case AnswerKind::kBadHost: return "invalid_argument";
    case AnswerKind::kUnauthorized: return "unauthenticated";
    case AnswerKind::kTooLarge: return "payload_too_large";
    case AnswerKind::kHeaderTooLarge: return "header_too_large";
    case AnswerKind::kBadGateway: return "bad_gateway";
    case AnswerKind::kGatewayTimeout: return "deadline_exceeded";
    case AnswerKind::kNotAllowed: return "method_not_allowed";
  }
  return "unavailable";
}

constexpr char kStyle[] =
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;"
    "color:#222}h1{font-size:1.4rem}code{background:#f3f3f3;padding:0 .2rem}"
    ".muted{color:#666;font-size:.9rem}";

// The waking page: asks for its own URL with fetch (held by the gateway until
// the sandbox serves, up to the wake deadline) and reloads once anything but
// the gateway's own 503 comes back. Without JavaScript it refreshes itself.
std::string WakingHtml(const AnswerInfo& info) {
  return fmt::format(
      R"(<!doctype html>
<html><head><meta charset="utf-8"><title>Waking up…</title>
<noscript><meta http-equiv="refresh" content="{retry}"></noscript>
<style>{style}</style></head>
<body data-sandboxd-preview="waking">
<h1>Waking up…</h1>
<p>This sandbox was paused to save resources. It is starting again; this page reloads by itself
as soon as the app answers.</p>
<p class="muted" id="detail">{message}</p>
<p class="muted">sandbox <code>{id}</code></p>
<script>
(async () => {{
  const detail = document.getElementById('detail');
  for (;;) {{
    try {{
      const r = await fetch(location.href, {{ cache: 'no-store', credentials: 'include' }});
      const kind = r.headers.get('x-sandboxd-preview');
      if (r.status !== 503 || !kind) {{ location.reload(); return; }}
      try {{ const body = await r.json(); detail.textContent = body.error.message; }} catch (e) {{}}
    }} catch (e) {{
      detail.textContent = 'Connection lost; retrying…';
    }}
    await new Promise((done) => setTimeout(done, {retry_ms}));
  }}
}})();
</script>
</body></html>
)",
      fmt::arg("retry", info.retry_after.count()), fmt::arg("style", kStyle),
      fmt::arg("message", HtmlEscape(info.message)), fmt::arg("id", HtmlEscape(info.sandbox_id)),
      fmt::arg("retry_ms", std::chrono::milliseconds(info.retry_after).count()));
}

std::string GoneHtml(const AnswerInfo& info) {
  const std::string project = info.project_id.empty() ? "<project>" : info.project_id;
  return fmt::format(
      R"(<!doctype html>
<html><head><meta charset="utf-8"><title>Sandbox stopped</title><style>{style}</style></head>
<body data-sandboxd-preview="gone">
<h1>This sandbox was stopped</h1>
<p>{message}</p>
<p>Its preview URL no longer works. Start the project again from the dashboard (Wake), with
<code>sandboxctl wake {project}</code>, or with
<code>POST /api/projects/{project}/sandbox/wake</code>. The new sandbox gets a new preview URL.</p>
<p class="muted">sandbox <code>{id}</code></p>
</body></html>
)",
      fmt::arg("style", kStyle), fmt::arg("message", HtmlEscape(info.message)),
      fmt::arg("project", HtmlEscape(project)), fmt::arg("id", HtmlEscape(info.sandbox_id)));
}

std::string ErrorHtml(AnswerKind kind, const AnswerInfo& info) {
  const http::status status = AnswerStatus(kind);
  return fmt::format(
      R"(<!doctype html>
<html><head><meta charset="utf-8"><title>{code} {reason}</title><style>{style}</style></head>
<body data-sandboxd-preview="{kind}">
<h1>{code} {reason}</h1>
<p>{message}</p>
</body></html>
)",
      fmt::arg("code", static_cast<int>(status)),
      fmt::arg("reason", HtmlEscape(std::string(http::obsolete_reason(status)))),
      fmt::arg("style", kStyle), fmt::arg("kind", AnswerKindName(kind)),
      fmt::arg("message", HtmlEscape(info.message)));
}

}  // namespace

std::string_view AnswerKindName(AnswerKind k) {
  switch (k) {
    case AnswerKind::kWaking: return "waking";
    case AnswerKind::kDeadline: return "deadline";
    case AnswerKind::kWakeFailed: return "wake-failed";
    case AnswerKind::kShutdown: return "shutdown";
    case AnswerKind::kGone: return "gone";
    case AnswerKind::kNotFound: return "not-found";
    case AnswerKind::kBadHost: return "bad-host";
    case AnswerKind::kUnauthorized: return "unauthorized";
    case AnswerKind::kTooLarge: return "too-large";
    case AnswerKind::kHeaderTooLarge: return "header-too-large";
    case AnswerKind::kBadGateway: return "bad-gateway";
    case AnswerKind::kGatewayTimeout: return "gateway-timeout";
    case AnswerKind::kNotAllowed: return "not-allowed";
  }
  return "unknown";
}

http::status AnswerStatus(AnswerKind k) {
  switch (k) {
    case AnswerKind::kWaking:
    case AnswerKind::kDeadline:
    case AnswerKind::kWakeFailed:
    case AnswerKind::kShutdown: return http::status::service_unavailable;
    case AnswerKind::kGone: return http::status::gone;
    case AnswerKind::kNotFound: return http::status::not_found;
    case AnswerKind::kBadHost: return http::status::bad_request;
    case AnswerKind::kUnauthorized: return http::status::unauthorized;
    case AnswerKind::kTooLarge: return http::status::payload_too_large;
    case AnswerKind::kHeaderTooLarge: return http::status::request_header_fields_too_large;
    case AnswerKind::kBadGateway: return http::status::bad_gateway;
    case AnswerKind::kGatewayTimeout: return http::status::gateway_timeout;
    case AnswerKind::kNotAllowed: return http::status::method_not_allowed;
  }
  return http::status::internal_server_error;
}

http::response<http::string_body> MakeAnswer(AnswerKind kind, const AnswerInfo& info,
                                             unsigned version, bool html, bool close) {
  http::response<http::string_body> res{AnswerStatus(kind), version == 10 ? 10u : 11u};
  res.set(http::field::cache_control, "no-store");
  res.set(kPreviewAnswerHeader, AnswerKindName(kind));
  if (res.result() == http::status::service_unavailable && kind != AnswerKind::kShutdown) {
    res.set(http::field::retry_after, std::to_string(info.retry_after.count()));
  }
  if (kind == AnswerKind::kNotAllowed) res.set(http::field::allow, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  if (html) {
    res.set(http::field::content_type, "text/html; charset=utf-8");
    switch (kind) {
      case AnswerKind::kWaking:
      case AnswerKind::kDeadline:
      case AnswerKind::kWakeFailed: res.body() = WakingHtml(info); break;
      case AnswerKind::kGone: res.body() = GoneHtml(info); break;
      default: res.body() = ErrorHtml(kind, info);
    }
  } else {
    boost::json::object e;
    e["code"] = ErrorCode(kind);
    e["message"] = info.message;
    if (!info.sandbox_id.empty()) e["sandboxId"] = info.sandbox_id;
    res.set(http::field::content_type, "application/json");
    res.body() = boost::json::serialize(boost::json::object{{"error", std::move(e)}});
  }
  res.keep_alive(!close);
  res.prepare_payload();
  return res;
}

}  // namespace sbx::gateway
