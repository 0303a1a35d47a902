// The gateway's own answers, as opposed to the sandbox's: JSON errors in the
// API's shape ({"error":{"code","message"}}) for programs, small HTML pages
// for browsers (WantsHtml). Every one carries `Cache-Control: no-store` and
// `X-Sandboxd-Preview: <kind>` so clients can tell them from the app's
// answers. The waking page fetches its own URL (a request the gateway holds
// until the sandbox serves) and reloads once the app answers. Pure.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/net.h"

namespace sbx::gateway {

enum class AnswerKind {
  kWaking,        // 503 + Retry-After: the sandbox is waking (the browser page)
  kDeadline,      // 503 + Retry-After: still not RUNNING at the deadline
  kWakeFailed,    // 503 + Retry-After: the resume failed
  kShutdown,      // 503: the gateway is stopping
  kGone,          // 410: KILLED (or replaced); says how to start it again
  kNotFound,      // 404: unknown sandbox, or a port it does not serve
  kBadHost,       // 400: malformed Host
  kUnauthorized,  // 401: --preview-auth token and no valid token
  kTooLarge,      // 413: request body over the limit
  kHeaderTooLarge,  // 431
  kBadGateway,    // 502: the sandbox refused or broke the connection
  kGatewayTimeout,  // 504: the sandbox did not answer in time
  kNotAllowed,    // 405: CONNECT and the like
};

struct AnswerInfo {
  std::string sandbox_id;
  std::string project_id;
  std::string message;                       // what happened, for people
  std::chrono::seconds retry_after{2};       // 503s
};

std::string_view AnswerKindName(AnswerKind k);  // "waking", "deadline", …, the header value
http::status AnswerStatus(AnswerKind k);

// The answer to `req`: HTML when `html`, else JSON. Always closes the
// connection when `close` (a request body was left unread).
http::response<http::string_body> MakeAnswer(AnswerKind kind, const AnswerInfo& info,
                                             unsigned version, bool html, bool close);

}  // namespace sbx::gateway
