// CronSchedule: a parsed schedule, either standard 5-field cron evaluated in
// UTC or a fixed interval (`@every 2s`). Used by the job scheduler and the
// idle enforcer (`--enforcer-schedule`). Immutable after Parse; pure, so safe
// to share between threads; no call blocks.
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/time.h"

namespace sbx::jobs {

class CronSchedule {
 public:
  // Accepts:
  //  - "minute hour day-of-month month day-of-week", fields separated by
  //    spaces or tabs. Each field is a comma list of `*`, `n`, `a-b`, `*/s`,
  //    `a-b/s` or `a/s` (= a-max/s). Month and weekday fields also take the
  //    names JAN…DEC and SUN…SAT (any case); weekday 0 and 7 are both Sunday,
  //    and SUN as the end of a range means 7 ("FRI-SUN").
  //    Vixie rule: when day-of-month and day-of-week are both restricted (the
  //    field does not start with `*`), a day matches if EITHER matches;
  //    otherwise both must match. So "0 0 1 * MON" fires on the 1st and on
  //    every Monday, while "0 0 */2 * MON" fires on odd-numbered Mondays.
  //  - "@every <duration>" (e.g. "@every 2s", "@every 1h30m"); duration > 0.
  //  - @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually
  //    (any case).
  // Returns kInvalidArgument naming the bad field, e.g.
  // `cron field "minute": value 61 out of range 0-59`. A schedule that can
  // never fire ("0 0 30 2 *", "0 0 31 4,6 *") is rejected too, so Next()
  // always finds a time for any schedule Parse returns.
  static Result<CronSchedule> Parse(std::string_view text);

  // The first fire time strictly after `after`.
  //  - cron forms: whole minutes in UTC (seconds and sub-seconds are zero);
  //    "*/2 * * * *" from 10:01:59.999 gives 10:02:00, from 10:02:00 gives
  //    10:04:00.
  //  - @every: exactly `after + interval`, not aligned to any wall-clock
  //    boundary; the caller passes the previous fire (or start) time.
  // Returns SystemTime::max() only when the next fire time is not
  // representable by SystemTime (after the year 2262).
  SystemTime Next(SystemTime after) const;

  // The text given to Parse, unchanged.
  std::string ToString() const { return text_; }

  // The interval of an `@every` schedule; nullopt for cron forms.
  std::optional<Millis> every() const { return every_; }

  // The longest wait between two fire times: the interval of `@every`; for
  // cron forms, over the fire times of the year after `from` (at most
  // 100,000 of them; a schedule that fires more often has short gaps).
  Millis LongestGap(SystemTime from) const;

 private:
  CronSchedule() = default;

  using SysMinutes = std::chrono::sys_time<std::chrono::minutes>;

  // The first matching minute at or after `t`, or nullopt if none within one
  // 400-year Gregorian cycle (after which the calendar repeats, so never).
  std::optional<SysMinutes> NextMatch(SysMinutes t) const;
  bool DayMatches(unsigned month_day, unsigned weekday) const;

  std::string text_;
  std::optional<Millis> every_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bits 1-31
  std::bitset<13> months_;         // bits 1-12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool dom_star_ = true;           // day-of-month field starts with `*`
  bool dow_star_ = true;           // day-of-week field starts with `*`
};

}  // namespace sbx::jobs
