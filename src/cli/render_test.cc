#include "cli/render.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sbx::cli {
namespace {

using namespace std::chrono_literals;

const SystemTime kNow = *ParseRfc3339("2026-12-01T10:00:00.000Z");

TEST(RenderTest, RelativeTimesAndDurationsReadAsPeopleSayThem) {
  EXPECT_EQ(RelativeTime("2026-12-01T10:02:48.000Z", kNow), "in 2m 48s");
  EXPECT_EQ(RelativeTime("2026-12-01T09:59:48.000Z", kNow), "12s ago");
  EXPECT_EQ(RelativeTime("2026-12-01T10:00:00.400Z", kNow), "just now");
  EXPECT_EQ(RelativeTime("2026-11-29T08:00:00.000Z", kNow), "2d 2h ago");
  EXPECT_EQ(RelativeTime("not a time", kNow), "not a time");
  EXPECT_EQ(Seconds(180), "3m");
  EXPECT_EQ(Seconds(90), "90s");
  EXPECT_EQ(Seconds(5400), "1h30m");
  EXPECT_EQ(Seconds(7200), "2h");
}

TEST(RenderTest, TablesAlignEveryColumnToItsWidestCell) {
  EXPECT_EQ(Table({"NAME", "STATUS"}, {{"demo", "RUNNING"}, {"a-longer-name", "PAUSED"}}),
            "NAME           STATUS\n"
            "demo           RUNNING\n"
            "a-longer-name  PAUSED\n");
  // Widths count characters on the screen, not bytes or colour escapes.
  EXPECT_EQ(Table({"A", "B"}, {{"\x1b[32mRUNNING\x1b[0m", "x"}, {"—", "y"}}),
            "A        B\n"
            "\x1b[32mRUNNING\x1b[0m  x\n"
            "—        y\n");
}

TEST(RenderTest, SandboxShowsItsFieldsWithRelativeTimesAndColourOnlyWhenAsked) {
  const auto s = boost::json::parse(R"({"projectId":"demo","sandboxId":"sbx1","status":"RUNNING",
    "url":"http://8080-sbx1.localhost:1/","template":"hello","idleTimeoutSeconds":180,
    "lastActivityAt":"2026-12-01T09:59:00.000Z","pauseAt":"2026-12-01T10:02:00.000Z",
    "createdAt":"2026-12-01T09:00:00.000Z","lastError":null,
    "holds":[{"name":"build","expiresAt":"2026-12-01T10:10:00.000Z"}]})");
  const std::string plain = RenderSandbox(s, {.color = false, .now = kNow});
  EXPECT_NE(plain.find("status         RUNNING\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("idle timeout   3m\n"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("idle policy"), std::string::npos);  // an older server says none
  auto chosen = s;
  chosen.as_object()["idlePolicy"] = "adaptive";
  chosen.as_object()["effectiveIdlePolicy"] = "adaptive";
  EXPECT_NE(RenderSandbox(chosen, {.color = false, .now = kNow}).find("idle policy    adaptive\n"),
            std::string::npos);
  chosen.as_object()["idlePolicy"] = nullptr;
  chosen.as_object()["effectiveIdlePolicy"] = "fixed";
  EXPECT_NE(RenderSandbox(chosen, {.color = false, .now = kNow})
                .find("idle policy    fixed (the deployment's)\n"),
            std::string::npos);
  EXPECT_NE(plain.find("pauses         2026-12-01T10:02:00.000Z (in 2m)\n"), std::string::npos)
      << plain;
  EXPECT_NE(plain.find("hold           build until 2026-12-01T10:10:00.000Z (in 10m)"),
            std::string::npos)
      << plain;
  EXPECT_EQ(plain.find("last error"), std::string::npos);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  const std::string colored = RenderSandbox(s, {.color = true, .now = kNow});
  EXPECT_NE(colored.find("\x1b[32mRUNNING\x1b[0m"), std::string::npos) << colored;
}

TEST(RenderTest, ListHistoryHoldsAndExplainAreTables) {
  const auto list = boost::json::parse(R"({"sandboxes":[{"projectId":"a","status":"PAUSED",
    "sandboxId":"s1","idleTimeoutSeconds":60,"lastActivityAt":"2026-12-01T09:50:00.000Z",
    "pauseAt":null}],"nextCursor":"a"})");
  const std::string l = RenderList(list, {.now = kNow});
  EXPECT_NE(l.find("PROJECT  STATUS  SANDBOX  IDLE  UP  LAST ACTIVITY  PAUSES  HOLDS\n"),
            std::string::npos)
      << l;
  EXPECT_NE(l.find("a        PAUSED  s1       1m    —   10m ago        —"), std::string::npos) << l;
  EXPECT_NE(l.find("(more: --cursor a)"), std::string::npos);
  EXPECT_EQ(RenderList(boost::json::parse(R"({"sandboxes":[],"nextCursor":null})"), {}),
            "no sandboxes\n");
  const auto history = boost::json::parse(R"({"events":[{"type":"pause_requested",
    "source":"enforcer","outcome":"applied","status":"PAUSING","sandboxId":"s1","detail":"",
    "recordedAt":"2026-12-01T09:59:00.000Z"}]})");
  const std::string h = RenderHistory(history, {.now = kNow});
  EXPECT_NE(h.find("1m ago  pause_requested  enforcer  applied  PAUSING  s1"), std::string::npos)
      << h;
  const auto holds = boost::json::parse(
      R"({"holds":[{"name":"build","expiresAt":"2026-12-01T10:05:00.000Z"}]})");
  EXPECT_EQ(RenderHolds(holds, {.now = kNow}),
            "NAME   EXPIRES\nbuild  2026-12-01T10:05:00.000Z (in 5m)\n");
  const auto why = boost::json::parse(R"json({"summary":"PAUSED since x: paused by the idle enforcer.",
    "next":"it stays PAUSED until a wake","awake":[],"cause":{"type":"pause_requested",
    "by":"the idle enforcer (timer)","at":"2026-12-01T09:58:00.000Z","inputs":{"trigger":"timer"}},
    "failure":null})json");
  const std::string w = RenderExplain(why, {.now = kNow});
  EXPECT_EQ(w,
            "PAUSED since x: paused by the idle enforcer.\n"
            "cause: pause_requested by the idle enforcer (timer), 2026-12-01T09:58:00.000Z (2m ago)\n"
            "  inputs: {\"trigger\":\"timer\"}\n"
            "next: it stays PAUSED until a wake\n");
  // What the idle policy changed, and why.
  auto policy = why;
  policy.as_object()["timeoutSetBy"] = boost::json::parse(R"json({"type":"settings_changed",
    "by":"the idle policy (adaptive)","at":"2026-12-01T09:55:00.000Z",
    "detail":"regret: back 8s after an idle pause; 40s -> 1m"})json");
  EXPECT_NE(RenderExplain(policy, {.now = kNow})
                .find("idle timeout set by the idle policy (adaptive), 2026-12-01T09:55:00.000Z "
                      "(5m ago): regret: back 8s after an idle pause; 40s -> 1m\n"),
            std::string::npos)
      << RenderExplain(policy, {.now = kNow});
}

