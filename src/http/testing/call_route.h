// CallRoute: one request through a Router the way the Server's Connection
// takes it — target parsing, route lookup, the route's guard on the head, then
// the handler (or a 405/the fallback) — without a socket, for handler tests.
// Test-only; header-only.
#pragma once

#include <fmt/format.h>

#include "http/router.h"

namespace sbx::http_server::testing {

inline net::awaitable<Response> CallRoute(const Router& router, const Request& req) {
  RequestContext ctx{req, {}, {}, {}, {}};
  if (!ParseTarget(req.target(), ctx.path, ctx.query)) {
    co_return ErrorResponse(req, http::status::bad_request, "invalid_argument",
                            "malformed request target");
  }
  const Router::Match match = router.Find(req.method(), ctx);
  if (match.route) {
    if (match.route->guard) {
      if (auto refusal = co_await match.route->guard(ctx)) co_return std::move(*refusal);
    }
    if (match.route->handler) co_return co_await match.route->handler(ctx);
    co_return ErrorResponse(req, http::status::not_implemented, "stream",
                            "a streaming route: test it over a connection");
  }
  if (match.method_not_allowed) {
    co_return ErrorResponse(req, http::status::method_not_allowed, "method_not_allowed",
                            fmt::format("{} is not allowed", std::string(req.method_string())));
  }
  if (router.fallback_guard()) {
    if (auto refusal = co_await router.fallback_guard()(ctx)) co_return std::move(*refusal);
  }
  if (router.fallback()) co_return co_await router.fallback()(ctx);
  co_return ErrorResponse(req, http::status::not_found, "not_found", "no route");
}

}  // namespace sbx::http_server::testing
