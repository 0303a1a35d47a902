#include "jobs/cron.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"SUN", "MON", "TUE", "WED",
                                                           "THU", "FRI", "SAT"};

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  const std::string_view* names;  // names[i] means value names_base + i; null if none
  size_t names_count;
  int names_base;
};

constexpr FieldSpec kMinute{"minute", 0, 59, nullptr, 0, 0};
constexpr FieldSpec kHour{"hour", 0, 23, nullptr, 0, 0};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, nullptr, 0, 0};
constexpr FieldSpec kMonth{"month", 1, 12, kMonthNames.data(), kMonthNames.size(), 1};
// 7 is accepted as Sunday and folded into bit 0 after parsing.
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, kWeekdayNames.data(), kWeekdayNames.size(), 0};

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitBlank(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && IsBlank(s[pos])) ++pos;
    const size_t start = pos;
    while (pos < s.size() && !IsBlank(s[pos])) ++pos;
    if (pos > start) out.push_back(s.substr(start, pos - start));
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<int> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

Status FieldError(const FieldSpec& spec, std::string_view what) {
  return InvalidArgument(fmt::format("cron field \"{}\": {}", spec.name, what));
}

// One value of a field: a number in range or (month, weekday) a name.
// `range_end` makes SUN mean 7 so that "FRI-SUN" is a forward range.
Result<int> ParseValue(const FieldSpec& spec, std::string_view token, std::string_view item,
                       bool range_end) {
  if (token.empty()) return FieldError(spec, fmt::format("missing value in \"{}\"", item));
  if (std::optional<int> n = ParseNumber(token)) {
    if (*n < spec.min || *n > spec.max) {
      return FieldError(spec, fmt::format("value {} out of range {}-{}", *n, spec.min, spec.max));
    }
    return *n;
  }
  for (size_t i = 0; i < spec.names_count; ++i) {
    if (EqualsIgnoreCase(token, spec.names[i])) {
      const int value = spec.names_base + static_cast<int>(i);
      if (range_end && &spec == &kDayOfWeek && value == 0) return 7;
      return value;
    }
  }
  return FieldError(spec, fmt::format("invalid value \"{}\"", token));
}

// Parses one comma-separated field into a bit mask (bit i = value i).
Result<uint64_t> ParseField(const FieldSpec& spec, std::string_view field) {
  uint64_t bits = 0;
  size_t pos = 0;
  for (;;) {
    const size_t comma = field.find(',', pos);
    const std::string_view item =
        field.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item.empty()) return FieldError(spec, fmt::format("empty list item in \"{}\"", field));

    std::string_view range = item;
    int step = 1;
    bool has_step = false;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const std::string_view step_text = item.substr(slash + 1);
      std::optional<int> n = ParseNumber(step_text);
      if (!n) {
        return FieldError(spec, fmt::format("invalid step \"{}\" in \"{}\"", step_text, item));
      }
      if (*n == 0) {
        return FieldError(spec, fmt::format("step 0 in \"{}\" must be at least 1", item));
      }
      step = *n;
      has_step = true;
    }

    int lo = 0;
    int hi = 0;
    if (range == "*") {
      lo = spec.min;
      hi = spec.max;
    } else if (const size_t dash = range.find('-'); dash != std::string_view::npos) {
      SBX_ASSIGN_OR_RETURN(lo, ParseValue(spec, range.substr(0, dash), item, false));
      SBX_ASSIGN_OR_RETURN(hi, ParseValue(spec, range.substr(dash + 1), item, true));
      if (lo > hi) {
        return FieldError(spec,
                          fmt::format("range \"{}\" runs backwards ({} > {})", range, lo, hi));
      }
    } else {
      SBX_ASSIGN_OR_RETURN(lo, ParseValue(spec, range, item, false));
      // "a/s" means every s-th value from a to the end of the field.
      hi = has_step ? spec.max : lo;
    }
    for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;

    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return bits;
}

