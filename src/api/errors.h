// ToHttp: the one mapping from Status to an HTTP error response.
#pragma once

#include "base/status.h"
#include "http/router.h"
#include "http/status_codes.h"

namespace sbx::api {

using http_server::HttpStatusFor;  // http/status_codes.h
// {"error":{"code","message"}}; kInternal shows the client only a request id
// (the full message is logged under that id).
// `request_id` names the failure in the log and in the response.
http_server::Response ToHttp(const http_server::Request& req, const Status& status,
                             std::string_view request_id = "-");

}  // namespace sbx::api
