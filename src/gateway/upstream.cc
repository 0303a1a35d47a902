#include "gateway/upstream.h"

#include <boost/url/parse.hpp>

namespace sbx::gateway {

std::optional<UrlHostPort> ParseUrlHostPort(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::nullopt;
  UrlHostPort out;
  out.scheme = std::string(parsed->scheme());
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  out.host = std::string(parsed->encoded_host());
  if (out.host.empty()) return std::nullopt;
  if (out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (parsed->has_port()) {
    const auto port = parsed->port_number();
    if (port == 0) return std::nullopt;
    out.port = port;
  } else {
    out.port = out.scheme == "https" ? 443 : 80;
  }
  return out;
}

}  // namespace sbx::gateway