// Rewrites the named aliases to their 5-field form; other text is unchanged.
std::optional<std::string_view> ExpandAlias(std::string_view text) {
  struct Alias {
    std::string_view name;
    std::string_view fields;
  };
  static constexpr std::array<Alias, 7> kAliases = {{
      {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  }};
  for (const Alias& alias : kAliases) {
    if (EqualsIgnoreCase(text, alias.name)) return alias.fields;
  }
  return std::nullopt;
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view text) {
  CronSchedule schedule;
  schedule.text_ = std::string(text);
  std::string_view spec = Trim(text);
  if (spec.empty()) return InvalidArgument("empty cron schedule");

  if (spec.front() == '@') {
    const std::vector<std::string_view> words = SplitBlank(spec);
    if (EqualsIgnoreCase(words[0], "@every")) {
      if (words.size() != 2) {
        return InvalidArgument(fmt::format(
            "cron schedule \"{}\": want \"@every <duration>\", e.g. \"@every 2s\"", text));
      }
      Result<Millis> interval = ParseDuration(words[1]);
      if (!interval.has_value()) {
        return InvalidArgument(
            fmt::format("cron schedule \"{}\": {}", text, interval.error().message()));
      }
      if (interval->count() <= 0) {
        return InvalidArgument(
            fmt::format("cron schedule \"{}\": @every interval must be greater than 0", text));
      }
      schedule.every_ = *interval;
      return schedule;
    }
    std::optional<std::string_view> expanded = ExpandAlias(words[0]);
    if (expanded && words.size() > 1) {
      return InvalidArgument(
          fmt::format("cron schedule \"{}\": {} takes no arguments", text, words[0]));
    }
    if (!expanded) {
      return InvalidArgument(fmt::format(
          "unknown cron alias \"{}\" (want @every <duration>, @hourly, @daily, @midnight, "
          "@weekly, @monthly, @yearly or @annually)",
          words[0]));
    }
    spec = *expanded;
  }

  const std::vector<std::string_view> fields = SplitBlank(spec);
  if (fields.size() != 5) {
    return InvalidArgument(fmt::format(
        "cron schedule \"{}\" has {} fields, want 5 (minute hour day-of-month month day-of-week)",
        text, fields.size()));
  }
  uint64_t bits = 0;
  SBX_ASSIGN_OR_RETURN(bits, ParseField(kMinute, fields[0]));
  schedule.minutes_ = std::bitset<60>(bits);
  SBX_ASSIGN_OR_RETURN(bits, ParseField(kHour, fields[1]));
  schedule.hours_ = std::bitset<24>(bits);
  SBX_ASSIGN_OR_RETURN(bits, ParseField(kDayOfMonth, fields[2]));
  schedule.days_of_month_ = std::bitset<32>(bits);
  SBX_ASSIGN_OR_RETURN(bits, ParseField(kMonth, fields[3]));
  schedule.months_ = std::bitset<13>(bits);
  SBX_ASSIGN_OR_RETURN(bits, ParseField(kDayOfWeek, fields[4]));
  if (bits & (uint64_t{1} << 7)) bits |= 1;  // 7 is Sunday too
  schedule.days_of_week_ = std::bitset<7>(bits & 0x7f);
  // Vixie cron: a field starting with `*` (including "*/2") counts as
  // unrestricted for the day-of-month / day-of-week OR rule.
  schedule.dom_star_ = fields[2].front() == '*';
  schedule.dow_star_ = fields[4].front() == '*';

  // The Gregorian calendar repeats every 400 years, so a schedule with no
  // match in one cycle (e.g. "0 0 30 2 *") never fires: reject it here so
  // that Next() always has an answer.
  constexpr auto kAnyStart = std::chrono::sys_days(std::chrono::year(2000) / 1 / 1);
  if (!schedule.NextMatch(kAnyStart).has_value()) {
    return InvalidArgument(fmt::format(
        "cron schedule \"{}\" never fires: no allowed month has the allowed day-of-month", text));
  }
  return schedule;
}

bool CronSchedule::DayMatches(unsigned month_day, unsigned weekday) const {
  const bool dom = days_of_month_[month_day];
  const bool dow = days_of_week_[weekday];
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

std::optional<CronSchedule::SysMinutes> CronSchedule::NextMatch(SysMinutes t) const {
  // One full 400-year cycle (146097 days, a whole number of weeks) plus the
  // starting day covers every calendar configuration.
  constexpr std::chrono::days kSearchDays(146097 + 1);
  std::chrono::sys_days day = std::chrono::floor<std::chrono::days>(t);
  int minute_of_day = static_cast<int>((t - day).count());
  const std::chrono::sys_days last = day + kSearchDays;
  while (day <= last) {
    const std::chrono::year_month_day ymd(day);
    if (!months_[static_cast<unsigned>(ymd.month())]) {
      const std::chrono::year_month_day first_of_month = ymd.year() / ymd.month() / 1;
      day = std::chrono::sys_days(first_of_month + std::chrono::months(1));
      minute_of_day = 0;
      continue;
    }
    if (!DayMatches(static_cast<unsigned>(ymd.day()), std::chrono::weekday(day).c_encoding())) {
      day += std::chrono::days(1);
      minute_of_day = 0;
      continue;
    }
    for (int m = minute_of_day; m < 24 * 60;) {
      const int hour = m / 60;
      if (!hours_[static_cast<size_t>(hour)]) {
        m = (hour + 1) * 60;
        continue;
      }
      if (!minutes_[static_cast<size_t>(m % 60)]) {
        ++m;
        continue;
      }
      return day + std::chrono::minutes(m);
    }
    day += std::chrono::days(1);
    minute_of_day = 0;
  }
  return std::nullopt;
}

SystemTime CronSchedule::Next(SystemTime after) const {
  if (every_) {
    if (after > SystemTime::max() - *every_) return SystemTime::max();
    return after + *every_;
  }
  const SysMinutes start = std::chrono::floor<std::chrono::minutes>(after) + 1min;
  const std::optional<SysMinutes> next = NextMatch(start);
  if (!next || *next > std::chrono::floor<std::chrono::minutes>(SystemTime::max())) {
    return SystemTime::max();
  }
  return std::chrono::time_point_cast<SystemTime::duration>(*next);
}

Millis CronSchedule::LongestGap(SystemTime from) const {
  if (every_) return *every_;
  const SystemTime end = from + std::chrono::days(366);
  Millis longest{0};
  SystemTime at = Next(from);
  for (int i = 0; i < 100'000 && at < end; ++i) {
    const SystemTime next = Next(at);
    if (next == SystemTime::max()) break;
    longest = std::max(longest, std::chrono::duration_cast<Millis>(next - at));
    at = next;
  }
  return longest;
}

}  // namespace sbx::jobs
