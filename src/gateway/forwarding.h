// How the gateway rewrites messages it forwards (RFC 9110 §7.6): hop-by-hop
// headers (Connection, Keep-Alive, TE, Trailer, Upgrade, Proxy-*, and every
// header the Connection header names) are dropped in both directions, while
// the body's framing (Content-Length, Transfer-Encoding) is kept or redone
// by the serializer. Requests gain X-Forwarded-For/-Proto/-Host and lose the
// gateway's own credentials; a WebSocket upgrade keeps `Connection: Upgrade`
// and `Upgrade`. Pure functions on Beast messages; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/net.h"

namespace sbx::gateway {

// The header and cookie that carry a per-sandbox traffic token.
inline constexpr char kTrafficTokenHeader[] = "e2b-traffic-access-token";
inline constexpr char kTrafficTokenCookie[] = "sandboxd_preview_token";
// Marks the gateway's own answers (pages.h); an app's response loses it.
inline constexpr char kPreviewAnswerHeader[] = "X-Sandboxd-Preview";

// True when the request asks to switch protocols (a WebSocket handshake):
// its Connection header lists "upgrade" and it has an Upgrade header.
bool IsUpgradeRequest(const http::request_header<>& req);
// True for a browser page load: GET or HEAD whose Accept names text/html.
bool WantsHtml(const http::request_header<>& req);

struct ForwardedFor {
  std::string client_address;  // appended to X-Forwarded-For
  std::string scheme;          // X-Forwarded-Proto: "http", or "https" behind TLS
};

// Rewrites a client's request for the sandbox: HTTP/1.1, keep-alive (or
// `Connection: Upgrade` for an upgrade), hop-by-hop headers and Expect
// dropped (the gateway answers 100-continue itself), X-Forwarded-For
// appended, X-Forwarded-Proto and X-Forwarded-Host (the original Host) set,
// the traffic token header and cookie removed.
void PrepareUpstreamRequest(http::request<http::buffer_body>& req, const ForwardedFor& fwd,
                            bool upgrade);

struct ClientFraming {
  unsigned version = 11;       // the client's HTTP version (10 or 11)
  bool keep_alive = true;      // whether the client connection stays open
  bool upgrade = false;        // a 101 answering a WebSocket handshake
  bool body_until_eof = false;  // the sandbox delimits the body by closing
};

// Joins a request's Cookie headers into one ("; "), as RFC 6265 §5.4 sends
// them, so that every cookie is seen by the token check and the token
// removal; one or none is left as it is.
void MergeCookieHeaders(http::request_header<>& req);

// An absolute-form request target ("http://8080-id.domain/a?b") becomes the
// origin form ("/a?b") and its authority the Host (RFC 9112 §3.2.2: the
// target's host wins over the Host header), so the sandbox sees what any
// other client sends. False for a target that is neither (nor "*"): 400.
bool ToOriginForm(http::request_header<>& req);

// Rewrites the sandbox's response for the client: hop-by-hop headers and
// X-Sandboxd-Preview dropped, the client's version, its keep-alive, and framing the client can
// read (a close-delimited body is re-chunked for HTTP/1.1; HTTP/1.0 gets no
// chunking and a close).
void PrepareClientResponse(http::response<http::buffer_body>& res, const ClientFraming& framing);

// The Cookie header without cookie `name` ("" when nothing is left).
std::string WithoutCookie(std::string_view header, std::string_view name);

// Query parameter `name` of a request target ("/a?x=1&name=v"), and the
// target without it ("/a?x=1"); nullopt when absent. Values are taken as
// they are (tokens need no decoding).
struct TakenParam {
  std::string value;
  std::string target;
};
std::optional<TakenParam> TakeQueryParam(std::string_view target, std::string_view name);

}  // namespace sbx::gateway
