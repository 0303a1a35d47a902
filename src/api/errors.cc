#include "api/errors.h"

#include <fmt/format.h>

#include "base/log.h"

namespace sbx::api {

http::status HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return http::status::ok;
    case StatusCode::kInvalidArgument: return http::status::bad_request;
    case StatusCode::kUnauthenticated: return http::status::unauthorized;
    case StatusCode::kPermissionDenied: return http::status::forbidden;
    case StatusCode::kNotFound: return http::status::not_found;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: return http::status::conflict;
    case StatusCode::kResourceExhausted: return http::status::too_many_requests;
    case StatusCode::kUnavailable: return http::status::service_unavailable;
    case StatusCode::kDeadlineExceeded: return http::status::gateway_timeout;
    case StatusCode::kCancelled:
    case StatusCode::kInternal: return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

http_server::Response ToHttp(const http_server::Request& req, const Status& status,
                             std::string_view id) {
  std::string message = status.message();
  if (status.code() == StatusCode::kInternal || status.code() == StatusCode::kCancelled) {
    SBX_LOG_ERROR("request {} {} failed (id {}): {}", std::string(req.method_string()),
                  std::string(req.target()), id, status.ToString());
    message = fmt::format("internal error (request id {})", id);
  }
  return http_server::ErrorResponse(req, HttpStatusFor(status.code()),
                                    StatusCodeName(status.code()), message);
}

}  // namespace sbx::api
