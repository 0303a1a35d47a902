#include "core/transition.h"

#include <gtest/gtest.h>

#include <map>

namespace sbx::core {
namespace {

using S = SandboxStatus;
using E = EventType;

constexpr S kAll[] = {S::kStarting, S::kRunning, S::kPausing, S::kPaused, S::kKilled};
constexpr E kAllEvents[] = {E::kCreated,        E::kResumed,       E::kUpdated,
                            E::kPaused,         E::kKilled,        E::kCheckpointed,
                            E::kUnknown,        E::kCreateRequested, E::kWakeRequested,
                            E::kPauseRequested, E::kPauseFailed,   E::kResumeFailed,
                            E::kCreateFailed,   E::kActivity,      E::kSettingsChanged,
                            E::kHoldPlaced,     E::kHoldReleased};

// The whole table, written out: (from, event) -> to, or absent = rejected.
const std::map<std::pair<S, E>, S>& Table() {
  static const auto* t = new std::map<std::pair<S, E>, S>{
      // Provider facts.
      {{S::kStarting, E::kCreated}, S::kRunning},  {{S::kRunning, E::kCreated}, S::kRunning},
      {{S::kPausing, E::kCreated}, S::kRunning},   {{S::kPaused, E::kCreated}, S::kRunning},
      {{S::kKilled, E::kCreated}, S::kRunning},
      {{S::kStarting, E::kResumed}, S::kRunning},  {{S::kRunning, E::kResumed}, S::kRunning},
      {{S::kPausing, E::kResumed}, S::kRunning},   {{S::kPaused, E::kResumed}, S::kRunning},
      {{S::kKilled, E::kResumed}, S::kKilled},
      {{S::kStarting, E::kPaused}, S::kPaused},    {{S::kRunning, E::kPaused}, S::kPaused},
      {{S::kPausing, E::kPaused}, S::kPaused},     {{S::kPaused, E::kPaused}, S::kPaused},
      {{S::kKilled, E::kPaused}, S::kKilled},
      {{S::kStarting, E::kKilled}, S::kKilled},    {{S::kRunning, E::kKilled}, S::kKilled},
      {{S::kPausing, E::kKilled}, S::kKilled},     {{S::kPaused, E::kKilled}, S::kKilled},
      {{S::kKilled, E::kKilled}, S::kKilled},
      // Commands.
      {{S::kKilled, E::kCreateRequested}, S::kStarting},
      {{S::kPaused, E::kWakeRequested}, S::kStarting},
      {{S::kRunning, E::kPauseRequested}, S::kPausing},
      {{S::kPausing, E::kPauseFailed}, S::kRunning},
      {{S::kStarting, E::kResumeFailed}, S::kPaused},
      {{S::kStarting, E::kCreateFailed}, S::kKilled},
      {{S::kStarting, E::kHoldPlaced}, S::kStarting},
      {{S::kRunning, E::kHoldPlaced}, S::kRunning},
  };
  return *t;
}

bool KeepsStatus(E e) {
  return e == E::kUpdated || e == E::kCheckpointed || e == E::kUnknown || e == E::kActivity ||
         e == E::kSettingsChanged || e == E::kHoldReleased;
}

TEST(TransitionTest, EveryStatusTimesEveryEvent) {
  for (S from : kAll) {
    for (E e : kAllEvents) {
      auto got = NextStatus(from, e);
      auto it = Table().find({from, e});
      if (KeepsStatus(e)) {
        ASSERT_TRUE(got.ok()) << StatusName(from) << " " << EventTypeName(e);
        EXPECT_EQ(*got, from) << StatusName(from) << " " << EventTypeName(e);
      } else if (it != Table().end()) {
        ASSERT_TRUE(got.ok()) << StatusName(from) << " " << EventTypeName(e);
        EXPECT_EQ(*got, it->second) << StatusName(from) << " " << EventTypeName(e);
      } else {
        ASSERT_FALSE(got.ok()) << StatusName(from) << " " << EventTypeName(e);
        EXPECT_EQ(got.error().code(), StatusCode::kFailedPrecondition);
      }
    }
  }
}

TEST(TransitionTest, OnlyCreatesBringARecordIntoExistence) {
  for (E e : kAllEvents) {
    auto got = NextStatus(std::nullopt, e);
    if (e == E::kCreateRequested) {
      EXPECT_EQ(*got, S::kStarting);
    } else if (e == E::kCreated) {
      EXPECT_EQ(*got, S::kRunning);
    } else {
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.error().code(), StatusCode::kNotFound);
    }
  }
}

SystemTime T(int64_t s) { return FromUnixMillis(1'767'225'600'000 + s * 1000); }

Sandbox Running() {
  Sandbox s;
  s.project_id = "p1";
  s.sandbox_id = "sbx1";
  s.status = S::kRunning;
  s.template_name = "hello";
  s.idle_timeout_s = 180;
  s.last_activity_at = T(0);
  s.created_at = T(0);
  s.updated_at = T(0);
  s.version = 4;
  s.last_event_at = T(0);
  s.url = "http://127.0.0.1:1/";
  return s;
}

TEST(ApplyEventTest, ActivityMovesLastActivityAndVersionOnly) {
  LifecycleEvent e{.id = "a", .type = E::kActivity, .timestamp = T(100)};
  auto next = ApplyEvent(Running(), e, T(100));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->last_activity_at, T(100));
  EXPECT_EQ(next->version, 5);
  EXPECT_EQ(next->status, S::kRunning);
  EXPECT_EQ(*PauseAt(*next), T(280));
  // Activity runs on sandboxd's clock: it never makes provider events stale.
  EXPECT_EQ(next->last_event_at, T(0));
  // Activity never moves the clock backwards.
  auto older = ApplyEvent(*next, {.id = "b", .type = E::kActivity, .timestamp = T(50)}, T(101));
  EXPECT_EQ(older->last_activity_at, T(100));
}

