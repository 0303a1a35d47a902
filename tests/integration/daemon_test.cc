// End-to-end tests of the real sandboxd: the binary from the build dir on
// 127.0.0.1:0 with SQLite in a temp dir, real runc containers running the
// hello template, driven through sandboxctl and a Beast client. Labelled
// `integration;runc`; they need root and runc and fail (never skip) without.
// Each test owns its daemons (see daemon.h) and a port range of its own, so
// ctest may run them in parallel. Idle timeouts are 2 s, so waits are short
// and real.
#include "integration/daemon.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "integration/http_client.h"
#include "integration/sse_client.h"
#include "integration/support.h"

namespace sbx::integration {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
using boost::beast::http::verb;
using namespace std::chrono_literals;

// Sandbox port ranges (100 ports each), one per daemon in this file.
constexpr int kUserTourPorts = 44000;
constexpr int kRestartRecoveryPorts = 44100;
constexpr int kCrashDurabilityPorts = 44200;
constexpr int kBadInputPorts = 44300;
constexpr int kSideBySidePortsA = 44400;
constexpr int kSideBySidePortsB = 44500;
constexpr int kEnforcerRunsPorts = 44600;
constexpr int kSetIdleTimeoutPorts = 44700;
constexpr int kStartupOutputPorts = 44800;
constexpr int kGracefulShutdownPorts = 44900;
constexpr int kOneDataDirPorts = 45000;
constexpr int kAbusePorts = 45100;
constexpr int kGivenTokenPorts = 45200;
constexpr int kHoldsPorts = 45300;
constexpr int kLogsPorts = 45400;
constexpr int kExplainPorts = 45500;
constexpr int kCliPorts = 45600;
constexpr int kPolicyPorts = 45700;
constexpr int kAlertedCountersPorts = 45800;

// With --idle-timeout 2s and a sweep every second, an idle sandbox is paused
// 2 s after its last activity; this is the slack we allow on top.
constexpr auto kPauseSlack = 4s;

// sandboxctl must succeed and print a sandbox object.
std::optional<SandboxView> CtlSandbox(const Daemon& d, const std::vector<std::string>& args,
                                      std::string* why) {
  CommandResult r = d.Ctl(args);
  if (r.exit_code != 0) {
    *why = "sandboxctl " + JoinArgv(args) + ": exit " + std::to_string(r.exit_code) + ": " + r.err;
    return std::nullopt;
  }
  return ParseSandbox(r.out, why);
}

// The newest history event of this type and source, or nullptr.
const HistoryEvent* FindEvent(const std::vector<HistoryEvent>& events, const std::string& type,
                              const std::string& source) {
  for (const auto& e : events) {
    if (e.type == type && e.source == source) return &e;
  }
  return nullptr;
}

std::string Dump(const std::vector<HistoryEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    out += "  " + Show(e.at) + " " + e.type + " source=" + e.source + " outcome=" + e.outcome +
           " status=" + e.status + " sandbox=" + e.sandbox_id + "\n";
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Project ids in GET /api/sandboxes (first page, up to 1000).
std::optional<std::set<std::string>> ListedProjects(const Daemon& d, std::string* why) {
  HttpResponse r = d.Call(verb::get, "/api/sandboxes?limit=1000");
  if (!r.answered || r.status != 200) {
    *why = "GET /api/sandboxes: " + r.Describe();
    return std::nullopt;
  }
  boost::json::value v = r.Json();
  const boost::json::value* items =
      v.is_object() ? v.as_object().if_contains("sandboxes") : nullptr;
  if (!items || !items->is_array()) {
    *why = "no \"sandboxes\" array: " + r.body;
    return std::nullopt;
  }
  std::set<std::string> out;
  for (const auto& item : items->as_array()) {
    auto s = ParseSandbox(item, why);
    if (!s) return std::nullopt;
    out.insert(s->project_id);
  }
  return out;
}

// The error code of a {"error":{"code","message"}} body, or "" when the body
// is not one.
std::string ErrorCode(const HttpResponse& r) {
  boost::json::value v = r.Json();
  const boost::json::value* error = v.is_object() ? v.as_object().if_contains("error") : nullptr;
  if (!error || !error->is_object()) return "";
  const boost::json::value* code = error->as_object().if_contains("code");
  const boost::json::value* message = error->as_object().if_contains("message");
  if (!code || !code->is_string() || !message || !message->is_string() ||
      message->as_string().empty()) {
    return "";
  }
  return std::string(code->as_string());
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(CheckPrerequisites()); }
};

// The README's tour: create, idle pause, wake with the process intact,
// activity keeps it alive, kill, and wake of a killed sandbox.
TEST_F(DaemonTest, UserTour) {
  Daemon d({.first_port = kUserTourPorts});
  ASSERT_TRUE(d.Start());
  std::string why;

  // Created RUNNING, serving on a port of this daemon's range.
  auto created = CtlSandbox(d, {"create", "demo"}, &why);
  ASSERT_TRUE(created) << why;
  EXPECT_EQ(created->project_id, "demo");
  EXPECT_EQ(created->status, "RUNNING");
  EXPECT_EQ(created->template_name, "hello");
  EXPECT_EQ(created->idle_timeout_s, 2);
  EXPECT_FALSE(created->has_last_error);
  ASSERT_FALSE(created->sandbox_id.empty());
  const std::string id = created->sandbox_id;
  // The url is the preview gateway's; the port it names is the sandbox's own.
  const std::string url = created->url;
  auto preview = ParsePreviewUrl(url);
  ASSERT_TRUE(preview) << "url \"" << url << "\"";
  EXPECT_EQ(url, "http://" + std::to_string(preview->sandbox_port) + "-" + id + "." +
                     d.preview_domain() + "/");
  EXPECT_EQ(preview->gateway_port, d.preview_port());
  EXPECT_EQ(preview->sandbox_port, 8080) << "every sandbox serves on its template's port";
  auto first_state = GetHelloState(url, &why);
  ASSERT_TRUE(first_state) << why;
  EXPECT_EQ(d.RuncStatus(id), "running") << "runc does not know container " << id;
  EXPECT_TRUE(fs::is_directory(d.sandboxes_dir() / id)) << "no bundle for " << id;

  // Status: the enforcer's deadline is lastActivityAt + idle timeout.
  auto status = CtlSandbox(d, {"status", "demo"}, &why);
  ASSERT_TRUE(status) << why;
  ASSERT_EQ(status->status, "RUNNING");
  ASSERT_TRUE(status->pause_at.has_value());
  EXPECT_EQ(*status->pause_at - status->last_activity_at, 2s)
      << "lastActivityAt " << Show(status->last_activity_at) << " pauseAt "
      << Show(status->pause_at);
  const SystemTime last_activity = status->last_activity_at;

  // Left alone it is paused by the enforcer, on time and not before.
  ASSERT_TRUE(WaitFor([&] { return d.StatusOf("demo") == "PAUSED"; }, 2s + kPauseSlack))
      << "still " << d.StatusOf("demo") << " " << kPauseSlack.count() << " s after its pauseAt";
  auto history = d.History("demo", &why);
  ASSERT_TRUE(history) << why;
  const HistoryEvent* claim = FindEvent(*history, "pause_requested", "enforcer");
  const HistoryEvent* paused = FindEvent(*history, "paused", "enforcer");
  ASSERT_NE(paused, nullptr) << "no paused event from the enforcer:\n" << Dump(*history);
  ASSERT_NE(claim, nullptr) << "no pause_requested event from the enforcer:\n" << Dump(*history);
  EXPECT_GE(claim->at - last_activity, 1900ms)
      << "enforcer claimed the pause " << Ms(claim->at - last_activity)
      << " ms after the last activity (idle timeout 2 s):\n"
      << Dump(*history);
  EXPECT_GE(paused->at - last_activity, 1900ms) << Dump(*history);
  EXPECT_LE(paused->at - last_activity, 2s + kPauseSlack) << Dump(*history);
  auto paused_view = d.Get("demo", &why);
  ASSERT_TRUE(paused_view) << why;
  EXPECT_FALSE(paused_view->pause_at.has_value()) << "pauseAt must be null unless RUNNING";
  EXPECT_EQ(d.RuncStatus(id), "paused");
  HttpResponse probe = ProbeSandbox(url);
  EXPECT_TRUE(probe.NoAnswer()) << "a paused sandbox must not answer: " << probe.Describe();

  // Wake: RUNNING again, and the same process (frozen, not restarted).
  auto woken = CtlSandbox(d, {"wake", "demo", "--wait"}, &why);
  ASSERT_TRUE(woken) << why;
  ASSERT_EQ(woken->status, "RUNNING");
  EXPECT_EQ(woken->sandbox_id, id);
  EXPECT_EQ(woken->url, url);
  auto resumed_state = GetHelloState(url, &why);
  ASSERT_TRUE(resumed_state) << why;
  EXPECT_EQ(resumed_state->started_at, first_state->started_at) << "the process was restarted";
  EXPECT_GE(resumed_state->requests, first_state->requests + 1) << "the request counter was reset";
  EXPECT_EQ(d.RuncStatus(id), "running");

  // Activity every second keeps it running past its original pauseAt.
  auto awake = d.Get("demo", &why);
  ASSERT_TRUE(awake) << why;
  ASSERT_EQ(awake->status, "RUNNING") << "paused again right after the wake";
  ASSERT_TRUE(awake->pause_at.has_value());
  const SystemTime original_pause_at = *awake->pause_at;
  SystemTime previous_pause_at = original_pause_at;
  for (int i = 0; i < 4; ++i) {
    SleepFor(1s);
    CommandResult activity = d.Ctl({"activity", "demo"});
    ASSERT_EQ(activity.exit_code, 0) << activity.err;
    auto now = d.Get("demo", &why);
    ASSERT_TRUE(now) << why;
    ASSERT_EQ(now->status, "RUNNING") << "paused although activity arrives every second";
    ASSERT_TRUE(now->pause_at.has_value());
    EXPECT_GT(*now->pause_at, previous_pause_at) << "activity did not move pauseAt forward";
    EXPECT_EQ(*now->pause_at - now->last_activity_at, 2s);
    previous_pause_at = *now->pause_at;
  }
  EXPECT_GT(WallNow(), original_pause_at + 1s);
  EXPECT_EQ(d.RuncStatus(id), "running");
  auto kept_state = GetHelloState(url, &why);
  EXPECT_TRUE(kept_state) << why;

  // Kill: KILLED, container and bundle gone, port closed.
  CommandResult killed = d.Ctl({"kill", "demo"});
  ASSERT_EQ(killed.exit_code, 0) << killed.err;
  auto dead = d.Get("demo", &why);
  ASSERT_TRUE(dead) << why << " (the record must stay after a kill)";
  EXPECT_EQ(dead->status, "KILLED");
  EXPECT_FALSE(dead->pause_at.has_value());
  EXPECT_FALSE(Contains(d.RuncList(), id)) << "container " << id << " still exists";
  EXPECT_FALSE(fs::exists(d.sandboxes_dir() / id)) << "bundle of " << id << " still exists";
  EXPECT_FALSE(ProbeSandbox(url).answered) << "a killed sandbox still answers on " << url;

  // Wake of a KILLED sandbox makes a fresh one.
  auto fresh = CtlSandbox(d, {"wake", "demo", "--wait"}, &why);
  ASSERT_TRUE(fresh) << why;
  EXPECT_EQ(fresh->status, "RUNNING");
  ASSERT_FALSE(fresh->sandbox_id.empty());
  EXPECT_NE(fresh->sandbox_id, id);
  auto fresh_state = GetHelloState(fresh->url, &why);
  ASSERT_TRUE(fresh_state) << why;
  EXPECT_NE(fresh_state->started_at, first_state->started_at) << "not a new process";
  EXPECT_TRUE(Contains(d.RuncList(), fresh->sandbox_id));
  EXPECT_EQ(d.StatusOf("demo"), "RUNNING");
}

// Start-up reconciliation after a clean stop: a container that vanished while
// sandboxd was down becomes KILLED; a paused one stays PAUSED and resumes.
TEST_F(DaemonTest, RestartRecovery) {
  Daemon d({.first_port = kRestartRecoveryPorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  std::string why;
  HttpResponse r1 = d.Call(verb::post, SandboxPath("vanishing"));
  ASSERT_EQ(r1.status, 201) << r1.Describe();
  HttpResponse r2 = d.Call(verb::post, SandboxPath("sleeper"));
  ASSERT_EQ(r2.status, 201) << r2.Describe();
  auto vanishing = ParseSandbox(r1.body, &why);
  ASSERT_TRUE(vanishing) << why;
  auto sleeper = ParseSandbox(r2.body, &why);
  ASSERT_TRUE(sleeper) << why;
  EXPECT_EQ(vanishing->idle_timeout_s, 3600);
  auto sleeper_state = GetHelloState(sleeper->url, &why);
  ASSERT_TRUE(sleeper_state) << why;

  HttpResponse pause = d.Call(verb::post, SandboxPath("sleeper") + "/pause");
  ASSERT_EQ(pause.status, 202) << pause.Describe();
  ASSERT_TRUE(WaitFor([&] { return d.StatusOf("sleeper") == "PAUSED"; }, 10s))
      << d.StatusOf("sleeper");
  EXPECT_EQ(d.RuncStatus(sleeper->sandbox_id), "paused");

  ASSERT_TRUE(d.Stop());
  // Behind sandboxd's back, the running sandbox disappears.
  CommandResult kill = Runc(d.runc_root(), {"kill", vanishing->sandbox_id, "KILL"});
  EXPECT_EQ(kill.exit_code, 0) << kill.err;
  CommandResult del = Runc(d.runc_root(), {"delete", "--force", vanishing->sandbox_id});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  ASSERT_FALSE(Contains(d.RuncList(), vanishing->sandbox_id));
  ASSERT_EQ(d.RuncStatus(sleeper->sandbox_id), "paused");

  ASSERT_TRUE(d.Start());
  EXPECT_TRUE(WaitFor([&] { return d.StatusOf("vanishing") == "KILLED"; }, 15s))
      << "the vanished sandbox is still " << d.StatusOf("vanishing");
  auto history = d.History("vanishing", &why);
  ASSERT_TRUE(history) << why;
  const auto repaired = std::find_if(history->begin(), history->end(), [](const HistoryEvent& e) {
    return e.source == "reconciler" && e.status == "KILLED";
  });
  EXPECT_NE(repaired, history->end()) << "KILLED not recorded by the reconciler:\n"
                                      << Dump(*history);

  auto still = d.Get("sleeper", &why);
  ASSERT_TRUE(still) << why;
  EXPECT_EQ(still->status, "PAUSED");
  EXPECT_EQ(still->sandbox_id, sleeper->sandbox_id);
  auto sleeper_history = d.History("sleeper", &why);
  ASSERT_TRUE(sleeper_history) << why;
  for (const auto& e : *sleeper_history) {
    EXPECT_NE(e.source, "reconciler") << "the paused sandbox needed no repair:\n"
                                      << Dump(*sleeper_history);
  }
  EXPECT_EQ(d.RuncStatus(sleeper->sandbox_id), "paused");

  auto woken = CtlSandbox(d, {"wake", "sleeper", "--wait"}, &why);
  ASSERT_TRUE(woken) << why;
  EXPECT_EQ(woken->status, "RUNNING");
  EXPECT_EQ(woken->sandbox_id, sleeper->sandbox_id);
  auto resumed_state = GetHelloState(woken->url, &why);
  ASSERT_TRUE(resumed_state) << why;
  EXPECT_EQ(resumed_state->started_at, sleeper_state->started_at) << "the process was restarted";
  EXPECT_GE(resumed_state->requests, sleeper_state->requests + 1);
}

// Invariant 2: acknowledged activity survives kill -9 of the daemon.
TEST_F(DaemonTest, CrashDurability) {
  Daemon d({.first_port = kCrashDurabilityPorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  std::string why;
  HttpResponse create = d.Call(verb::post, SandboxPath("durable"));
  ASSERT_EQ(create.status, 201) << create.Describe();
  auto created = ParseSandbox(create.body, &why);
  ASSERT_TRUE(created) << why;
  SystemTime stored = created->last_activity_at;

  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    SleepFor(20ms);  // a later millisecond than the stored lastActivityAt
    const SystemTime sent_after = TruncateToMillis(WallNow());
    ASSERT_GT(sent_after, stored);
    HttpResponse activity = d.Call(verb::post, SandboxPath("durable") + "/activity");
    ASSERT_EQ(activity.status, 204) << activity.Describe();
    ASSERT_TRUE(d.Kill9());  // right after the acknowledgement

    ASSERT_TRUE(d.Start());
    auto after = d.Get("durable", &why);
    ASSERT_TRUE(after) << why;
    EXPECT_EQ(after->status, "RUNNING");
    EXPECT_GE(after->last_activity_at, sent_after)
        << "acknowledged activity lost: stored lastActivityAt " << Show(after->last_activity_at)
        << ", activity acknowledged after " << Show(sent_after);
    stored = after->last_activity_at;
  }

  // Same with the acknowledged value read back from the API before the crash.
  SleepFor(20ms);
  HttpResponse activity = d.Call(verb::post, SandboxPath("durable") + "/activity");
  ASSERT_EQ(activity.status, 204) << activity.Describe();
  auto acknowledged = d.Get("durable", &why);
  ASSERT_TRUE(acknowledged) << why;
  ASSERT_GT(acknowledged->last_activity_at, stored);
  ASSERT_TRUE(d.Kill9());
  ASSERT_TRUE(d.Start());
  auto after = d.Get("durable", &why);
  ASSERT_TRUE(after) << why;
  EXPECT_EQ(after->status, "RUNNING");
  EXPECT_GE(after->last_activity_at, acknowledged->last_activity_at);
  EXPECT_EQ(after->sandbox_id, created->sandbox_id);
  auto state = GetHelloState(after->url, &why);
  EXPECT_TRUE(state) << why;
}

// An alert on a counter's increase sees nothing when the series first appears
// already above 0 (a burst of errors within one scrape): every counter
// series that docs/monitoring/alerts.yml watches that way is exported
// by a daemon that has done nothing yet.
TEST_F(DaemonTest, EveryCounterAnAlertWatchesExistsFromTheStart) {
  std::ifstream file(std::string(SBX_SOURCE_DIR) + "/docs/monitoring/alerts.yml");
  ASSERT_TRUE(file) << "docs/monitoring/alerts.yml";
  const std::string rules((std::istreambuf_iterator<char>(file)), {});
  // increase(name{label="v"}[…]) or increase(name{label=~"a|b"}[…]) or increase(name[…]).
  // For each, the start of a line of /metrics that must be there.
  const std::regex watched(R"re(increase\((sandboxd_[a-z_]+)(\{(\w+)(=~?)"([^"]*)"\})?\[)re");
  std::vector<std::string> lines;
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), watched);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    if (!m[2].matched) {
      lines.push_back(m[1].str());  // any labels of its own
      continue;
    }
    std::stringstream values(m[5].str());
    for (std::string v; std::getline(values, v, '|');) {
      lines.push_back(m[1].str() + "{" + m[3].str() + "=\"" + v + "\"} ");
    }
  }
  ASSERT_GE(lines.size(), 8u) << "alerts.yml has fewer increase() rules than expected";

  Daemon d({.first_port = kAlertedCountersPorts});
  ASSERT_TRUE(d.Start());
  HttpResponse metrics = d.Call(verb::get, "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.Describe();
  for (const std::string& line : lines) {
    EXPECT_NE(metrics.body.find("\n" + line), std::string::npos)
        << line << " is not exported before anything happened:\n" << metrics.body;
  }
}

// Invariants 8 and 9: bad input gets a clear 4xx and changes nothing.
TEST_F(DaemonTest, BadInput) {
  Daemon d({.first_port = kBadInputPorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  std::string why;
  const std::vector<std::pair<std::string, std::string>> no_token = {};
  const std::vector<std::pair<std::string, std::string>> wrong_token = {
      {"Authorization", "Bearer not-the-token"}};

  for (const auto& headers : {no_token, wrong_token}) {
    SCOPED_TRACE(headers.empty() ? "no token" : "wrong token");
    HttpResponse list = d.CallWithHeaders(verb::get, "/api/sandboxes", headers);
    EXPECT_EQ(list.status, 401) << list.Describe();
    EXPECT_EQ(ErrorCode(list), "unauthenticated") << list.Describe();
    HttpResponse create = d.CallWithHeaders(verb::post, SandboxPath("intruder"), headers, "{}");
    EXPECT_EQ(create.status, 401) << create.Describe();
    EXPECT_EQ(ErrorCode(create), "unauthenticated") << create.Describe();
  }
  HttpResponse intruder = d.Call(verb::get, SandboxPath("intruder"));
  EXPECT_EQ(intruder.status, 404) << "an unauthenticated create changed something: "
                                  << intruder.Describe();

  HttpResponse malformed = d.Call(verb::post, SandboxPath("malformed"), "{not json");
  EXPECT_EQ(malformed.status, 400) << malformed.Describe();
  EXPECT_EQ(ErrorCode(malformed), "invalid_argument") << malformed.Describe();
  HttpResponse negative =
      d.Call(verb::post, SandboxPath("negative"), R"({"idleTimeoutSeconds":-1})");
  EXPECT_EQ(negative.status, 400) << negative.Describe();
  EXPECT_EQ(ErrorCode(negative), "invalid_argument") << negative.Describe();
  for (const char* project : {"malformed", "negative"}) {
    HttpResponse r = d.Call(verb::get, SandboxPath(project));
    EXPECT_EQ(r.status, 404) << project << " was created from a bad request: " << r.Describe();
  }

  // A real sandbox, then bad changes to it change nothing.
  HttpResponse real = d.Call(verb::post, SandboxPath("real"));
  ASSERT_EQ(real.status, 201) << real.Describe();
  auto before = ParseSandbox(real.body, &why);
  ASSERT_TRUE(before) << why;
  for (const char* body :
       {"{not json", R"({"idleTimeoutSeconds":-1})", R"({"idleTimeoutSeconds":"1h"})"}) {
    HttpResponse patch = d.Call(verb::patch, SandboxPath("real"), body);
    EXPECT_EQ(patch.status, 400) << body << ": " << patch.Describe();
    EXPECT_EQ(ErrorCode(patch), "invalid_argument") << patch.Describe();
  }
  auto after = d.Get("real", &why);
  ASSERT_TRUE(after) << why;
  EXPECT_EQ(after->version, before->version) << "a rejected PATCH changed the record";
  EXPECT_EQ(after->idle_timeout_s, 3600);

  // Unknown project: 404 not_found on every route, nothing created.
  const std::string ghost = SandboxPath("ghost");
  const std::vector<std::pair<verb, std::string>> ghost_calls = {{verb::get, ghost},
                                                                 {verb::post, ghost + "/wake"},
                                                                 {verb::post, ghost + "/pause"},
                                                                 {verb::post, ghost + "/activity"},
                                                                 {verb::delete_, ghost},
                                                                 {verb::get, ghost + "/history"},
                                                                 {verb::patch, ghost}};
  for (const auto& [method, target] : ghost_calls) {
    const std::string body = method == verb::patch ? R"({"idleTimeoutSeconds":60})" : "";
    HttpResponse r = d.Call(method, target, body);
    EXPECT_EQ(r.status, 404) << boost::beast::http::to_string(method) << " " << target << ": "
                             << r.Describe();
    EXPECT_EQ(ErrorCode(r), "not_found") << r.Describe();
  }
  CommandResult ctl = d.Ctl({"status", "ghost"});
  EXPECT_EQ(ctl.exit_code, 1);
  EXPECT_NE(ctl.err.find("not_found"), std::string::npos) << ctl.err;
  EXPECT_TRUE(ctl.out.empty()) << ctl.out;

  // A body over 1 MiB: 413, and the daemon keeps serving.
  const std::string huge = R"({"template":")" + std::string((1 << 20) + 16, 'a') + R"("})";
  HttpResponse too_big = d.Call(verb::post, SandboxPath("huge"), huge);
  EXPECT_EQ(too_big.status, 413) << too_big.Describe().substr(0, 300);
  EXPECT_EQ(ErrorCode(too_big), "payload_too_large") << too_big.Describe().substr(0, 300);
  HttpResponse huge_get = d.Call(verb::get, SandboxPath("huge"));
  EXPECT_EQ(huge_get.status, 404) << huge_get.Describe();

  // Routes anyone may send to answer from the head: a body of up to 1 MiB
  // announced to the webhook (its own 64 KiB limit), sign-in, a 405 or the
  // static files is never read, so unknown clients cannot make the daemon
  // hold it. The test sends the head and a few bytes, never the rest.
  auto answer_to_head = [&](const std::string& head) {
    net::io_context io;
    net::ip::tcp::socket s(io);
    s.connect({net::ip::make_address("127.0.0.1"), d.port()});
    net::write(s, net::buffer(head + "Content-Length: 1000000\r\n\r\n{\"a\":"));
    std::string got;
    char buf[4096];
    boost::system::error_code ec;
    timeval wait{.tv_sec = 5, .tv_usec = 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    while (got.find("\r\n\r\n") == std::string::npos) {
      const size_t n = s.read_some(net::buffer(buf), ec);
      if (ec) break;
      got.append(buf, n);
    }
    return got.substr(0, got.find("\r\n"));
  };
  EXPECT_EQ(answer_to_head("POST /api/webhooks/e2b HTTP/1.1\r\nHost: x\r\n"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(answer_to_head("POST /api/session HTTP/1.1\r\nHost: x\r\n"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(answer_to_head("POST /healthz HTTP/1.1\r\nHost: x\r\n"),
            "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(answer_to_head("GET /healthz HTTP/1.1\r\nHost: x\r\n"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(answer_to_head("GET /readyz HTTP/1.1\r\nHost: x\r\n"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(answer_to_head("POST /dashboard/page HTTP/1.1\r\nHost: x\r\n"),
            "HTTP/1.1 404 Not Found");

  std::string list_why;
  auto listed = ListedProjects(d, &list_why);
  ASSERT_TRUE(listed) << list_why;
  EXPECT_EQ(*listed, std::set<std::string>{"real"});
  EXPECT_EQ(d.RuncList(), std::vector<std::string>{before->sandbox_id});

  for (const char* target : {"/healthz", "/readyz"}) {
    HttpResponse r = d.CallWithHeaders(verb::get, target, {});
    EXPECT_EQ(r.status, 200) << target << ": " << r.Describe();
  }
  // Metrics need the token like every other non-health route (invariant 9).
  EXPECT_EQ(d.CallWithHeaders(verb::get, "/metrics", {}).status, 401);
  HttpResponse metrics = d.Call(verb::get, "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.Describe();
  for (const char* needle : {"sandboxd_http_requests_total{", "sandboxd_sandboxes{", "code=\"401\"",
                             "code=\"404\"", "code=\"413\""}) {
    EXPECT_NE(metrics.body.find(needle), std::string::npos) << "no " << needle << " in /metrics";
  }
  EXPECT_EQ(d.StatusOf("real"), "RUNNING");
}

// Two daemons with their own data dirs and port ranges do not see or touch
// each other's sandboxes, even for the same project id.
TEST_F(DaemonTest, TwoInstancesSideBySide) {
  Daemon a({.first_port = kSideBySidePortsA, .idle_timeout = "1h"});
  Daemon b({.first_port = kSideBySidePortsB, .idle_timeout = "1h"});
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());

  struct Created {
    std::vector<HttpResponse> responses;
  };
  Created in_a, in_b;
  auto create = [](const Daemon& d, const std::string& own, Created& out) {
    out.responses.push_back(d.Call(verb::post, SandboxPath("shared")));
    out.responses.push_back(d.Call(verb::post, SandboxPath(own)));
  };
  std::thread ta([&] { create(a, "only-a", in_a); });
  std::thread tb([&] { create(b, "only-b", in_b); });
  ta.join();
  tb.join();

  std::string why;
  std::map<std::string, SandboxView> sandboxes;  // "a/shared" -> view
  for (auto [name, created, d] : {std::tuple{"a", &in_a, &a}, std::tuple{"b", &in_b, &b}}) {
    for (const HttpResponse& r : created->responses) {
      ASSERT_EQ(r.status, 201) << name << ": " << r.Describe();
      auto s = ParseSandbox(r.body, &why);
      ASSERT_TRUE(s) << why;
      EXPECT_EQ(s->status, "RUNNING");
      auto preview = ParsePreviewUrl(s->url);
      ASSERT_TRUE(preview) << s->url;
      EXPECT_EQ(preview->gateway_port, d->preview_port()) << name << " url names another gateway";
      EXPECT_EQ(preview->sandbox_port, 8080) << name << ": the template's port, in its own namespace";
      sandboxes[std::string(name) + "/" + s->project_id] = *s;
    }
  }
  ASSERT_EQ(sandboxes.size(), 4u);
  std::set<std::string> ids;
  for (const auto& [key, s] : sandboxes) {
    ids.insert(s.sandbox_id);
    auto state = GetHelloState(s.url, &why);
    EXPECT_TRUE(state) << key << ": " << why;
  }
  EXPECT_EQ(ids.size(), 4u) << "sandbox ids collide across daemons";

  auto listed_a = ListedProjects(a, &why);
  ASSERT_TRUE(listed_a) << why;
  EXPECT_EQ(*listed_a, (std::set<std::string>{"only-a", "shared"}));
  auto listed_b = ListedProjects(b, &why);
  ASSERT_TRUE(listed_b) << why;
  EXPECT_EQ(*listed_b, (std::set<std::string>{"only-b", "shared"}));
  auto runc_a = a.RuncList();
  auto runc_b = b.RuncList();
  EXPECT_EQ(
      std::set<std::string>(runc_a.begin(), runc_a.end()),
      (std::set<std::string>{sandboxes["a/shared"].sandbox_id, sandboxes["a/only-a"].sandbox_id}));
  EXPECT_EQ(
      std::set<std::string>(runc_b.begin(), runc_b.end()),
      (std::set<std::string>{sandboxes["b/shared"].sandbox_id, sandboxes["b/only-b"].sandbox_id}));

  // Killing "shared" in a leaves b's "shared" alone.
  HttpResponse kill = a.Call(verb::delete_, SandboxPath("shared"));
  ASSERT_EQ(kill.status, 204) << kill.Describe();
  EXPECT_EQ(a.StatusOf("shared"), "KILLED");
  EXPECT_EQ(a.StatusOf("only-a"), "RUNNING");
  EXPECT_EQ(b.StatusOf("shared"), "RUNNING");
  EXPECT_EQ(b.StatusOf("only-b"), "RUNNING");
  EXPECT_FALSE(Contains(a.RuncList(), sandboxes["a/shared"].sandbox_id));
  EXPECT_TRUE(Contains(b.RuncList(), sandboxes["b/shared"].sandbox_id));
  auto b_shared = GetHelloState(sandboxes["b/shared"].url, &why);
  EXPECT_TRUE(b_shared) << why;
  auto a_only = GetHelloState(sandboxes["a/only-a"].url, &why);
  EXPECT_TRUE(a_only) << why;
}

// Every enforcer pass is recorded; the one that paused says so.
TEST_F(DaemonTest, EnforcerRunsRecorded) {
  Daemon d({.first_port = kEnforcerRunsPorts});
  ASSERT_TRUE(d.Start());
  std::string why;
  HttpResponse create = d.Call(verb::post, SandboxPath("idle"));
  ASSERT_EQ(create.status, 201) << create.Describe();
  ASSERT_TRUE(WaitFor([&] { return d.StatusOf("idle") == "PAUSED"; }, 2s + kPauseSlack))
      << d.StatusOf("idle");

  // The run is stored when its pass ends, which may be just after the pause
  // it made is visible.
  HttpResponse runs;
  std::optional<std::vector<EnforcerRun>> parsed;
  auto has_pausing_run = [&] {
    runs = d.Call(verb::get, "/api/jobs/idle-enforcer/runs");
    parsed = runs.status == 200 ? ParseRuns(runs.body, &why) : std::nullopt;
    return parsed && std::any_of(parsed->begin(), parsed->end(),
                                 [](const EnforcerRun& r) { return r.paused >= 1; });
  };
  ASSERT_TRUE(WaitFor(has_pausing_run, 5s))
      << "no run with paused >= 1: " << runs.Describe() << " " << why;
  const auto pausing_run = std::find_if(parsed->begin(), parsed->end(),
                                        [](const EnforcerRun& r) { return r.paused >= 1; });
  EXPECT_GE(pausing_run->checked, pausing_run->paused);
  EXPECT_EQ(pausing_run->failed, 0);
  EXPECT_EQ(pausing_run->errors, 0u);
  EXPECT_LE(pausing_run->started_at, pausing_run->finished_at);
  EXPECT_FALSE(pausing_run->trigger.empty());

  CommandResult ctl = d.Ctl({"runs"});
  ASSERT_EQ(ctl.exit_code, 0) << ctl.err;
  auto via_ctl = ParseRuns(ctl.out, &why);
  ASSERT_TRUE(via_ctl) << why;
  EXPECT_TRUE(std::any_of(via_ctl->begin(), via_ctl->end(),
                          [](const EnforcerRun& r) { return r.paused >= 1; }));

  HttpResponse metrics = d.Call(verb::get, "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.Describe();
  EXPECT_NE(metrics.body.find("sandboxd_enforcer_runs_total"), std::string::npos);
  EXPECT_NE(metrics.body.find("sandboxd_sandboxes{status=\"PAUSED\"} 1"), std::string::npos)
      << metrics.body;
}

// A longer idle timeout moves pauseAt out and keeps the sandbox running.
TEST_F(DaemonTest, SetIdleTimeout) {
  Daemon d({.first_port = kSetIdleTimeoutPorts});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto created = CtlSandbox(d, {"create", "demo"}, &why);
  ASSERT_TRUE(created) << why;
  ASSERT_EQ(created->idle_timeout_s, 2);

  auto changed = CtlSandbox(d, {"set-idle-timeout", "demo", "1h"}, &why);
  ASSERT_TRUE(changed) << why;
  EXPECT_EQ(changed->idle_timeout_s, 3600);
  ASSERT_EQ(changed->status, "RUNNING") << "paused before the new timeout applied";
  ASSERT_TRUE(changed->pause_at.has_value());
  EXPECT_EQ(*changed->pause_at - changed->last_activity_at, 1h);
  EXPECT_GT(*changed->pause_at, WallNow() + 59min);

  // Well past the old 2 s deadline it is still running and serving.
  SleepFor(2s + 2s);
  auto later = d.Get("demo", &why);
  ASSERT_TRUE(later) << why;
  EXPECT_EQ(later->status, "RUNNING");
  EXPECT_EQ(later->idle_timeout_s, 3600);
  EXPECT_EQ(later->pause_at, changed->pause_at);
  auto state = GetHelloState(later->url, &why);
  EXPECT_TRUE(state) << why;
  auto history = d.History("demo", &why);
  ASSERT_TRUE(history) << why;
  EXPECT_EQ(FindEvent(*history, "pause_requested", "enforcer"), nullptr) << Dump(*history);
  EXPECT_EQ(d.RuncStatus(created->sandbox_id), "running");
}

// Busy holds on the real daemon: a hold outlives the idle timeout and a
// restart; releasing it lets the enforcer pause; `hold -- command` holds for
// as long as the command runs and passes its exit code on.
TEST_F(DaemonTest, HoldsKeepASandboxAwakeAcrossARestart) {
  Daemon d({.first_port = kHoldsPorts});  // --idle-timeout 2s, sweep every second
  ASSERT_TRUE(d.Start());
  std::string why;
  auto created = CtlSandbox(d, {"create", "demo"}, &why);
  ASSERT_TRUE(created) << why;
  CommandResult hold = d.Ctl({"hold", "demo", "build", "--for", "1h"});
  ASSERT_EQ(hold.exit_code, 0) << hold.err;
  EXPECT_NE(hold.out.find("\"name\":\"build\""), std::string::npos) << hold.out;
  SleepFor(2s + kPauseSlack);
  auto held = d.Get("demo", &why);
  ASSERT_TRUE(held) << why;
  EXPECT_EQ(held->status, "RUNNING");
  ASSERT_TRUE(d.Stop());
  ASSERT_TRUE(d.Start());
  SleepFor(2s + 1s);
  auto restarted = d.Get("demo", &why);
  ASSERT_TRUE(restarted) << why;
  EXPECT_EQ(restarted->status, "RUNNING") << "the hold did not survive the restart";
  CommandResult list = d.Ctl({"holds", "demo"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\"build\""), std::string::npos) << list.out;
  EXPECT_EQ(d.RuncStatus(created->sandbox_id), "running");
  // Visible in the list and the metrics too.
  CommandResult all = d.Ctl({"list"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("\"holds\":[{\"name\":\"build\""), std::string::npos) << all.out;
  EXPECT_NE(d.Call(verb::get, "/metrics").body.find("\nsandboxd_holds 1\n"), std::string::npos);

  CommandResult unhold = d.Ctl({"unhold", "demo", "build"});
  ASSERT_EQ(unhold.exit_code, 0) << unhold.err;
  EXPECT_TRUE(WaitFor([&] { auto s = d.Get("demo", &why); return s && s->status == "PAUSED"; },
                      kPauseSlack))
      << "not paused after the hold was released";
  EXPECT_NE(d.Call(verb::get, "/metrics").body.find("\nsandboxd_holds 0\n"), std::string::npos);

  auto woken = CtlSandbox(d, {"wake", "demo", "--wait"}, &why);
  ASSERT_TRUE(woken) << why;
  // Runs 6 s, three idle timeouts, and exits 3. Renewed every 4 s / 3.
  CommandResult held_run =
      d.Ctl({"hold", "demo", "--for", "4s", "--", "sh", "-c", "sleep 6; exit 3"});
  EXPECT_EQ(held_run.exit_code, 3) << held_run.err;
  // Released when the command ended: idle for longer than its timeout, it
  // pauses at once.
  EXPECT_TRUE(WaitFor([&] { auto s = d.Get("demo", &why); return s && s->status == "PAUSED"; },
                      kPauseSlack));
  auto history = d.History("demo", &why);
  ASSERT_TRUE(history) << why;
  // Newest first: the release, then (older) the renewals back to the wake,
  // with no pause by the enforcer among them.
  size_t i = 0;
  while (i < history->size() && (*history)[i].type != "hold_released") ++i;
  ASSERT_LT(i, history->size()) << Dump(*history);
  int renewals = 0;
  for (; i < history->size() && (*history)[i].type != "wake_requested"; ++i) {
    const HistoryEvent& row = (*history)[i];
    EXPECT_NE(row.type, "pause_requested") << Dump(*history);
    if (row.type != "hold_placed") continue;
    ++renewals;
    // Placed for at least 2 min, however short --for: a renewal never comes
    // within the pause warning ("<name> until <time>").
    const size_t until = row.detail.find(" until ");
    ASSERT_NE(until, std::string::npos) << row.detail;
    auto expires = ParseRfc3339(row.detail.substr(until + 7));
    ASSERT_TRUE(expires.ok()) << row.detail;
    EXPECT_GE(*expires - row.at, 119s) << row.detail;
  }
  EXPECT_GE(renewals, 3) << Dump(*history);  // placed, then renewed every ~1.3 s for 6 s
  CommandResult usage = d.Ctl({"hold", "demo"});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;

  // Paused from elsewhere while held (here by the command itself): no
  // renewal can succeed until a wake, so sandboxctl says once that the hold
  // ended, stops renewing, and runs the command to its end.
  ASSERT_TRUE(CtlSandbox(d, {"wake", "demo", "--wait"}, &why)) << why;
  std::string pause_now;
  for (const std::string& arg : d.CtlArgv({"pause", "demo"})) pause_now += "'" + arg + "' ";
  CommandResult unheld = d.Ctl({"hold", "demo", "--for", "3s", "--", "sh", "-c",
                                pause_now + ">/dev/null; sleep 4; exit 5"});
  EXPECT_EQ(unheld.exit_code, 5) << unheld.err;
  size_t ended = 0;
  for (size_t at = unheld.err.find(" ended: "); at != std::string::npos;
       at = unheld.err.find(" ended: ", at + 1)) {
    ++ended;
  }
  EXPECT_EQ(ended, 1u) << unheld.err;
  EXPECT_NE(unheld.err.find("goes on without a hold"), std::string::npos) << unheld.err;
  EXPECT_EQ(unheld.err.find("will retry"), std::string::npos) << unheld.err;

  // Stopped by a signal (a supervisor's SIGTERM, an INT sent to it alone):
  // sandboxctl passes it to the command and still releases the hold.
  ASSERT_TRUE(CtlSandbox(d, {"wake", "demo", "--wait"}, &why)) << why;
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(strsignal(sig));
    ChildProcess ctl;
    const std::string out = (d.data_dir() / "hold-signal.out").string();
    ASSERT_EQ(ctl.Spawn(d.CtlArgv({"hold", "demo", "--for", "1h", "--", "sleep", "60"}), out, out),
              "");
    auto held_now = [&] {
      CommandResult l = d.Ctl({"holds", "demo"});  // JSON: stdout is no terminal
      return l.exit_code == 0 && l.out.find("\"sandboxctl-") != std::string::npos;
    };
    ASSERT_TRUE(WaitFor(held_now, 10s)) << "the hold was never placed";
    const int status = ctl.SignalAndWait(sig, 10s);
    ASSERT_NE(status, -1) << "sandboxctl did not end after the signal";
    ASSERT_TRUE(WIFEXITED(status)) << "sandboxctl was killed instead of releasing the hold";
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
    EXPECT_FALSE(held_now()) << "the hold outlived sandboxctl";
  }
}

// sandboxctl against a real daemon: JSON for scripts (the default when stdout
// is no terminal, and -o json), text for people (-o text), and a clear message
// and exit code for each way a command goes wrong.
TEST_F(DaemonTest, SandboxctlSpeaksToPeopleAndScriptsAndSaysWhatWentWrong) {
  Daemon d({.first_port = kCliPorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto created = CtlSandbox(d, {"create", "demo"}, &why);
  ASSERT_TRUE(created) << why;

  // Text for people.
  CommandResult status = d.Ctl({"-o", "text", "status", "demo"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("status         RUNNING\n"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("idle timeout   1h\n"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("(in 59m"), std::string::npos) << status.out;  // pauses in ~1h
  EXPECT_EQ(status.out.find('\x1b'), std::string::npos) << "colour on a pipe";
  CommandResult list = d.Ctl({"-o", "text", "list"});
  EXPECT_TRUE(list.out.starts_with("PROJECT  STATUS   SANDBOX")) << list.out;
  EXPECT_NE(list.out.find("\ndemo     RUNNING  " + created->sandbox_id), std::string::npos)
      << list.out;
  // The `more:` line of a page names the next page's --cursor.
  CommandResult after_demo = d.Ctl({"-o", "text", "list", "--limit", "1", "--cursor", "demo"});
  EXPECT_EQ(after_demo.exit_code, 0) << after_demo.err;
  EXPECT_EQ(after_demo.out, "no sandboxes\n");
  CommandResult from_a = d.Ctl({"-o", "text", "list", "--cursor", "a"});
  EXPECT_NE(from_a.out.find("\ndemo     RUNNING"), std::string::npos) << from_a.out;
  CommandResult history = d.Ctl({"-o", "text", "history", "demo"});
  EXPECT_NE(history.out.find("created"), std::string::npos) << history.out;
  EXPECT_TRUE(history.out.starts_with("WHEN")) << history.out;
  CommandResult explain = d.Ctl({"-o", "text", "explain", "demo"});
  EXPECT_TRUE(explain.out.starts_with("RUNNING since ")) << explain.out;
  EXPECT_NE(explain.out.find("\nnext: it pauses at "), std::string::npos) << explain.out;

  // JSON for scripts: one document, as the API answered.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"status", "demo"}, {"--json", "status", "demo"},
        {"-o", "json", "list"}, {"-o", "json", "explain", "demo"},
        // Global options also after the subcommand, as the README writes them.
        {"status", "demo", "--json"}, {"explain", "demo", "-o", "json"}}) {
    CommandResult r = d.Ctl(args);
    ASSERT_EQ(r.exit_code, 0) << JoinArgv(args) << ": " << r.err;
    boost::system::error_code ec;
    auto v = boost::json::parse(r.out, ec);
    EXPECT_FALSE(ec) << JoinArgv(args) << ": " << r.out;
    EXPECT_TRUE(v.is_object()) << r.out;
  }

  // create on a live sandbox says so, unless --if-missing.
  CommandResult again = d.Ctl({"create", "demo"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("project demo already has a sandbox (RUNNING)"), std::string::npos)
      << again.err;
  EXPECT_EQ(d.Ctl({"create", "demo", "--if-missing"}).exit_code, 0);

  // wake waits by default, saying each status it sees.
  ASSERT_EQ(d.Ctl({"pause", "demo"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { auto s = d.Get("demo", &why); return s && s->status == "PAUSED"; },
                      5s));
  CommandResult woken = d.Ctl({"-o", "text", "wake", "demo"});
  ASSERT_EQ(woken.exit_code, 0) << woken.err;
  EXPECT_NE(woken.out.find("status         RUNNING"), std::string::npos) << woken.out;
  EXPECT_NE(woken.err.find("RUNNING"), std::string::npos) << woken.err;
  // On a terminal (script(1) gives it one) the wait is a spinner line,
  // redrawn in place with the statuses seen so far, then the path it took.
  const std::string ctl_line = std::string(SBX_BUILD_DIR) + "/sandboxctl --token " + d.token() +
                               " --url http://127.0.0.1:" + std::to_string(d.port());
  ASSERT_EQ(d.Ctl({"pause", "demo"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { auto s = d.Get("demo", &why); return s && s->status == "PAUSED"; },
                      5s));
  CommandResult tty = RunCommand({"script", "-qefc", ctl_line + " wake demo", "/dev/null"}, 60s);
  ASSERT_EQ(tty.exit_code, 0) << tty.out << tty.err;
  EXPECT_NE(tty.out.find("\r\x1b[K⠋ "), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("STARTING → RUNNING"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("status         \x1b[32mRUNNING"), std::string::npos)
      << "coloured on a terminal: " << tty.out;

  CommandResult killed = d.Ctl({"-o", "text", "kill", "demo"});
  EXPECT_EQ(killed.out, "demo: killed\n");

  // What goes wrong, each with its own words and exit code.
  const std::string ctl = std::string(SBX_BUILD_DIR) + "/sandboxctl";
  struct Case {
    std::vector<std::string> argv;
    int exit_code;
    std::string says;
  };
  const std::string url = "http://127.0.0.1:" + std::to_string(d.port());
  const std::vector<Case> cases{
      {{ctl, "--token", "t", "--url", url, "frobnicate", "demo"}, 2,
       "unknown command \"frobnicate\""},
      {{ctl, "--token", "t", "--url", url, "status", "a b"}, 2, "project id \"a b\" may only"},
      {{ctl, "--token", "t", "--url", url, "-o", "yaml", "status", "demo"}, 2, "yaml"},
      {{ctl, "--url", url, "--data-dir", "/nonexistent", "status", "demo"}, 2,
       "no API token: /nonexistent/api-token cannot be read"},
      {{ctl, "--token", "t", "--url", "http://127.0.0.1:1", "status", "demo"}, 1,
       "cannot reach sandboxd at 127.0.0.1:1: Connection refused (is `sandboxd serve` running"},
      {{ctl, "--token", "wrong", "--url", url, "status", "demo"}, 1, "401 unauthenticated"},
      {{ctl, "--token", "t", "--url", url, "set-idle-timeout", "demo", "soon"}, 2, "soon"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunCommand(c.argv, 30s);
    EXPECT_EQ(r.exit_code, c.exit_code) << JoinArgv(c.argv) << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << JoinArgv(c.argv) << ": " << r.err;
    EXPECT_EQ(r.err.find("/usr/include"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  CommandResult version = RunCommand({ctl, "--version"}, 30s);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(version.out.starts_with("sandboxctl 0.1.0 (commit ")) << version.out;
  CommandResult daemon_version = RunCommand({std::string(SBX_BUILD_DIR) + "/sandboxd", "--version"}, 30s);
  EXPECT_EQ(daemon_version.out.substr(daemon_version.out.find(' ')),
            version.out.substr(version.out.find(' ')))
      << "both binaries name the same version and commit";
  CommandResult completion = RunCommand({ctl, "completion", "bash"}, 30s);
  EXPECT_NE(completion.out.find("complete -F _sandboxctl sandboxctl"), std::string::npos);
  EXPECT_NE(completion.out.find("explain"), std::string::npos);

  // login keeps a URL and token that work (and only those), readable by
  // their owner only; later commands need neither flag.
  const std::string config_home = d.data_dir().parent_path().string() + "/config";
  const std::string config = config_home + "/sandboxd/sandboxctl.json";
  const std::string xdg = "XDG_CONFIG_HOME=" + config_home;
  CommandResult refused = RunCommand({"env", xdg, ctl, "--token", "wrong", "login", url}, 30s);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(config));
  CommandResult login = RunCommand({"env", xdg, ctl, "--token", d.token(), "login", url}, 30s);
  ASSERT_EQ(login.exit_code, 0) << login.err;
  struct stat st {};
  ASSERT_EQ(::stat(config.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  CommandResult remembered =
      RunCommand({"env", xdg, "SANDBOXD_URL=", "SANDBOXD_TOKEN=", ctl, "--data-dir", "/nonexistent",
                  "status", "demo"},
                 30s);
  EXPECT_EQ(remembered.exit_code, 0) << remembered.err;
  EXPECT_NE(remembered.out.find("\"projectId\":\"demo\""), std::string::npos) << remembered.out;

  // forget: a killed project leaves the list, with its history if asked.
  CommandResult forgotten = d.Ctl({"-o", "text", "forget", "demo", "--remove-history"});
  ASSERT_EQ(forgotten.exit_code, 0) << forgotten.err;
  EXPECT_TRUE(forgotten.out.starts_with("demo: forgotten; ")) << forgotten.out;
  EXPECT_NE(forgotten.out.find(" history rows removed\n"), std::string::npos) << forgotten.out;
  CommandResult gone = d.Ctl({"status", "demo"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("404 not_found"), std::string::npos) << gone.err;
  ASSERT_TRUE(CtlSandbox(d, {"create", "live"}, &why)) << why;
  CommandResult refused_forget = d.Ctl({"forget", "live"});
  EXPECT_EQ(refused_forget.exit_code, 1);
  EXPECT_NE(refused_forget.err.find("only a killed project can be forgotten"), std::string::npos)
      << refused_forget.err;
  EXPECT_EQ(d.Ctl({"kill", "live"}).exit_code, 0);
}

// GET …/explain on a real daemon and real runc sandboxes, one kind at a
// time: kept awake by a hold, paused by the idle enforcer (with the inputs it
// decided on), paused by a user, and paused by the reconciler after the
// container was frozen behind sandboxd's back.
TEST_F(DaemonTest, ExplainSaysWhyForEachKindOfDecision) {
  Daemon d({.first_port = kExplainPorts,
            .extra_args = {"--reconcile-schedule", "@every 1s"}});  // idle timeout 2 s
  ASSERT_TRUE(d.Start());
  std::string why;
  auto created = CtlSandbox(d, {"create", "demo"}, &why);
  ASSERT_TRUE(created) << why;
  auto explain = [&] {
    CommandResult r = d.Ctl({"explain", "demo"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return boost::json::parse(r.out).as_object();
  };
  auto text = [](const boost::json::value& v) { return std::string(v.as_string()); };

  // Awake: the hold sets pauseAt.
  ASSERT_EQ(d.Ctl({"hold", "demo", "build", "--for", "1h"}).exit_code, 0);
  auto held = explain();
  EXPECT_EQ(text(held.at("status")), "RUNNING");
  EXPECT_EQ(text(held.at("pauseAtSetBy").at("kind")), "hold") << held;
  EXPECT_EQ(text(held.at("pauseAtSetBy").at("name")), "build");
  EXPECT_NE(text(held.at("summary")).find("kept awake by the hold \"build\""), std::string::npos)
      << held;

  // The idle enforcer, once the hold is gone.
  ASSERT_EQ(d.Ctl({"unhold", "demo", "build"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { auto s = d.Get("demo", &why); return s && s->status == "PAUSED"; },
                      kPauseSlack));
  auto idle = explain();
  EXPECT_EQ(text(idle.at("status")), "PAUSED");
  const auto& cause = idle.at("cause").as_object();
  EXPECT_EQ(text(cause.at("source")), "enforcer") << idle;
  const std::string trigger = text(cause.at("inputs").at("trigger"));
  EXPECT_TRUE(trigger == "timer" || trigger == "schedule") << trigger;
  EXPECT_EQ(text(cause.at("inputs").at("replica")), "single-node");
  const auto& record = cause.at("inputs").at("record").as_object();
  EXPECT_EQ(record.at("idleTimeoutSeconds").as_int64(), 2);
  EXPECT_EQ(text(record.at("status")), "RUNNING");
  EXPECT_GE(text(cause.at("inputs").at("now")), text(record.at("pauseAt")));
  EXPECT_NE(text(idle.at("summary")).find("paused by the idle enforcer"), std::string::npos);
  EXPECT_EQ(d.RuncStatus(created->sandbox_id), "paused");

  // A user's pause.
  ASSERT_TRUE(CtlSandbox(d, {"wake", "demo", "--wait"}, &why)) << why;
  ASSERT_EQ(d.Ctl({"hold", "demo", "stay", "--for", "1h"}).exit_code, 0);
  ASSERT_EQ(d.Ctl({"pause", "demo"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { auto s = d.Get("demo", &why); return s && s->status == "PAUSED"; },
                      kPauseSlack));
  auto user = explain();
  EXPECT_EQ(text(user.at("cause").at("source")), "api") << user;
  EXPECT_EQ(text(user.at("cause").at("inputs").at("trigger")), "request");
  EXPECT_TRUE(user.at("cause").at("inputs").at("record").at("holds").as_object().contains("stay"));

  // The reconciler: frozen behind sandboxd's back, so the record says
  // RUNNING while the provider has it paused.
  ASSERT_TRUE(CtlSandbox(d, {"wake", "demo", "--wait"}, &why)) << why;
  ASSERT_EQ(d.Ctl({"hold", "demo", "stay", "--for", "1h"}).exit_code, 0);
  CommandResult frozen = Runc(d.runc_root(), {"pause", created->sandbox_id});
  ASSERT_EQ(frozen.exit_code, 0) << frozen.err;
  ASSERT_TRUE(WaitFor([&] { auto s = d.Get("demo", &why); return s && s->status == "PAUSED"; },
                      kPauseSlack));
  auto drift = explain();
  EXPECT_EQ(text(drift.at("cause").at("source")), "reconciler") << drift;
  EXPECT_EQ(text(drift.at("cause").at("inputs").at("providerState")), "paused");
  EXPECT_EQ(text(drift.at("cause").at("inputs").at("record").at("status")), "RUNNING");
  EXPECT_NE(text(drift.at("summary")).find("paused by the reconciler"), std::string::npos);
}

// The output of a real sandbox: its start-up line, then lines it writes on
// request (hello's /log), read as a tail and then on from a cursor, through
// the API and sandboxctl.
TEST_F(DaemonTest, LogsOfARealSandboxTailAndFollow) {
  Daemon d({.first_port = kLogsPorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto created = CtlSandbox(d, {"create", "demo"}, &why);
  ASSERT_TRUE(created) << why;
  ASSERT_FALSE(created->url.empty());
  const std::string logs = SandboxPath("demo") + "/logs";
  EXPECT_TRUE(WaitFor(
      [&] {
        return d.Call(verb::get, logs + "?tail=10").body.find("sandbox-hello listening on") !=
               std::string::npos;
      },
      5s))
      << d.Call(verb::get, logs + "?tail=10").Describe();
  auto say = [&](const std::string& line) {
    HttpResponse r = PreviewCall(created->url, {.target = "/log?line=" + line});
    ASSERT_EQ(r.status, 204) << r.Describe();
  };
  say("marker-1");
  HttpResponse tail;
  ASSERT_TRUE(WaitFor(
      [&] {
        tail = d.Call(verb::get, logs + "?tail=1");
        return tail.body.find("marker-1") != std::string::npos;
      },
      5s))
      << tail.Describe();
  const auto tail_json = tail.Json();
  EXPECT_EQ(tail_json.at("lines").as_array().size(), 1u);
  const std::string cursor(tail_json.at("cursor").as_string());
  // Nothing new yet; then exactly the new lines, in order.
  HttpResponse none = d.Call(verb::get, logs + "?after=" + cursor);
  ASSERT_EQ(none.status, 200) << none.Describe();
  EXPECT_TRUE(none.Json().at("lines").as_array().empty()) << none.Describe();
  say("marker-2");
  say("marker-3");
  HttpResponse next;
  ASSERT_TRUE(WaitFor(
      [&] {
        next = d.Call(verb::get, logs + "?after=" + cursor);
        return next.body.find("marker-3") != std::string::npos;
      },
      5s))
      << next.Describe();
  const auto next_json = next.Json();
  const auto& next_lines = next_json.at("lines").as_array();
  ASSERT_EQ(next_lines.size(), 2u) << next.Describe();
  EXPECT_EQ(next_lines[0].as_string(), "marker-2");
  EXPECT_EQ(next_lines[1].as_string(), "marker-3");
  // sandboxctl prints text.
  CommandResult ctl = d.Ctl({"logs", "--tail", "2", "demo"});
  EXPECT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_EQ(ctl.out, "marker-2\nmarker-3\n");
  // Bad input gets a clear 400; no sandbox, 404.
  for (const std::string& q : std::vector<std::string>{"?tail=0", "?tail=10001", "?tail=x", "?tail=1&after=" + cursor,
                              "?after=garbage", "?lines=3", "?follow=2", "?follow=1&tail=0",
                              "?follow=1&after=garbage", "?follow=1&lines=3"}) {
    HttpResponse bad = d.Call(verb::get, logs + q);
    EXPECT_EQ(bad.status, 400) << q << ": " << bad.Describe();
  }
  EXPECT_EQ(d.Call(verb::get, SandboxPath("nope") + "/logs").status, 404);
  EXPECT_EQ(d.Call(verb::get, SandboxPath("nope") + "/logs?follow=1").status, 404);

  // Following over SSE: the last line at once, then each line as it is
  // written.
  SseClient follow(d.port(), logs + "?follow=1&tail=1", d.token());
  ASSERT_TRUE(follow.Start());
  auto lines_seen = [&] {
    std::vector<std::string> seen;
    for (const SseFrame& f : follow.Frames()) {
      if (f.event != "lines") continue;
      const boost::json::value frame = boost::json::parse(f.data);
      for (const auto& l : frame.at("lines").as_array()) seen.emplace_back(l.as_string());
    }
    return seen;
  };
  EXPECT_TRUE(WaitFor([&] { return lines_seen().size() == 1; }, 5s));
  say("marker-4");
  say("marker-5");
  EXPECT_TRUE(WaitFor([&] { return lines_seen().size() == 3; }, 5s));
  EXPECT_EQ(lines_seen(), (std::vector<std::string>{"marker-3", "marker-4", "marker-5"}));
  EXPECT_EQ(follow.Error(), "");
  follow.Stop();
}

// What scripts rely on at start-up: stdout is exactly the URL line (they parse
// the first line), the token, the dashboard link and where previews are; logs
// go to stderr; the generated token is kept (mode 0600) and reused by the next
// start. The token is printed only by the start that generated it, and the
// link carries it in the fragment (#token=), never in the query string that
// reaches access logs.
TEST_F(DaemonTest, StartupOutput) {
  Daemon d({.first_port = kStartupOutputPorts});
  ASSERT_TRUE(d.Start());
  const std::string previews = "Previews on 127.0.0.1:" + std::to_string(d.preview_port()) +
                               ": http://<port>-<sandboxId>.localhost:" +
                               std::to_string(d.preview_port()) + "/\n";
  const std::string expected = "sandboxd listening on " + d.url() + "\nAPI token: " + d.token() +
                               "\nOpen the dashboard: " + d.url() + "#token=" + d.token() + "\n" +
                               previews;
  EXPECT_EQ(d.Stdout(), expected) << "stdout must hold only the four start-up lines";
  EXPECT_EQ(d.Stdout().find("?token="), std::string::npos);
  EXPECT_NE(d.LogTail().find("sandboxd serving on"), std::string::npos)
      << "the start-up log line is not on stderr";
  struct stat st {};
  ASSERT_EQ(::stat((d.data_dir() / "api-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "api-token is readable by others";
  HttpResponse ready = d.Call(verb::get, "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.Describe();

  const std::string token = d.token();
  ASSERT_TRUE(d.Stop());
  EXPECT_EQ(d.Stdout(), expected) << "sandboxd printed more on stdout while stopping";
  ASSERT_TRUE(d.Start());
  EXPECT_EQ(d.token(), token) << "a restart must reuse <data-dir>/api-token";
  HttpResponse list = d.Call(verb::get, "/api/sandboxes");
  EXPECT_EQ(list.status, 200) << list.Describe();
  // The restart did not generate it: it says where the token is instead.
  const std::string again = "sandboxd listening on " + d.url() + "\nAPI token: in " +
                            (d.data_dir() / "api-token").string() +
                            "\nOpen the dashboard: " + d.url() + " (sign in with that token)\n";
  const std::string out = d.Stdout();
  EXPECT_NE(out.find(again), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.rfind("sandboxd listening on ")).find(token), std::string::npos)
      << "a kept token is not printed";
  ASSERT_TRUE(d.Stop());
}

// A token given by flag (or SANDBOXD_API_TOKEN) is never printed.
TEST_F(DaemonTest, StartupOutputHidesAGivenToken) {
  Daemon d({.first_port = kGivenTokenPorts, .api_token = "given-token-0123456789"});
  ASSERT_TRUE(d.Start());
  EXPECT_EQ(d.token(), "given-token-0123456789");
  EXPECT_EQ(d.Stdout().find("given-token-0123456789"), std::string::npos) << d.Stdout();
  EXPECT_NE(d.Stdout().find("\nAPI token: from --api-token (SANDBOXD_API_TOKEN)\n"),
            std::string::npos)
      << d.Stdout();
  HttpResponse list = d.Call(verb::get, "/api/sandboxes");
  EXPECT_EQ(list.status, 200) << list.Describe();
  ASSERT_TRUE(d.Stop());
}

// SIGTERM is a two-phase shutdown: a request in progress (a create waiting
// for its container) still gets its answer and its record is kept, open event
// streams end with a final `shutdown` event, and the process exits cleanly.
TEST_F(DaemonTest, GracefulShutdownFinishesRequestsAndEndsStreams) {
  Daemon d({.first_port = kGracefulShutdownPorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  ASSERT_EQ(d.Call(verb::post, SandboxPath("watched")).status, 201);
  SseClient stream(d.port(), SandboxPath("watched") + "/events", d.token());
  ASSERT_TRUE(stream.Start());
  ASSERT_TRUE(stream.WaitForId(1, 10s)) << stream.Error();

  HttpResponse created;
  // A jthread: joined even when an assertion below ends the test early.
  std::jthread creator([&] { created = d.Call(verb::post, SandboxPath("inflight")); });
  // Once the record is STARTING, the create is at the provider: in progress.
  // Polled every millisecond: a local create can be RUNNING within a few
  // tens of milliseconds, and a coarser poll may never see it STARTING.
  ASSERT_TRUE(WaitFor([&] { return d.StatusOf("inflight") == "STARTING"; }, 10s, 1ms))
      << d.StatusOf("inflight");
  ASSERT_TRUE(d.Stop());
  creator.join();
  EXPECT_EQ(created.status, 201) << created.Describe();

  const auto frames = stream.Frames();
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().event, "shutdown") << frames.back().data;
  stream.Stop();

  ASSERT_TRUE(d.Restart());
  EXPECT_EQ(d.StatusOf("inflight"), "RUNNING");
}

// Two serve processes on one data dir would both run the enforcer and the
// reconciler on one runc root: the second one refuses to start.
TEST_F(DaemonTest, ASecondServeOnTheSameDataDirExitsWithAClearMessage) {
  Daemon d({.first_port = kOneDataDirPorts, .idle_timeout = "1h"});
  ASSERT_TRUE(d.Start());
  const CommandResult second =
      RunCommand({std::string(SBX_BUILD_DIR) + "/sandboxd", "serve", "--listen", "127.0.0.1:0",
                  "--data-dir", d.data_dir().string(), "--templates-dir", SBX_TEMPLATES_DIR},
                 20s);
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("in use by another sandboxd (pid " + std::to_string(d.pid()) + ")"),
            std::string::npos)
      << second.err;
  // Nor does a schema migration run under it (it would drop tables in use).
  const CommandResult migrate =
      RunCommand({std::string(SBX_BUILD_DIR) + "/sandboxd", "migrate", "--data-dir",
                  d.data_dir().string(), "--to", "1"},
                 20s);
  EXPECT_EQ(migrate.exit_code, 1) << migrate.out;
  EXPECT_NE(migrate.err.find("in use by another sandboxd"), std::string::npos) << migrate.err;
  EXPECT_TRUE(d.Running());
  EXPECT_EQ(d.Call(verb::get, "/healthz").status, 200);
}

// The adaptive policy on the real daemon: an idle pause regretted by a wake
// right after raises the project's timeout, with its reason in history and
// explain; `sandboxd policy replay` compares policies over the same store
// offline while the daemon keeps serving it.
TEST_F(DaemonTest, AdaptivePolicyLearnsFromARegretAndReplayComparesPoliciesOffline) {
  Daemon d({.first_port = kPolicyPorts,
            .extra_args = {"--idle-policy", "adaptive", "--idle-policy-min", "1s",
                           "--idle-policy-schedule", "@every 1s", "--policy-shadow", "warmup"}});
  ASSERT_TRUE(d.Start());
  std::string why;
  auto created = CtlSandbox(d, {"create", "demo"}, &why);  // idle timeout 2 s
  ASSERT_TRUE(created) << why;
  ASSERT_TRUE(WaitFor([&] { return d.StatusOf("demo") == "PAUSED"; }, 2s + kPauseSlack))
      << d.StatusOf("demo");
  ASSERT_EQ(d.Ctl({"wake", "demo"}).exit_code, 0);  // right back: a regret
  // The policy job (every second) raises it: doubled, 2 s -> 4 s (what would
  // have covered the gap, to the minute, is more).
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = d.Get("demo");
        return s && s->idle_timeout_s == 4;
      },
      10s))
      << d.Get("demo")->idle_timeout_s;
  auto history = d.History("demo", &why);
  ASSERT_TRUE(history) << why;
  const HistoryEvent* change = FindEvent(*history, "settings_changed", "policy");
  ASSERT_NE(change, nullptr) << Dump(*history);
  CommandResult explained = d.Ctl({"--json", "explain", "demo"});
  ASSERT_EQ(explained.exit_code, 0) << explained.err;
  const auto explain = boost::json::parse(explained.out);
  EXPECT_NE(std::string(explain.at("timeoutSetBy").at("detail").as_string())
                .find("adaptive: regret: back "),
            std::string::npos)
      << explained.out;
  // The object and the report say which policies apply.
  const auto object = d.Call(verb::get, "/api/projects/demo/sandbox").Json();
  EXPECT_EQ(object.at("effectiveIdlePolicy"), "adaptive");
  EXPECT_TRUE(object.at("idlePolicy").is_null());
  const auto report = d.Call(verb::get, "/api/policy/report?since=1h").Json();
  EXPECT_EQ(report.at("policy").at("default"), "adaptive");
  EXPECT_EQ(report.at("policy").at("shadow"), "warmup");
  EXPECT_EQ(report.at("replay").at("episodes"), 1);
  // A project can choose its own; sandboxctl says which applies.
  CommandResult chose = d.Ctl({"-o", "text", "set-idle-policy", "demo", "fixed"});
  ASSERT_EQ(chose.exit_code, 0) << chose.err;
  EXPECT_NE(chose.out.find("idle policy    fixed\n"), std::string::npos) << chose.out;

  // Offline, beside the running daemon, over its SQLite store.
  const std::string sandboxd = std::string(SBX_BUILD_DIR) + "/sandboxd";
  const std::string store = "sqlite://" + (d.data_dir() / "sandboxd.db").string();
  CommandResult table = RunCommand({sandboxd, "policy", "replay", "--store", store, "--since",
                                    "1d", "--policy", "adaptive", "--policy", "warmup",
                                    "--idle-timeout", "2s", "--idle-policy-min", "1s"},
                                   60s);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("1 idle episodes from "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("adaptive vs fixed"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("resume waits"), std::string::npos) << table.out;
  CommandResult json = RunCommand({sandboxd, "policy", "replay", "--store", store, "--since",
                                   "1d", "--json", "--idle-timeout", "2s"},
                                  60s);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto replay = boost::json::parse(json.out);
  EXPECT_EQ(replay.at("episodes"), 1);
  EXPECT_EQ(replay.at("recorded").at("idlePauses"), 1);
  EXPECT_EQ(replay.at("policies").at(0).at("policy"), "fixed");
  EXPECT_EQ(replay.at("policies").at(0).at("resumeWaits"), 1);
  EXPECT_EQ(replay.at("policies").at(1).at("policy"), "adaptive");
  // Bad input: a clear message, status 1 or 2, nothing written.
  CommandResult missing =
      RunCommand({sandboxd, "policy", "replay", "--store", "sqlite:///nonexistent/x.db"}, 30s);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no such database file"), std::string::npos) << missing.err;
  CommandResult unknown = RunCommand(
      {sandboxd, "policy", "replay", "--store", store, "--policy", "psychic"}, 30s);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("psychic"), std::string::npos) << unknown.err;
  EXPECT_EQ(d.Call(verb::get, "/healthz").status, 200);
}

// Thousands of idle and byte-a-second connections: the daemon keeps
// answering a normal client, without spinning or flooding its log.
TEST_F(DaemonTest, IdleAndTricklingConnectionsDoNotStarveNormalClients) {
  // The common descriptor limit (1,024, which runc also gives a sandbox):
  // its API connection cap (384) is far below the crowd, so the crowd meets
  // the cap and the daemon must make room.
  Daemon d({.first_port = kAbusePorts, .idle_timeout = "1h", .file_limit = 1024});
  ASSERT_TRUE(d.Start());
  ASSERT_EQ(d.Call(verb::post, SandboxPath("busy")).status, 201);
  // This test process holds the attackers' ends: it needs descriptors too.
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = limit.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  constexpr int kIdle = 3000;
  constexpr int kTrickling = 300;
  net::io_context io;
  std::vector<net::ip::tcp::socket> sockets;
  const net::ip::tcp::endpoint at(net::ip::make_address("127.0.0.1"), d.port());
  for (int i = 0; i < kIdle + kTrickling; ++i) {
    net::ip::tcp::socket s(io);
    boost::system::error_code ec;
    s.connect(at, ec);
    ASSERT_FALSE(ec) << "connection " << i << ": " << ec.message();
    sockets.push_back(std::move(s));
  }
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string head = "GET /healthz HTTP/1.1\r\nX-Slow: ";
    for (size_t pos = 0; !stop; ++pos) {
      for (int i = kIdle; i < kIdle + kTrickling; ++i) {
        boost::system::error_code ec;
        const char c = pos < head.size() ? head[pos] : 'z';
        net::write(sockets[static_cast<size_t>(i)], net::buffer(&c, 1), ec);
      }
      std::this_thread::sleep_for(1s);
    }
  });
  std::vector<int64_t> ms;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    HttpResponse health = d.Call(verb::get, "/healthz", "", 5s);
    HttpResponse status = d.Call(verb::get, SandboxPath("busy"), "", 5s);
    ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - t0)
                     .count());
    EXPECT_EQ(health.status, 200) << health.Describe();
    EXPECT_EQ(status.status, 200) << status.Describe();
    std::this_thread::sleep_for(250ms);
  }
  stop = true;
  trickle.join();
  std::sort(ms.begin(), ms.end());
  Report("under " + std::to_string(kIdle) + " idle and " + std::to_string(kTrickling) +
         " trickling connections: /healthz + status read median " + std::to_string(ms[10]) +
         " ms, max " + std::to_string(ms.back()) + " ms");
  EXPECT_LT(ms.back(), 2000);
  HttpResponse metrics = d.Call(verb::get, "/metrics", "", 5s);
  const std::string evicted_series = "\nsandboxd_http_connections_evicted_total ";
  const size_t evicted = metrics.body.find(evicted_series);
  ASSERT_NE(evicted, std::string::npos) << metrics.Describe();
  EXPECT_GT(std::stod(metrics.body.substr(evicted + evicted_series.size())), 0)
      << "the cap was never reached";
  // The trickling heads were cut off at the header timeout (10 s) at most:
  // the daemon's log stayed small.
  EXPECT_LT(fs::file_size(d.data_dir().parent_path() / "sandboxd.log"), 1u << 20);
}

}  // namespace
}  // namespace sbx::integration
