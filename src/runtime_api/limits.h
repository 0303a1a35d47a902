// What the runtime API accepts: the size and shape limits of its input
// (bodies, template ids, metadata) and which parts of E2B's create body the
// local runtime can honour. Everything else is refused with a 400 that names
// the field, never ignored. Used by RuntimeServer and Sandboxes. Pure
// functions; thread-safe; no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "base/status.h"
#include "core/sandbox.h"
#include "core/validation.h"
#include "e2b/rest.h"

namespace sbx::runtime_api {

// Request bodies of API routes (preview traffic has the server's own limit).
inline constexpr size_t kMaxApiBodyBytes = 1 << 20;
using core::kMaxTemplateIdBytes;
inline constexpr size_t kMaxSandboxIdBytes = 128;

// A templateID as E2B names them ("hello", "team/hello:v2"): 1 to 128
// characters of [A-Za-z0-9._-/:]. kInvalidArgument otherwise.
Status ValidateTemplateId(std::string_view template_id);

// Sandbox metadata from an E2B client (create bodies, list filters): the one
// metadata validation, core::ValidateMetadata, with E2B's text keys
// (core::MetadataKeys::kText). kInvalidArgument naming the entry otherwise.
Status ValidateE2bMetadata(const core::Metadata& metadata);

// OK when the local runtime can honour every field of `request`;
// kInvalidArgument naming the first field it cannot: non-empty envVars or
// volumeMounts, mcp, iam tokens, autoPauseMemory false (local pauses always
// keep memory), autoResume without autoPause, and `network` beyond "no
// internet" (allowPublicTraffic false, allowOut, denyOut other than exactly
// ["0.0.0.0/0"], maskRequestHost, egressProxy, rules, httpsPorts).
// `secure` is accepted either way: there is no envd to secure.
Status CheckCreateSupported(const e2b::NewSandbox& request);

// Internet access as the client asked for it: allow_internet_access when
// given, false for network.denyOut ["0.0.0.0/0"] (E2B's equivalent), else
// nullopt (not said). REQUIRES: CheckCreateSupported(request).ok().
std::optional<bool> RequestedInternetAccess(const e2b::NewSandbox& request);

}  // namespace sbx::runtime_api