TEST(ApplyEventTest, ActivityIsKeptBySourceThroughAPauseAndClearedForANewSandbox) {
  auto api = ApplyEvent(Running(), {.id = "a", .type = E::kActivity, .timestamp = T(100)}, T(100));
  auto presence = ApplyEvent(
      *api, {.type = E::kActivity, .source = EventSource::kPresence, .timestamp = T(120)}, T(120));
  auto again = ApplyEvent(
      *presence, {.type = E::kActivity, .source = EventSource::kApi, .timestamp = T(90)}, T(130));
  EXPECT_EQ(again->activity,
            (ActivityBySource{{"api", T(100)}, {"presence", T(120)}}));  // never backwards
  EXPECT_EQ(again->last_activity_at, T(120));
  auto paused = ApplyEvent(*again, {.id = "p", .type = E::kPaused, .timestamp = T(400)}, T(400));
  EXPECT_EQ(paused->activity, again->activity);
  auto resumed = ApplyEvent(*paused, {.id = "r", .type = E::kResumed, .timestamp = T(500)}, T(500));
  EXPECT_EQ(resumed->activity.at("start"), T(500));
  EXPECT_EQ(resumed->last_activity_at, T(500));
  auto killed = ApplyEvent(*resumed, {.id = "k", .type = E::kKilled, .timestamp = T(600)}, T(600));
  auto fresh = ApplyEvent(*killed, {.id = "c", .type = E::kCreateRequested, .timestamp = T(700)},
                          T(700));
  EXPECT_TRUE(fresh->activity.empty());
}

LifecycleEvent Hold(const std::string& name, int64_t until_s, int64_t at_s) {
  return {.id = "h-" + name,
          .type = E::kHoldPlaced,
          .timestamp = T(at_s),
          .hold_name = name,
          .hold_until = T(until_s)};
}

