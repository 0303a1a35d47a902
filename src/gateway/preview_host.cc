#include "gateway/preview_host.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace sbx::gateway {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// "name:8081" -> "name"; "name" -> "name". Empty when the port is not digits.
std::string_view HostName(std::string_view host) {
  const size_t colon = host.rfind(':');
  if (colon == std::string_view::npos) return host;
  std::string_view port = host.substr(colon + 1);
  if (port.empty() || !std::all_of(port.begin(), port.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return {};
  }
  return host.substr(0, colon);
}

}  // namespace

Result<PreviewDomain> ParsePreviewDomain(std::string_view text) {
  PreviewDomain d;
  std::string rest = Lower(text);
  for (std::string_view scheme : {"http", "https"}) {
    const std::string prefix = std::string(scheme) + "://";
    if (rest.starts_with(prefix)) {
      d.scheme = std::string(scheme);
      rest = rest.substr(prefix.size());
    }
  }
  if (rest.ends_with('/')) rest.pop_back();
  const auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("--preview-domain \"{}\": {}", text, why));
  };
  if (rest.find("://") != std::string::npos) return bad("use http:// or https:// or no scheme");
  if (rest.empty()) return bad("empty");
  if (rest.find('/') != std::string::npos) return bad("a domain has no path");
  const std::string_view name = HostName(rest);
  if (name.empty() || name.front() == '.' || name.back() == '.' ||
      !std::all_of(name.begin(), name.end(), IsHostChar)) {
    return bad("not a host name (optionally with :port)");
  }
  d.host = rest;
  return d;
}

Result<PreviewHost> ParsePreviewHost(std::string_view host_header, const PreviewDomain& domain) {
  if (host_header.empty()) return InvalidArgument("missing Host header");
  const std::string host = Lower(host_header);
  const std::string_view name = HostName(host);
  const std::string_view domain_name = HostName(domain.host);
  if (name.empty()) return InvalidArgument(fmt::format("malformed Host \"{}\"", host_header));
  if (name == domain_name) {
    return NotFound(fmt::format(
        "no sandbox in Host \"{}\": previews are at <port>-<sandboxId>.{}", host_header,
        domain.host));
  }
  if (name.size() <= domain_name.size() + 1 || !name.ends_with(domain_name) ||
      name[name.size() - domain_name.size() - 1] != '.') {
    return InvalidArgument(fmt::format("Host \"{}\" is not under the preview domain {}",
                                       host_header, domain.host));
  }
  const std::string_view label = name.substr(0, name.size() - domain_name.size() - 1);
  const size_t dash = label.find('-');
  const auto malformed = [&] {
    return InvalidArgument(fmt::format(
        "malformed preview Host \"{}\": expected <port>-<sandboxId>.{}", host_header, domain.host));
  };
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == label.size()) return malformed();
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(label.data(), label.data() + dash, port);
  if (ec != std::errc() || end != label.data() + dash || port < 1 || port > 65535) {
    return malformed();
  }
  const std::string_view id = label.substr(dash + 1);
  if (id.size() > 63 || !std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      })) {
    return malformed();
  }
  return PreviewHost{static_cast<uint16_t>(port), std::string(id)};
}

std::string PreviewUrl(const PreviewDomain& domain, uint16_t port, std::string_view sandbox_id) {
  return fmt::format("{}://{}-{}.{}/", domain.scheme, port, sandbox_id, domain.host);
}

}  // namespace sbx::gateway
