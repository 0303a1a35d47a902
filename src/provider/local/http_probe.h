// HttpGetOn: the tiny HTTP/1.1 GET of readiness probes, over a TCP socket the
// caller made (in a sandbox's network namespace, or anywhere). Blocks for at
// most its timeout, measured on the injected Clock. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/clock.h"
#include "provider/local/sandbox_host.h"

namespace sbx::provider::local {

// Connects the unconnected TCP socket `fd` to 127.0.0.1:<port>, sends
// GET <path> (Connection: close) and returns the status and body. Takes
// ownership of `fd` and closes it. kUnavailable: refused, reset or not HTTP.
// kDeadlineExceeded: no complete answer within `timeout`.
Result<HttpResponse> HttpGetOn(Clock& clock, int fd, uint16_t port, const std::string& path,
                               std::chrono::milliseconds timeout);

}  // namespace sbx::provider::local
