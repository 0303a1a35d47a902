#include "gateway/forwarding.h"

#include <algorithm>
#include <vector>

#include <boost/beast/http/rfc7230.hpp>

#include "http/credentials.h"
#include "http/router.h"

namespace sbx::gateway {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return beast::iequals(a, b);
}

// Tokens of a comma-separated header (Connection), lowercased.
std::vector<std::string> Tokens(std::string_view value) {
  std::vector<std::string> out;
  for (auto token : http::token_list(value)) {
    std::string t(token.data(), token.size());
    std::transform(t.begin(), t.end(), t.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.push_back(std::move(t));
  }
  return out;
}

// Drops the hop-by-hop headers of RFC 9110 §7.6.1 and those the Connection
// header names. Transfer-Encoding stays: it is the body's framing, which the
// serializer reproduces; so does Host, which a request must carry.
template <bool kIsRequest>
void DropHopByHop(http::header<kIsRequest>& h) {
  for (const std::string& named : Tokens(h[http::field::connection])) {
    if (!IEquals(named, "transfer-encoding") && !IEquals(named, "content-length") &&
        !IEquals(named, "host")) {
      h.erase(named);
    }
  }
  for (http::field f : {http::field::connection, http::field::keep_alive,
                        http::field::proxy_connection, http::field::proxy_authenticate,
                        http::field::proxy_authorization, http::field::te, http::field::trailer,
                        http::field::upgrade}) {
    h.erase(f);
  }
}

}  // namespace

bool IsUpgradeRequest(const http::request_header<>& req) {
  if (req[http::field::upgrade].empty()) return false;
  const auto tokens = Tokens(req[http::field::connection]);
  return std::find(tokens.begin(), tokens.end(), "upgrade") != tokens.end();
}

bool WantsHtml(const http::request_header<>& req) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) return false;
  std::string accept(req[http::field::accept]);
  std::transform(accept.begin(), accept.end(), accept.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return accept.find("text/html") != std::string::npos;
}

void PrepareUpstreamRequest(http::request<http::buffer_body>& req, const ForwardedFor& fwd,
                            bool upgrade) {
  const std::string upgrade_to(req[http::field::upgrade]);
  const std::string host(req[http::field::host]);
  DropHopByHop(req);
  req.erase(http::field::expect);
  req.erase(kTrafficTokenHeader);
  if (auto cookie = req[http::field::cookie]; !http_server::CookieValue(cookie, kTrafficTokenCookie).empty()) {
    std::string rest = WithoutCookie(cookie, kTrafficTokenCookie);
    if (rest.empty()) {
      req.erase(http::field::cookie);
    } else {
      req.set(http::field::cookie, rest);
    }
  }
  req.version(11);
  if (upgrade) {
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::upgrade, upgrade_to);
  }
  const std::string_view prior = req["X-Forwarded-For"];
  req.set("X-Forwarded-For",
          prior.empty() ? fwd.client_address : std::string(prior) + ", " + fwd.client_address);
  req.set("X-Forwarded-Proto", fwd.scheme);
  if (!host.empty()) req.set("X-Forwarded-Host", host);
}

bool ToOriginForm(http::request_header<>& req) {
  const std::string_view target = req.target();
  if (target.starts_with('/') || (target == "*" && req.method() == http::verb::options)) {
    return true;
  }
  auto uri = http_server::ParseAbsoluteTarget(target);
  if (!uri) return false;
  const std::string_view path_and_query = uri->encoded_target();
  const std::string origin = path_and_query.starts_with('/') ? std::string(path_and_query)
                                                             : "/" + std::string(path_and_query);
  req.set(http::field::host, uri->encoded_host_and_port());
  req.target(origin);
  return true;
}

void MergeCookieHeaders(http::request_header<>& req) {
  if (req.count(http::field::cookie) < 2) return;
  std::string merged;
  for (auto it = req.find(http::field::cookie);
       it != req.end() && it->name() == http::field::cookie; ++it) {
    if (it->value().empty()) continue;
    if (!merged.empty()) merged += "; ";
    merged.append(it->value().data(), it->value().size());
  }
  req.set(http::field::cookie, merged);
}

void PrepareClientResponse(http::response<http::buffer_body>& res, const ClientFraming& framing) {
  const std::string upgrade_to(res[http::field::upgrade]);
  DropHopByHop(res);
  // The gateway's own answers are the ones that say so (api.md §12.1).
  res.erase(kPreviewAnswerHeader);
  res.version(framing.version == 10 ? 10 : 11);
  if (framing.upgrade) {
    res.set(http::field::connection, "Upgrade");
    res.set(http::field::upgrade, upgrade_to);
    return;
  }
  if (framing.version == 10) {
    // HTTP/1.0 has no chunking: the body then ends when the connection does.
    if (res.chunked()) res.chunked(false);
    res.keep_alive(framing.keep_alive && res.has_content_length());
    return;
  }
  if (framing.body_until_eof) res.chunked(true);
  res.keep_alive(framing.keep_alive);
}

std::string WithoutCookie(std::string_view header, std::string_view name) {
  std::string out;
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const bool named = part.size() >= name.size() && part.substr(0, name.size()) == name &&
                       (part.size() == name.size() || part[name.size()] == '=');
    if (!named && !part.empty()) {
      if (!out.empty()) out += "; ";
      out += part;
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return out;
}

std::optional<TakenParam> TakeQueryParam(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::optional<TakenParam> out;
  std::string rest;
  std::string_view query = target.substr(q + 1);
  while (true) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    if (!out && part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=') {
      out = TakenParam{std::string(part.substr(name.size() + 1)), ""};
    } else if (!part.empty()) {
      if (!rest.empty()) rest += '&';
      rest += part;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  if (!out) return std::nullopt;
  out->target = std::string(target.substr(0, q));
  if (!rest.empty()) out->target += "?" + rest;
  return out;
}

}  // namespace sbx::gateway
