// Request targets and routing: http_server::ParseTarget and Router::Find over
// a table shaped like the API's (literals, placeholders, several methods per
// path). Input: the first byte picks the method, the rest is the target.
// Invariants: a match fills every placeholder of its pattern with a non-empty
// segment; a parsed path starts with '/'.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/router.h"

namespace {

namespace hs = sbx::http_server;
namespace http = boost::beast::http;

const hs::Router& TheRouter() {
  static const hs::Router* router = [] {
    auto* r = new hs::Router();
    hs::Handler h = [](hs::RequestContext& ctx) -> sbx::net::awaitable<hs::Response> {
      co_return hs::JsonResponse(ctx.request, http::status::ok, "{}");
    };
    r->Add(http::verb::get, "/health", h);
    r->Add(http::verb::get, "/sandboxes", h);
    r->Add(http::verb::post, "/sandboxes", h);
    r->Add(http::verb::get, "/sandboxes/{sandboxID}", h);
    r->Add(http::verb::delete_, "/sandboxes/{sandboxID}", h);
    r->Add(http::verb::post, "/sandboxes/{sandboxID}/pause", h);
    r->Add(http::verb::post, "/sandboxes/{sandboxID}/timeout", h);
    r->Add(http::verb::get, "/api/projects/{projectId}/sandbox", h);
    r->Add(http::verb::put, "/api/projects/{projectId}/sandbox/{sandboxId}/settings", h);
    r->Add(http::verb::get, "/api/projects/{projectId}/events", h);
    return r;
  }();
  return *router;
}

constexpr http::verb kMethods[] = {http::verb::get, http::verb::post, http::verb::put,
                                   http::verb::delete_, http::verb::head, http::verb::patch};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const http::verb method = kMethods[data[0] % std::size(kMethods)];
  const std::string_view target(reinterpret_cast<const char*>(data) + 1, size - 1);

  hs::Request req{method, target, 11};
  hs::RequestContext ctx{req, {}, {}, {}, {}};
  if (!hs::ParseTarget(target, ctx.path, ctx.query)) return 0;
  const hs::Router::Match match = TheRouter().Find(method, ctx);
  if (match.route) {
    FUZZ_CHECK(match.route->method == method ||
               (method == http::verb::head && match.route->method == http::verb::get));
    FUZZ_CHECK(ctx.route == match.route->pattern);
    for (const std::string& seg : match.route->segments) {
      if (seg.size() > 2 && seg.front() == '{') {
        auto it = ctx.params.find(seg.substr(1, seg.size() - 2));
        FUZZ_CHECK(it != ctx.params.end());
        FUZZ_CHECK(!it->second.empty());
      }
    }
  }
  return 0;
}
