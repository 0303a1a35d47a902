// Router maps (method, path) to a handler. Patterns are literal segments and
// `{name}` placeholders matching one non-empty segment: "/api/projects/{projectId}/sandbox".
// Handlers are coroutines returning a complete response; streaming handlers
// (SSE) get the connection and write themselves. A route may have a guard
// (authentication, id checks, limits) that the server runs once the request
// head has arrived and before it reads the body, so a refused request costs
// no body. Build the table before serving; Find() is then thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/url/url_view.hpp>

#include "base/net.h"

namespace sbx::http_server {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// A response body writer for streaming handlers. Write() completes once the
// bytes are handed to the socket; it returns false once the client is gone.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  virtual net::awaitable<bool> Write(std::string data) = 0;
  // Writes `data` as one chunk at once, if the connection takes it without
  // waiting: no allocation, no timer, one send (a fan-out's fast path). True:
  // written, or its unsent tail kept (backlog()) for Flush(), which must come
  // before any other write. False: nothing was written (the socket is full,
  // the stream closed, or a backlog is waiting); use Write. Not while a Write
  // or Flush is in progress. May run on another thread while the stream's
  // own executor waits for it (a parallel fan-out).
  virtual bool TryWrite(std::string_view data) = 0;
  virtual bool backlog() const = 0;
  // Sends the backlog, under the write deadline; false when the client is gone.
  virtual net::awaitable<bool> Flush() = 0;
  // Completes when the peer closes the connection (or errors).
  virtual net::awaitable<void> WaitClosed() = 0;
  virtual void Close() = 0;
};

struct RequestContext {
  const Request& request;
  std::map<std::string, std::string> params;  // path placeholders
  std::string path;                            // decoded path without query
  std::map<std::string, std::string> query;    // decoded query parameters
  // Matched pattern, for metrics: views the router's table or a literal.
  std::string_view route;
  // Whatever a guard must keep until the request is done (a stream route's
  // reserved place): moved along with the request and released when it
  // ends, however it ends, unless a handler releases it sooner.
  std::shared_ptr<void> hold;
};

using Handler = std::function<net::awaitable<Response>(RequestContext&)>;
// Writes the response head and body itself through `writer`; `head` carries
// status and headers already set (chunked SSE streams).
using StreamHandler =
    std::function<net::awaitable<void>(RequestContext&, StreamWriter& writer)>;
// Decides from the request head (the body is not read yet: ctx.request has
// none) whether the request may go on; returning a response refuses it
// (401, 403, 404, 503 …) and it is sent instead, and the connection closes.
using Guard = std::function<net::awaitable<std::optional<Response>>(RequestContext&)>;

struct Route {
  http::verb method;
  std::vector<std::string> segments;
  std::string pattern;
  Handler handler;
  StreamHandler stream;
  Guard guard;  // may be empty
  // A stream route only for the requests this accepts (empty: all); the
  // others go on to the next route with the same pattern.
  std::function<bool(const RequestContext&)> when;
  // A body limit below the server's (0: the server's), for routes that take
  // small bodies from anyone before they can tell who sent them (webhooks,
  // sign-in): larger ones get 413 before they are read.
  size_t max_body = 0;
};

class Router {
 public:
  void Add(http::verb method, const std::string& pattern, Handler handler, Guard guard = nullptr,
           size_t max_body = 0);
  // With `when`, the stream serves only the requests it accepts (say, a
  // query parameter asking to follow); the rest match the routes added
  // after it for the same pattern.
  void AddStream(http::verb method, const std::string& pattern, Guard guard,
                 StreamHandler handler,
                 std::function<bool(const RequestContext&)> when = nullptr);
  // Handler for requests no route matches (static files); default 404.
  // Without `reads_body` the handler answers from the head alone: a body
  // sent with such a request is never read (the connection closes after the
  // answer), as for a 405. A `guard` decides from the head, as a route's.
  void SetFallback(Handler handler, bool reads_body = true, Guard guard = nullptr);

  struct Match {
    const Route* route = nullptr;  // null: fallback
    bool method_not_allowed = false;
    std::string allow;  // method_not_allowed: the path's methods, for Allow ("GET, HEAD")
  };
  // Fills ctx.params/route on a match.
  Match Find(http::verb method, RequestContext& ctx) const;
  const Handler& fallback() const { return fallback_; }
  bool fallback_reads_body() const { return fallback_reads_body_; }
  const Guard& fallback_guard() const { return fallback_guard_; }

 private:
  void AddRoute(Route route);

  std::deque<Route> routes_;
  Handler fallback_;
  bool fallback_reads_body_ = false;  // the default 404 reads none
  Guard fallback_guard_;
};

// A request target in absolute form (RFC 9112 §3.2.2): an http or https URL
// with a host ("http://h:8080/a?b"); nullopt for anything else. The view
// points into `target`.
std::optional<boost::urls::url_view> ParseAbsoluteTarget(std::string_view target);

// Splits "/a/b?x=1&y=%20" (or the path and query of an absolute-form target)
// into path and decoded query. Returns false for a malformed target.
bool ParseTarget(std::string_view target, std::string& path,
                 std::map<std::string, std::string>& query);

// What a request head announces of its body, before it is read: whether
// there is one (chunked, or a Content-Length above 0), and a Content-Length
// when it has one (Beast has checked its syntax).
bool AnnouncesBody(const Request& req);
std::optional<uint64_t> ContentLengthOf(const Request& req);

// Whether a parsed request head names a body framing that cannot be
// delimited: a Transfer-Encoding whose last coding is not chunked
// (RFC 9112 §6.3). Beast would read it as no body, and the body as the next
// request; such a request is refused and its connection closed.
template <class Parser>
bool HasUndelimitedBody(const Parser& parser) {
  return parser.get().count(http::field::transfer_encoding) > 0 && !parser.chunked();
}

// {"error":{"code":…,"message":…}} with the status.
Response ErrorResponse(const Request& req, http::status status, std::string_view code,
                       std::string_view message);
Response JsonResponse(const Request& req, http::status status, std::string body);

}  // namespace sbx::http_server
