// Time types and the RFC 3339 / duration text forms used on every wire.
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sbx {

using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;
using Millis = std::chrono::milliseconds;

// "2026-11-27T22:34:31.123Z": UTC, always with milliseconds.
std::string FormatRfc3339(SystemTime t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)", lower-case t/z too, any
// number of fraction digits (kept to microseconds), years 1970 to 2199 and
// real calendar days. kInvalidArgument otherwise.
Result<SystemTime> ParseRfc3339(std::string_view text);

// Parses "500ms", "3s", "2m", "1h30m", "1h2m3s", "7d" (days of 24 h). A bare
// "0" is zero.
// kInvalidArgument for anything else, negative values or overflow.
Result<Millis> ParseDuration(std::string_view text);
// Shortest form that ParseDuration reads back: "3m", "1h30m", "1500ms".
std::string FormatDuration(Millis d);

int64_t ToUnixMillis(SystemTime t);
SystemTime FromUnixMillis(int64_t ms);
// Truncates to whole milliseconds: the precision stored and shown.
SystemTime TruncateToMillis(SystemTime t);

}  // namespace sbx
