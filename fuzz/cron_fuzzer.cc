// Schedules and durations from flags and config: jobs::CronSchedule::Parse
// and sbx::ParseDuration. Invariants: a parsed schedule's Next() is strictly
// later (or SystemTime::max()) and, for cron forms, on a whole minute; a parsed
// duration formats to text that parses back to the same value.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/time.h"
#include "fuzz_check.h"
#include "jobs/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto d = sbx::ParseDuration(text); d.ok()) {
    FUZZ_CHECK(d->count() >= 0);
    auto again = sbx::ParseDuration(sbx::FormatDuration(*d));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *d);
  }

  auto schedule = sbx::jobs::CronSchedule::Parse(text);
  if (!schedule.ok()) return 0;
  FUZZ_CHECK(schedule->ToString() == text);
  // 2026-01-01T00:00:30.5Z, then two more fires.
  sbx::SystemTime t = sbx::FromUnixMillis(1'767'225'630'500);
  for (int i = 0; i < 3; ++i) {
    const sbx::SystemTime next = schedule->Next(t);
    if (next == sbx::SystemTime::max()) break;
    FUZZ_CHECK(next > t);
    if (!schedule->every()) {
      FUZZ_CHECK(sbx::ToUnixMillis(next) % 60'000 == 0);
    }
    t = next;
  }
  return 0;
}
