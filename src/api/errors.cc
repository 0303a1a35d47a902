#include "api/errors.h"

#include <fmt/format.h>

#include "base/log.h"

namespace sbx::api {


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
