// Timestamps on every wire: sbx::ParseRfc3339. Invariant: a parsed time, in
// the accepted years, formats (UTC, milliseconds) to text that parses back to
// the same time truncated to milliseconds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/time.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = sbx::ParseRfc3339(text);
  if (!t.ok()) return 0;
  const std::string formatted = sbx::FormatRfc3339(*t);
  auto again = sbx::ParseRfc3339(formatted);
  // The years are those of the text, before its offset: an offset can move a
  // time just outside them ("1970-01-01T00:00:00+01:00" is 1969 in UTC).
  if (!again.ok()) {
    FUZZ_CHECK(formatted.starts_with("1969-12-31") || formatted.starts_with("2200-01-01"));
    return 0;
  }
  FUZZ_CHECK(*again == sbx::TruncateToMillis(*t));
  FUZZ_CHECK(sbx::FormatRfc3339(*again) == formatted);
  return 0;
}
