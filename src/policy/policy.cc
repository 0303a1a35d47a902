#include "policy/policy.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>

#include <fmt/format.h>

namespace sbx::policy {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;
constexpr int64_t kQuarterMs = 15 * 60 * 1000;
constexpr int kQuartersPerDay = 96;
constexpr double kWeekMs = 7.0 * kDayMs;

// "Mon–Fri 09:00" for a slot of WeekSlot.
std::string SlotName(int slot) {
  const int quarter = slot % kQuartersPerDay;
  return fmt::format("{} {:02}:{:02}", slot >= kQuartersPerDay ? "Sat–Sun" : "Mon–Fri",
                     quarter / 4, (quarter % 4) * 15);
}

// Each project's own timeout where one was adopted, else everyone's: what
// fixed and warmup run with.
class OwnTimeouts {
 public:
  explicit OwnTimeouts(Millis everyone) : everyone_(everyone) {}
  Millis Of(const std::string& project) const {
    auto it = own_.find(project);
    return it == own_.end() ? everyone_ : it->second;
  }
  void Adopt(const std::string& project, Millis timeout) { own_[project] = timeout; }

 private:
  Millis everyone_;
  std::map<std::string, Millis> own_;
};

class Fixed final : public Policy {
 public:
  explicit Fixed(Millis timeout) : timeouts_(timeout) {}
  std::string_view name() const override { return "fixed"; }
  Millis IdleTimeout(const std::string& project) const override {
    return timeouts_.Of(project);
  }
  void OnIdlePause(const std::string&, SystemTime) override {}
  void OnReturn(const std::string&, SystemTime, SystemTime) override {}
  void Adopt(const std::string& project, Millis timeout) override {
    timeouts_.Adopt(project, timeout);
  }

 private:
  OwnTimeouts timeouts_;
};

class Adaptive final : public Policy {
 public:
  explicit Adaptive(AdaptiveOptions options) : options_(options) {}
  std::string_view name() const override { return "adaptive"; }

  Millis IdleTimeout(const std::string& project) const override {
    auto it = projects_.find(project);
    return it == projects_.end() ? Clamp(options_.initial) : it->second.timeout;
  }

  void OnIdlePause(const std::string& project, SystemTime at) override {
    State& s = StateOf(project);
    s.idle_pause = at;
  }

  void Adopt(const std::string& project, Millis timeout) override {
    StateOf(project).timeout = Seconds(timeout);
  }

  void OnReturn(const std::string& project, SystemTime at, SystemTime paused_at) override {
    State& s = StateOf(project);
    // Only the enforcer's own pauses teach it: a user's pause says nothing
    // about the timeout.
    if (s.idle_pause != paused_at) return;
    s.idle_pause.reset();
    const Millis away = std::chrono::duration_cast<Millis>(at - paused_at);
    Millis next = s.timeout;
    std::string why;
    if (away <= options_.regret_window) {
      // Multiplied, but never past what would have kept this one up (the
      // gap, to the next minute): a long gap must not push it far.
      const Millis times = Millis(static_cast<int64_t>(
          std::llround(static_cast<double>(s.timeout.count()) * options_.increase)));
      const Millis covering = std::chrono::ceil<std::chrono::minutes>(s.timeout + away);
      next = Clamp(options_.cover_only ? std::min(times, covering) : times);
      why = fmt::format("regret: back {} after an idle pause", FormatDuration(Seconds(away)));
    } else if (away >= options_.long_idle) {
      next = Clamp(s.timeout - options_.decrease);
      why = fmt::format("long idle: paused for {}", FormatDuration(Seconds(away)));
    }
    if (next == s.timeout) return;
    Record({.project = project,
            .at = at,
            .from = s.timeout,
            .to = next,
            .reason = fmt::format("{}; {} -> {}", why, FormatDuration(s.timeout),
                                  FormatDuration(next))});
    s.timeout = next;
  }

 private:
  struct State {
    Millis timeout{};
    std::optional<SystemTime> idle_pause;
  };

  static Millis Seconds(Millis d) { return std::chrono::duration_cast<std::chrono::seconds>(d); }
  Millis Clamp(Millis d) const {
    return std::clamp(Seconds(d), options_.bounds.min, options_.bounds.max);
  }
  State& StateOf(const std::string& project) {
    auto [it, added] = projects_.try_emplace(project);
    if (added) it->second.timeout = Clamp(options_.initial);
    return it->second;
  }

