#include "http/router.h"

#include <charconv>
#include <set>

#include <boost/json.hpp>
#include <boost/url/decode_view.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

namespace sbx::http_server {
namespace {

// The non-empty segments of `path`, viewing into it.
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsPlaceholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::Add(http::verb method, const std::string& pattern, Handler handler, Guard guard,
                 size_t max_body) {
  AddRoute({.method = method,
            .pattern = pattern,
            .handler = std::move(handler),
            .guard = std::move(guard),
            .max_body = max_body});
}

void Router::AddStream(http::verb method, const std::string& pattern, Guard guard,
                       StreamHandler handler,
                       std::function<bool(const RequestContext&)> when) {
  AddRoute({method, {}, pattern, nullptr, std::move(handler), std::move(guard), std::move(when)});
}

void Router::AddRoute(Route route) {
  for (std::string_view s : Split(route.pattern)) route.segments.emplace_back(s);
  // A deque never moves its elements (not even on push_front): ctx.route may
  // view a pattern for as long as the router lives. Routes with a `when` go
  // first, so Find tries them before a plain route of the same path,
  // whatever order they were added in.
  if (route.when) {
    routes_.push_front(std::move(route));
  } else {
    routes_.push_back(std::move(route));
  }
}

void Router::SetFallback(Handler handler, bool reads_body, Guard guard) {
  fallback_ = std::move(handler);
  fallback_reads_body_ = reads_body;
  fallback_guard_ = std::move(guard);
}

std::optional<uint64_t> ContentLengthOf(const Request& req) {
  if (!req.has_content_length()) return std::nullopt;
  const std::string_view text = req[http::field::content_length];
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

bool AnnouncesBody(const Request& req) {
  if (req.chunked()) return true;
  const auto length = ContentLengthOf(req);
  return length && *length > 0;
}

Router::Match Router::Find(http::verb method, RequestContext& ctx) const {
  const auto segs = Split(ctx.path);
  Match out;
  std::set<std::string_view> allowed;  // the path's methods, should none be this one
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      ok = IsPlaceholder(r.segments[i]) || r.segments[i] == segs[i];
    }
    if (!ok) continue;
    if (r.method != method && !(r.method == http::verb::get && method == http::verb::head)) {
      out.method_not_allowed = true;
      allowed.insert(http::to_string(r.method));
      if (r.method == http::verb::get) allowed.insert(http::to_string(http::verb::head));
      continue;
    }
    if (r.when && !r.when(ctx)) continue;
    for (size_t i = 0; i < segs.size(); ++i) {
      const std::string& p = r.segments[i];
      if (IsPlaceholder(p)) ctx.params[p.substr(1, p.size() - 2)] = std::string(segs[i]);
    }
    ctx.route = r.pattern;
    out.route = &r;
    out.method_not_allowed = false;
    return out;
  }
  if (out.method_not_allowed) out.allow = fmt::format("{}", fmt::join(allowed, ", "));
  return out;
}

bool ParseTarget(std::string_view target, std::string& path,
                 std::map<std::string, std::string>& query) {
  auto fill = [&](const boost::urls::url_view& url) {
    path = std::string(url.encoded_path().decode());
    if (path.empty()) path.push_back('/');
    for (auto param : url.params()) {
      query[std::string(param.key)] = std::string(param.value);
    }
    return true;
  };
  if (auto origin = boost::urls::parse_origin_form(target)) return fill(*origin);
  // The absolute form, which a server must accept too; the API answers on
  // one host, so only its path and query matter.
  auto absolute = ParseAbsoluteTarget(target);
  return absolute && fill(*absolute);
}

std::optional<boost::urls::url_view> ParseAbsoluteTarget(std::string_view target) {
  auto uri = boost::urls::parse_absolute_uri(target);
  if (!uri || !uri->has_authority() || uri->encoded_host().empty() ||
      (uri->scheme() != "http" && uri->scheme() != "https")) {
    return std::nullopt;
  }
  return *uri;
}

Response JsonResponse(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response ErrorResponse(const Request& req, http::status status, std::string_view code,
                       std::string_view message) {
  boost::json::object err;
  err["code"] = code;
  err["message"] = message;
  boost::json::object o;
  o["error"] = std::move(err);
  return JsonResponse(req, status, boost::json::serialize(o));
}

}  // namespace sbx::http_server
