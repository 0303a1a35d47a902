#include "base/time.h"

#include <charconv>
#include <fmt/format.h>

namespace sbx {
namespace {

// Howard Hinnant's civil-date algorithms (public domain); std::chrono's
// calendar formatting/parsing is not in GCC 12's library.
constexpr int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t y;
  unsigned m, d;
};

constexpr Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

bool ReadInt(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return ec == std::errc();
}

}  // namespace

std::string FormatRfc3339(SystemTime t) {
  const int64_t ms = ToUnixMillis(t);
  int64_t days = ms / 86'400'000;
  int64_t rem = ms % 86'400'000;
  if (rem < 0) {
    rem += 86'400'000;
    --days;
  }
  const Civil c = CivilFromDays(days);
  const int64_t secs = rem / 1000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.y, c.m, c.d, secs / 3600,
                     (secs / 60) % 60, secs % 60, rem % 1000);
}

Result<SystemTime> ParseRfc3339(std::string_view s) {
  auto bad = [&] { return InvalidArgument(fmt::format("invalid RFC 3339 time \"{}\"", s)); };
  int year, month, day, hour, minute, second;
  if (s.size() < 20 || !ReadInt(s, 0, 4, year) || s[4] != '-' || !ReadInt(s, 5, 2, month) ||
      s[7] != '-' || !ReadInt(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !ReadInt(s, 11, 2, hour) || s[13] != ':' || !ReadInt(s, 14, 2, minute) || s[16] != ':' ||
      !ReadInt(s, 17, 2, second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return bad();
  }
  // SystemTime counts nanoseconds in 64 bits: it ends in 2262. Accept the
  // years a timestamp of this service can mean and refuse the rest.
  if (year < kMinYear || year > kMaxYear) {
    return InvalidArgument(fmt::format("time \"{}\" is outside the years {} to {}", s, kMinYear,
                                       kMaxYear));
  }
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) micros = micros * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ReadInt(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ReadInt(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t unix_s = days * 86400 + hour * 3600 + minute * 60 + std::min(second, 59) - offset_s;
  // An offset can carry a time at the edge of the years out of them.
  if (unix_s < 0) {
    return InvalidArgument(fmt::format("time \"{}\" is before {}-01-01T00:00:00Z", s, kMinYear));
  }
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::seconds(unix_s) + std::chrono::microseconds(micros)));
}

Result<Millis> ParseDuration(std::string_view s) {
  auto bad = [&] {
    return InvalidArgument(
        fmt::format("invalid duration \"{}\" (use forms like 500ms, 3s, 2m, 1h30m, 7d)", s));
  };
  if (s == "0") return Millis(0);
  if (s.empty()) return bad();
  int64_t total_ms = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start || pos - start > 12) return bad();
    int64_t n = 0;
    std::from_chars(s.data() + start, s.data() + pos, n);
    int64_t unit_ms;
    if (s.substr(pos, 2) == "ms") {
      unit_ms = 1;
      pos += 2;
    } else if (pos < s.size() && s[pos] == 's') {
      unit_ms = 1000;
      ++pos;
    } else if (pos < s.size() && s[pos] == 'm') {
      unit_ms = 60'000;
      ++pos;
    } else if (pos < s.size() && s[pos] == 'h') {
      unit_ms = 3'600'000;
      ++pos;
    } else if (pos < s.size() && s[pos] == 'd') {
      unit_ms = 86'400'000;
      ++pos;
    } else {
      return bad();
    }
    // 100 years at most: checked before the product, which 12 digits of
    // days would overflow.
    constexpr int64_t kMaxMs = int64_t{100} * 365 * 86'400'000;
    if (n > kMaxMs / unit_ms) return bad();
    total_ms += n * unit_ms;
    if (total_ms > kMaxMs) return bad();
  }
  return Millis(total_ms);
}

std::string FormatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  // ParseDuration reads at most 12 digits per number: a longer millisecond
  // count is written as hours, minutes and seconds plus the milliseconds.
  if (ms % 1000 != 0 && ms < 1'000'000'000'000) return fmt::format("{}ms", ms);
  int64_t s = ms / 1000;
  std::string out;
  if (s >= 3600) {
    out += fmt::format("{}h", s / 3600);
    s %= 3600;
  }
  if (s >= 60) {
    out += fmt::format("{}m", s / 60);
    s %= 60;
  }
  if (s > 0) out += fmt::format("{}s", s);
  if (ms % 1000 != 0) out += fmt::format("{}ms", ms % 1000);
  return out;
}

int64_t ToUnixMillis(SystemTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

SystemTime FromUnixMillis(int64_t ms) { return SystemTime(Millis(ms)); }

SystemTime TruncateToMillis(SystemTime t) { return FromUnixMillis(ToUnixMillis(t)); }

}  // namespace sbx