TEST(ApplyEventTest, AHoldPutsPauseAtAtItsExpiryUntilItExpiresOrIsReleased) {
  // Idle timeout 180 s from T(0): pauseAt T(180) without holds.
  auto held = ApplyEvent(Running(), Hold("build", 600, 10), T(10));
  ASSERT_TRUE(held.ok()) << held.error().ToString();
  EXPECT_EQ(held->holds, (Holds{{"build", T(600)}}));
  EXPECT_EQ(*PauseAt(*held), T(600));
  EXPECT_FALSE(IsIdleDue(*held, T(599)));
  EXPECT_TRUE(IsIdleDue(*held, T(600)));
  // A shorter hold changes nothing; activity past the hold wins.
  auto two = ApplyEvent(*held, Hold("test", 100, 20), T(20));
  EXPECT_EQ(*PauseAt(*two), T(600));
  auto active = ApplyEvent(*two, {.id = "a", .type = E::kActivity, .timestamp = T(500)}, T(500));
  EXPECT_EQ(*PauseAt(*active), T(680));
  // Renewing replaces the expiry; releasing removes the hold.
  auto renewed = ApplyEvent(*two, Hold("build", 900, 30), T(30));
  EXPECT_EQ(*PauseAt(*renewed), T(900));
  auto released = ApplyEvent(
      *renewed, {.id = "r", .type = E::kHoldReleased, .timestamp = T(40), .hold_name = "build"},
      T(40));
  EXPECT_EQ(released->holds, (Holds{{"test", T(100)}}));
  EXPECT_EQ(*PauseAt(*released), T(180));
  // An expired hold is gone at the next write.
  auto later =
      ApplyEvent(*released, {.id = "a2", .type = E::kActivity, .timestamp = T(150)}, T(150));
  EXPECT_TRUE(later->holds.empty());
}

TEST(ApplyEventTest, PauseAndKillEndEveryHoldAndNoneCanBePlacedWhilePaused) {
  auto held = ApplyEvent(Running(), Hold("build", 600, 10), T(10));
  auto pausing = ApplyEvent(*held, {.id = "p", .type = E::kPauseRequested, .timestamp = T(20)},
                            T(20));
  ASSERT_TRUE(pausing.ok());
  EXPECT_TRUE(pausing->holds.empty());
  auto killed = ApplyEvent(*held, {.id = "k", .type = E::kKilled, .timestamp = T(20)}, T(20));
  EXPECT_TRUE(killed->holds.empty());
  auto paused = ApplyEvent(*held, {.id = "q", .type = E::kPaused, .timestamp = T(20)}, T(20));
  auto refused = ApplyEvent(*paused, Hold("late", 600, 30), T(30));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
}

TEST(ApplyEventTest, PausedClearsPauseAtAndResumeRestartsIdleClock) {
  auto paused = ApplyEvent(Running(), {.id = "p", .type = E::kPaused, .timestamp = T(200)}, T(200));
  ASSERT_TRUE(paused.ok());
  EXPECT_FALSE(PauseAt(*paused).has_value());
  auto resumed = ApplyEvent(
      *paused,
      {.id = "r", .type = E::kResumed, .source = EventSource::kWebhook, .timestamp = T(500)},
      T(500));
  EXPECT_EQ(*PauseAt(*resumed), T(680));
  EXPECT_EQ(resumed->last_event_at, T(500));
}

TEST(ApplyEventTest, ProviderTimeNeverPutsActivityInTheFutureOrOwnResultsBehind) {
  // A webhook dated 100 s ahead of our clock: activity is "now", the ordering
  // mark is the provider's time.
  const LifecycleEvent ahead{
      .id = "r", .type = E::kResumed, .source = EventSource::kWebhook, .timestamp = T(600)};
  auto paused = ApplyEvent(Running(), {.id = "p", .type = E::kPaused, .timestamp = T(400)}, T(400));
  auto resumed = ApplyEvent(*paused, ahead, T(500));
  EXPECT_EQ(resumed->last_activity_at, T(500));
  EXPECT_EQ(resumed->last_event_at, T(600));
  // sandboxd's own fact moves the mark to now - skew at most, never back.
  auto own = ApplyEvent(*resumed, {.id = "o", .type = E::kPaused, .timestamp = T(510)}, T(510),
                        std::chrono::seconds(60));
  EXPECT_EQ(own->last_event_at, T(600));
  auto later = ApplyEvent(*own, {.id = "o2", .type = E::kResumed, .timestamp = T(900)}, T(900),
                          std::chrono::seconds(60));
  EXPECT_EQ(later->last_event_at, T(840));
}

