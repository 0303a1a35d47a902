// ToHttp: the one mapping from Status to an HTTP error response.
#pragma once

#include "base/status.h"
#include "http/router.h"

namespace sbx::api {

http::status HttpStatusFor(StatusCode code);
// {"error":{"code","message"}}; kInternal shows the client only a request id
// (the full message is logged under that id).
// `request_id` names the failure in the log and in the response.
http_server::Response ToHttp(const http_server::Request& req, const Status& status,
                             std::string_view request_id = "-");

}  // namespace sbx::api
