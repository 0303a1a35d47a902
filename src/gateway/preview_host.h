// Preview hosts: the gateway's addresses, "<port>-<sandboxId>.<preview domain>"
// (E2B's form), e.g. "40000-sbxk3….localhost:8081". ParsePreviewHost reads
// the Host header of a request; the API renders the same form (api/wire.h).
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sbx::gateway {

// The configured preview domain (--preview-domain): "localhost:8081",
// "preview.example.com" or "https://preview.example.com" when a TLS proxy
// fronts the gateway. `host` keeps a port if one was given.
struct PreviewDomain {
  std::string scheme = "http";  // of the preview URLs (and X-Forwarded-Proto)
  std::string host;             // lowercase, e.g. "localhost:8081"
};

// Parses --preview-domain. kInvalidArgument for an empty host, a path, a
// scheme other than http/https, or characters a host name cannot have.
Result<PreviewDomain> ParsePreviewDomain(std::string_view text);

struct PreviewHost {
  uint16_t port = 0;       // the sandbox's port named by the host
  std::string sandbox_id;  // lowercase
};

// Reads a Host header. Ports are ignored when matching the domain (the
// listener decides which port is served). Errors: kNotFound for the bare
// domain (no sandbox named), kInvalidArgument for anything else that is not
// "<port>-<id>." followed by the domain (missing, not under the domain, more
// than one label, port outside 1..65535, id not [a-z0-9]).
Result<PreviewHost> ParsePreviewHost(std::string_view host_header, const PreviewDomain& domain);

// "http://40000-sbxk3….localhost:8081/".
std::string PreviewUrl(const PreviewDomain& domain, uint16_t port, std::string_view sandbox_id);

}  // namespace sbx::gateway
