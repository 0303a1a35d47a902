#include "http/static_files.h"

#include <fstream>
#include <sstream>

namespace sbx::http_server {
namespace fs = std::filesystem;

namespace {

std::string_view ContentType(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

StaticFiles::StaticFiles(fs::path root) {
  std::error_code ec;
  root_ = fs::weakly_canonical(root, ec);
  if (ec) root_ = root;
}

net::awaitable<Response> StaticFiles::Serve(RequestContext& ctx) {
  const auto& req = ctx.request;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    co_return ErrorResponse(req, http::status::not_found, "not_found",
                                         "no route for " + ctx.path);
  }
  if (ctx.path.rfind("/api/", 0) == 0 || ctx.path == "/api") {
    co_return ErrorResponse(req, http::status::not_found, "not_found",
                                         "no route for " + ctx.path);
  }
  std::string rel = ctx.path == "/" ? "index.html" : ctx.path.substr(1);
  std::error_code ec;
  fs::path target = fs::weakly_canonical(root_ / rel, ec);
  const std::string root_str = root_.string() + "/";
  const bool inside = !ec && target.string().rfind(root_str, 0) == 0;
  if (!inside) {
    co_return ErrorResponse(req, http::status::not_found, "not_found",
                                         "no such file");
  }
  bool is_index = false;
  if (!fs::is_regular_file(target, ec)) {
    // Client-side routes fall back to the app; missing assets stay 404.
    if (target.has_extension()) {
      co_return ErrorResponse(req, http::status::not_found, "not_found",
                                           "no such file");
    }
    target = root_ / "index.html";
    is_index = true;
  }
  std::ifstream in(target, std::ios::binary);
  if (!in) {
    co_return ErrorResponse(
        req, http::status::not_found, "not_found",
        "dashboard not built: run `make build` (looked in " + root_.string() + ")");
  }
  std::ostringstream body;
  body << in.rdbuf();
  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, ContentType(target));
  is_index = is_index || target.filename() == "index.html";
  res.set(http::field::cache_control,
          is_index ? "no-cache" : "public, max-age=31536000, immutable");
  res.set("X-Content-Type-Options", "nosniff");
  // The dashboard acts with the operator's session: no other page (a sandbox's
  // preview on a sibling origin included) may frame it and steer its clicks.
  res.set("Content-Security-Policy", "frame-ancestors 'none'");
  res.set("X-Frame-Options", "DENY");
  res.keep_alive(req.keep_alive());
  res.body() = body.str();
  res.prepare_payload();
  co_return res;
}

}  // namespace sbx::http_server