TEST(RenderTest, UptimeRunsAndForgetSayWhatTheyMean) {
  const auto list = boost::json::parse(R"({"sandboxes":[{"projectId":"a","status":"RUNNING",
    "sandboxId":"s1","idleTimeoutSeconds":180,"runningSince":"2026-12-01T09:47:30.000Z",
    "lastActivityAt":"2026-12-01T09:59:00.000Z","pauseAt":"2026-12-01T10:02:00.000Z",
    "holds":[{"name":"build","expiresAt":"2026-12-01T10:05:00.000Z"},
             {"name":"ci","expiresAt":"2026-12-01T10:06:00.000Z"}]}],
    "nextCursor":null})");
  const std::string l = RenderList(list, {.now = kNow});
  EXPECT_NE(l.find("a        RUNNING  s1       3m    12m 30s  1m ago"), std::string::npos) << l;
  // Holds are visible in the list too.
  EXPECT_NE(l.find("  build, ci\n"), std::string::npos) << l;
  const auto runs = boost::json::parse(R"({"runs":[{"id":7,"trigger":"timer",
    "startedAt":"2026-12-01T09:59:00.000Z","checked":2,"paused":2,"failed":0,"errors":[],
    "pausedProjects":["a","b"]}],"nextBefore":7})");
  const std::string r = RenderRuns(runs, {.now = kNow});
  EXPECT_NE(r.find("PAUSED PROJECTS"), std::string::npos) << r;
  EXPECT_NE(r.find("a, b"), std::string::npos) << r;
  EXPECT_NE(r.find("(more: --before 7)"), std::string::npos) << r;
  EXPECT_EQ(RenderForgotten(boost::json::parse(R"({"projectId":"a","historyRemoved":4})"), {}),
            "a: forgotten; 4 history rows removed\n");
}

}  // namespace
}  // namespace sbx::cli
