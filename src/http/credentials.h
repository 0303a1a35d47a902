// Reading credentials off requests, for every server of sandboxd (the API,
// the preview gateway, the runtime's E2B API): cookie values and
// constant-time comparison of secrets. Pure; thread-safe.
#pragma once

#include <string_view>

namespace sbx::http_server {

// The value of cookie `name` in a Cookie header, or "".
std::string_view CookieValue(std::string_view header, std::string_view name);

// True when `a` and `b` are equal, in time that depends only on their
// lengths (tokens, keys): a caller cannot learn a secret byte by byte.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace sbx::http_server