  AdaptiveOptions options_;
  std::map<std::string, State> projects_;
};

class Warmup final : public Policy {
 public:
  explicit Warmup(WarmupOptions options) : options_(options), timeouts_(options.timeout) {}
  std::string_view name() const override { return "warmup"; }
  Millis IdleTimeout(const std::string& project) const override {
    return timeouts_.Of(project);
  }
  void Adopt(const std::string& project, Millis timeout) override {
    timeouts_.Adopt(project, timeout);
  }
  Millis PreWakeGrace() const override { return options_.grace; }
  void OnIdlePause(const std::string&, SystemTime) override {}

  void OnReturn(const std::string& project, SystemTime at, SystemTime paused_at) override {
    if (at - paused_at < options_.min_pause) return;
    Slot& slot = histograms_[project][static_cast<size_t>(WeekSlot(at))];
    slot.weight = Weight(slot, at) + 1.0;
    slot.updated = at;
  }

  bool PreWake(const std::string& project, SystemTime now, SystemTime paused_at) override {
    if (now - paused_at < options_.min_pause) return false;
    auto h = histograms_.find(project);
    if (h == histograms_.end()) return false;  // no pattern, no pre-wake
    auto done = prewoken_.find(project);
    if (done != prewoken_.end() && done->second == paused_at) return false;  // once a pause
    const int slot = WeekSlot(now + options_.lead);
    const double weight = Weight(h->second[static_cast<size_t>(slot)], now);
    if (weight < options_.min_weight) return false;
    while (!recent_.empty() && now - recent_.front() >= 1h) recent_.pop_front();
    if (static_cast<int>(recent_.size()) >= options_.max_per_hour) return false;
    recent_.push_back(now);
    prewoken_[project] = paused_at;
    Record({.project = project,
            .at = now,
            .from = options_.timeout,
            .to = options_.timeout,
            .reason = fmt::format("pre-wake: {:.1f} recent returns at {}", weight,
                                  SlotName(slot))});
    return true;
  }

 private:
  struct Slot {
    double weight = 0;
    SystemTime updated{};
  };

  // The slot's weight at `t`: each return decays by weekly_decay a week.
  double Weight(const Slot& slot, SystemTime t) const {
    if (slot.weight == 0) return 0;
    const double weeks =
        static_cast<double>(std::chrono::duration_cast<Millis>(t - slot.updated).count()) /
        kWeekMs;
    return slot.weight * std::pow(options_.weekly_decay, std::max(0.0, weeks));
  }

  WarmupOptions options_;
  OwnTimeouts timeouts_;
  std::map<std::string, std::array<Slot, 2 * kQuartersPerDay>> histograms_;
  std::map<std::string, SystemTime> prewoken_;  // the pause each project was last pre-woken in
  std::deque<SystemTime> recent_;               // pre-wakes of the last hour
};

}  // namespace

bool Policy::PreWake(const std::string&, SystemTime, SystemTime) { return false; }
void Policy::Adopt(const std::string&, Millis) {}

std::vector<Change> Policy::TakeChanges() {
  std::vector<Change> out;
  out.swap(changes_);
  return out;
}

Status CheckPolicyName(std::string_view name) {
  if (name == "fixed" || name == "adaptive" || name == "warmup") return OkStatus();
  return InvalidArgument(
      fmt::format("idle policy \"{}\" is none of fixed, adaptive, warmup", name));
}

Result<std::unique_ptr<Policy>> MakePolicy(std::string_view name, const PolicyConfig& config) {
  SBX_RETURN_IF_ERROR(CheckPolicyName(name));
  if (config.bounds.min <= Millis::zero() || config.bounds.min > config.bounds.max) {
    return InvalidArgument(fmt::format("idle policy bounds {} to {} are not a range",
                                       FormatDuration(config.bounds.min),
                                       FormatDuration(config.bounds.max)));
  }
  if (name == "adaptive") {
    return MakeAdaptive({.initial = config.timeout, .bounds = config.bounds});
  }
  if (name == "warmup") return MakeWarmup({.timeout = config.timeout});
  return MakeFixed(config.timeout);
}

std::unique_ptr<Policy> MakeFixed(Millis timeout) { return std::make_unique<Fixed>(timeout); }
std::unique_ptr<Policy> MakeAdaptive(AdaptiveOptions options) {
  return std::make_unique<Adaptive>(options);
}
std::unique_ptr<Policy> MakeWarmup(WarmupOptions options) {
  return std::make_unique<Warmup>(options);
}

int WeekSlot(SystemTime t) {
  const int64_t ms = ToUnixMillis(t);
  const int64_t days = ms >= 0 ? ms / kDayMs : (ms - kDayMs + 1) / kDayMs;
  const int64_t in_day = ms - days * kDayMs;
  const int64_t weekday = ((days % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday: 0 = Monday
  return (weekday >= 5 ? kQuartersPerDay : 0) + static_cast<int>(in_day / kQuarterMs);
}

}  // namespace sbx::policy
