// StaticFiles serves the built dashboard from a directory: content types by
// extension, long-lived caching for hashed assets and no-cache for
// index.html, no path traversal (paths are resolved and must stay inside the
// root). Unknown paths outside /api get index.html. Blocking file reads are
// small and served from the page cache; thread-safe.
#pragma once

#include <filesystem>

#include "http/router.h"

namespace sbx::http_server {

class StaticFiles {
 public:
  explicit StaticFiles(std::filesystem::path root);
  net::awaitable<Response> Serve(RequestContext& ctx);

 private:
  std::filesystem::path root_;
};

}  // namespace sbx::http_server
