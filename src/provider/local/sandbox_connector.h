// SandboxConnector is how code outside the local runtime reaches a local
// sandbox's port: each sandbox serves on its template's port inside its own
// network namespace, so a caller asks for a socket made in that namespace and
// connects it to 127.0.0.1:<port>. LocalProvider implements it; the runtime's
// preview proxy and the preview gateway use it. Thread-safe; calls block
// briefly (a thread enters the namespace), so keep them off hot I/O threads
// where possible.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace sbx::provider::local {

// A local sandbox's address as the provider reports it (the record's url):
// "http://<port>-<sandboxId>.sandbox.internal/" names the port its template
// serves inside its own namespace, in E2B's "<port>-<id>." form. No host
// resolves it: only the preview gateway (through SandboxSocket) reaches it.
inline constexpr char kSandboxAddressDomain[] = "sandbox.internal";

class SandboxConnector {
 public:
  virtual ~SandboxConnector() = default;
  // An unconnected, close-on-exec TCP/IPv4 socket in the sandbox's network
  // namespace; the caller owns it (and closes it) and connects it to
  // 127.0.0.1:SandboxPort(id), from any thread. kNotFound: no such sandbox.
  virtual Result<int> SandboxSocket(const std::string& sandbox_id) = 0;
  // The port the sandbox serves on (its template's). kNotFound: no such sandbox.
  virtual Result<uint16_t> SandboxPort(const std::string& sandbox_id) = 0;
};

}  // namespace sbx::provider::local
