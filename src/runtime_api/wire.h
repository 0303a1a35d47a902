// The server side of the runtime's E2B-compatible API
// (shared/reference/e2b-api.md §1-§4) that e2b/rest.h leaves to it: HTTP
// answers in E2B's error shape, SandboxRecord → e2b REST objects, request
// bodies, path ids, webhook registrations as JSON, list cursors, metadata and
// state queries and preview hosts. Pure functions; thread-safe; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "base/status.h"
#include "e2b/rest.h"
#include "http/status_codes.h"
#include "http/router.h"
#include "runtime_api/types.h"

namespace sbx::runtime_api {

// envd version every sandbox reports; SDKs require a version >= 0.1.0.
inline constexpr char kEnvdVersion[] = "0.2.0";

// The E2B error body (e2b::ErrorBody) {"code":<status>,"message":…} with that status.
http_server::Response E2bError(const http_server::Request& req, http::status status,
                               std::string_view message);
// 400 kInvalidArgument, 401 kUnauthenticated, 403 kPermissionDenied,
// 404 kNotFound, 409 kAlreadyExists/kFailedPrecondition, 429 kResourceExhausted,
// 503 kUnavailable, 504 kDeadlineExceeded, else 500.
using http_server::HttpStatusFor;  // http/status_codes.h
// E2bError with HttpStatusFor(status.code()) and the status message.
http_server::Response ErrorFor(const http_server::Request& req, const Status& status);
http_server::Response JsonBody(const http_server::Request& req, http::status status,
                               const boost::json::value& body);
http_server::Response Empty(const http_server::Request& req, http::status status);

// A path sandbox id: `^[a-z0-9]+$` of at most 128 characters, or the legacy "<id>-<clientID>" form whose
// suffix is dropped. kInvalidArgument "Invalid sandbox ID" otherwise.
Result<std::string> NormalizeSandboxId(std::string_view path_id);

// The request body as a JSON object. An empty body is {} unless `required`
// ("Request body is required"); malformed JSON or a non-object is
// kInvalidArgument.
Result<boost::json::object> ParseJsonObject(std::string_view body, bool required);

// The request body read by `parse`, one of e2b/rest.h's Parse… codecs, from
// ParseJsonObject(body, required). kInvalidArgument as either gives it.
template <typename ParseFn>
auto ParseBody(std::string_view body, bool required, ParseFn parse)
    -> decltype(parse(boost::json::value())) {
  SBX_ASSIGN_OR_RETURN(boost::json::object o, ParseJsonObject(body, required));
  return parse(boost::json::value(std::move(o)));
}

// The e2b REST objects of a record (Sandbox, ListedSandbox, SandboxDetail),
// with clientID kLegacyClientId and envdVersion kEnvdVersion. A paused
// sandbox's endAt is its pause time, as E2B answers from its snapshot.
// `domain` is the configured sandbox domain.
e2b::Sandbox ToSandbox(const SandboxRecord& s, std::string_view domain);
e2b::ListedSandbox ToListedSandbox(const SandboxRecord& s);
e2b::SandboxDetail ToSandboxDetail(const SandboxRecord& s, std::string_view domain);

// WebhookDetail: id, teamId, name, createdAt, url, enabled, events. Never the secret.
boost::json::object WebhookJson(const Webhook& w, std::string_view team_id);

// Opaque base64url text of the cursor ("X-Next-Token").
std::string EncodeCursor(const ListCursor& cursor);
// kInvalidArgument "Invalid next token" for anything EncodeCursor did not make.
Result<ListCursor> DecodeCursor(std::string_view token);

// The `metadata` query parameter: "k=v&k2=v2" with each key and value
// percent-encoded (the parameter itself already decoded once). kInvalidArgument
// for a pair without '=' or an empty key or bad encoding.
Result<core::Metadata> ParseMetadataQuery(std::string_view text);

// The `state` query parameter: comma-separated running/paused; absent or empty
// means both. kInvalidArgument for other words.
Result<std::set<SandboxState>> ParseStateQuery(const std::optional<std::string>& text);

// A preview host "<port>-<sandboxId>.<domain>[:<port>]" (case-insensitive).
struct PreviewHost {
  uint16_t port = 0;
  std::string sandbox_id;

  friend bool operator==(const PreviewHost&, const PreviewHost&) = default;
};
// nullopt when `host` is not a preview host of `domain` (e.g. the API host).
std::optional<PreviewHost> ParsePreviewHost(std::string_view host, std::string_view domain);

// Base64url without padding, and back (nullopt for invalid text).
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace sbx::runtime_api