TEST(ApplyEventTest, PauseFailedRecordsErrorAndSuccessClearsIt) {
  auto pausing = ApplyEvent(Running(), {.id = "1", .type = E::kPauseRequested, .timestamp = T(1)}, T(1));
  LastError err{"pause_failed", "runc pause sbx1: exit 1", T(2)};
  auto failed = ApplyEvent(*pausing, {.id = "2", .type = E::kPauseFailed, .timestamp = T(2), .error = err}, T(2));
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->status, S::kRunning);
  EXPECT_EQ(failed->last_error, err);
  auto pausing2 = ApplyEvent(*failed, {.id = "3", .type = E::kPauseRequested, .timestamp = T(3)}, T(3));
  auto paused = ApplyEvent(*pausing2, {.id = "4", .type = E::kPaused, .timestamp = T(4)}, T(4));
  EXPECT_FALSE(paused->last_error.has_value());
}

TEST(ApplyEventTest, CreateAfterKillStartsAFreshRecordKeepingSettings) {
  Sandbox killed = Running();
  killed.status = S::kKilled;
  killed.idle_timeout_s = 60;
  killed.idle_policy = "warmup";
  killed.last_error = LastError{"x", "y", T(1)};
  auto next = ApplyEvent(killed, {.id = "c", .type = E::kCreateRequested, .timestamp = T(9),
                                  .project_id = "p1"}, T(9));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->status, S::kStarting);
  EXPECT_EQ(next->sandbox_id, "");
  EXPECT_EQ(next->idle_timeout_s, 60);
  EXPECT_EQ(next->idle_policy, "warmup");
  EXPECT_EQ(next->version, 5);
  EXPECT_EQ(next->created_at, T(9));
  EXPECT_FALSE(next->last_error.has_value());
}

TEST(ApplyEventTest, SettingsChangeSetsWhatItNamesAndLeavesTheRest) {
  Sandbox s = Running();
  s.idle_timeout_s = 60;
  LifecycleEvent policy{.id = "s1", .type = E::kSettingsChanged, .timestamp = T(100)};
  policy.idle_policy = "adaptive";
  auto chosen = ApplyEvent(s, policy, T(100));
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->idle_policy, "adaptive");
  EXPECT_EQ(chosen->idle_timeout_s, 60);
  EXPECT_EQ(chosen->status, S::kRunning);
  LifecycleEvent timeout{.id = "s2", .type = E::kSettingsChanged, .timestamp = T(101)};
  timeout.idle_timeout_s = 240;
  auto raised = ApplyEvent(*chosen, timeout, T(101));
  ASSERT_TRUE(raised.ok());
  EXPECT_EQ(raised->idle_policy, "adaptive");
  EXPECT_EQ(raised->idle_timeout_s, 240);
  policy.idle_policy = "";  // back to the deployment's
  EXPECT_EQ(ApplyEvent(*raised, policy, T(102))->idle_policy, "");
}

TEST(ApplyEventTest, KilledDropsUrlAndUpdatedRecordsEndTime) {
  auto upd = ApplyEvent(Running(), {.id = "u", .type = E::kUpdated, .timestamp = T(3), .end_at = T(900)}, T(3));
  EXPECT_EQ(upd->provider_end_at, T(900));
  EXPECT_EQ(upd->status, S::kRunning);
  // An end time beyond any provider's longest timeout is taken as that far.
  auto far = ApplyEvent(Running(),
                        {.id = "f", .type = E::kUpdated, .timestamp = T(3),
                         .end_at = *ParseRfc3339("2199-01-01T00:00:00Z")},
                        T(3));
  EXPECT_EQ(far->provider_end_at, T(3) + kMaxProviderTimeout);
  auto killed = ApplyEvent(*upd, {.id = "k", .type = E::kKilled, .timestamp = T(4)}, T(4));
  EXPECT_FALSE(killed->url.has_value());
  EXPECT_FALSE(PauseAt(*killed).has_value());
}

TEST(DeadlineTest, DueExactlyAtPauseAtNotBefore) {
  Sandbox s = Running();
  EXPECT_FALSE(IsIdleDue(s, T(179) + std::chrono::milliseconds(999)));
  EXPECT_TRUE(IsIdleDue(s, T(180)));
  s.status = S::kPaused;
  EXPECT_FALSE(IsIdleDue(s, T(999)));
}

}  // namespace
}  // namespace sbx::core
