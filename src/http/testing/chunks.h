// ChunksOf: the chunks of a chunked HTTP response as received (head, then
// chunks), in order, for tests of streamed responses. Test-only; header-only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sbx::http_server::testing {

// The last chunk (size 0) or a chunk still arriving ends the list; a chunk
// whose framing is broken makes it empty.
inline std::vector<std::string> ChunksOf(std::string_view received) {
  std::vector<std::string> chunks;
  size_t at = received.find("\r\n\r\n");
  if (at == std::string_view::npos) return chunks;
  at += 4;
  while (at < received.size()) {
    const size_t eol = received.find("\r\n", at);
    if (eol == std::string_view::npos) break;
    const size_t size = std::stoul(std::string(received.substr(at, eol - at)), nullptr, 16);
    if (size == 0) break;  // the last chunk: the body ends here
    if (received.size() < eol + 2 + size + 2) break;  // still arriving
    if (received.substr(eol + 2 + size, 2) != "\r\n") return {};
    chunks.emplace_back(received.substr(eol + 2, size));
    at = eol + 2 + size + 2;
  }
  return chunks;
}

}  // namespace sbx::http_server::testing
