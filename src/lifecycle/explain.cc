#include "lifecycle/explain.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>

namespace sbx::lifecycle {
namespace {

namespace json = boost::json;
using core::SandboxStatus;

// Statuses of one episode: awake (STARTING, RUNNING), asleep (PAUSING,
// PAUSED), or gone (KILLED).
int Episode(std::string_view status) {
  if (status == "STARTING" || status == "RUNNING") return 0;
  if (status == "PAUSING" || status == "PAUSED") return 1;
  return 2;
}

// A field of a decision's inputs, or of its "record", "" when absent.
// The hold of a decision's record (inputs.record.holds) that ends at `at`
// (its pauseAt): the hold that kept the sandbox awake until then.
std::optional<std::string> HoldEndingAt(const std::string& inputs, const std::string& at) {
  if (inputs.empty() || at.empty()) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(inputs, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* record = v.get_object().if_contains("record");
  const json::value* holds =
      record && record->is_object() ? record->get_object().if_contains("holds") : nullptr;
  if (!holds || !holds->is_object()) return std::nullopt;
  for (const auto& [name, ends] : holds->get_object()) {
    if (ends.is_string() && ends.get_string() == at) return std::string(name);
  }
  return std::nullopt;
}

std::string Input(const std::string& inputs, std::string_view key,
                  std::string_view in_record = "") {
  if (inputs.empty()) return "";
  boost::system::error_code ec;
  json::value v = json::parse(inputs, ec);
  if (ec || !v.is_object()) return "";
  const json::object* o = &v.get_object();
  if (!in_record.empty()) {
    const json::value* r = o->if_contains(in_record);
    if (!r || !r->is_object()) return "";
    o = &r->get_object();
  }
  const json::value* field = o->if_contains(key);
  if (!field) return "";
  if (field->is_string()) return std::string(field->get_string());
  if (field->is_int64()) return std::to_string(field->get_int64());
  return json::serialize(*field);
}

std::string Who(const store::HistoryRow& row) {
  std::string who;
  if (row.source == "enforcer") {
    who = "the idle enforcer";
  } else if (row.source == "api") {
    who = "a client of the API";
  } else if (row.source == "webhook") {
    who = row.type == "sandbox.lifecycle.paused"
              ? "the provider (its own timeout, or a client outside sandboxd), by webhook"
              : "the provider, by webhook";
  } else if (row.source == "reconciler") {
    who = "the reconciler, which found the provider's state differed";
  } else if (row.source == "runtime") {
    who = "the local runtime";
  } else if (row.source == "preview") {
    who = "a request to its preview URL";
  } else if (row.source == "presence") {
    who = "an open dashboard";
  } else if (row.source == "keep-alive") {
    who = "the keep-alive job";
  } else if (row.source == "policy") {
    const std::string name = Input(row.inputs, "policy");
    who = name.empty() ? "the idle policy" : fmt::format("the {} idle policy", name);
    if (row.type == "wake_requested") who += ", expecting its user back soon";
  } else {
    who = row.source;
  }
  const std::string trigger = Input(row.inputs, "trigger");
  if (!trigger.empty()) who += fmt::format(" ({})", trigger);
  return who;
}

std::string Words(const AwakeReason& r) {
  if (r.kind == "hold") return fmt::format("the hold \"{}\"", r.name);
  if (r.source == "start") return "its start";
  if (r.source == "presence") return "an open dashboard (presence)";
  if (r.source == "preview") return "traffic to its preview URL";
  if (r.source.empty()) return "activity";
  return fmt::format("{} activity", r.source);
}

std::string Retry(const core::LastError& e, const core::Sandbox& s, SystemTime now) {
  if (e.code.starts_with("pause_")) {
    if (core::IsIdleDue(s, now)) {
      return "it is still due: the idle enforcer tries again at its next pass";
    }
    // A pause asked for (the API) that failed: nothing retries it before
    // the sandbox is idle.
    if (const auto at = core::PauseAt(s)) {
      return fmt::format(
          "it stays {}: the idle enforcer pauses it at {} unless it is active until then; ask "
          "again to pause it sooner",
          core::StatusName(s.status), FormatRfc3339(*at));
    }
    return "nothing retries it: ask again to pause it";
  }
  if (e.code.starts_with("resume_")) {
    return "it stays PAUSED: the next wake (the API, the dashboard or its preview URL) tries "
           "again";
  }
  if (e.code.starts_with("create_")) {
    return "it stays KILLED: the next wake or create makes a new sandbox";
  }
  return "the next command on it tries again";
}

}  // namespace

Explanation Explain(const core::Sandbox& s, const std::vector<store::HistoryRow>& history,
                    SystemTime now, int streams) {
  Explanation out;
  out.sandbox = s;
  const std::string status(core::StatusName(s.status));
  const auto timeout = std::chrono::seconds(s.idle_timeout_s);

  // The run of applied rows, newest first, that kept the sandbox in its
  // episode: its oldest row is the cause, the oldest with the very status
  // says since when.
  //
  // A failed attempt (a wake or create whose provider call failed, a pause
  // that did not happen) leaves the sandbox where it was: its `*_failed` row
  // and the rows of the attempt before it (STARTING, PAUSING) are stepped
  // over, so the cause stays the decision that brought the sandbox here
  // (the idle enforcer's pause, not the wake that failed to undo it). The
  // failure itself is told in `failure`.
  const store::HistoryRow* first = nullptr;
  const store::HistoryRow* failed = nullptr;  // newest failed attempt, if nothing precedes it
  bool reached_start = false;
  bool in_failed_attempt = false;
  for (const store::HistoryRow& row : history) {
    if (!row.status || row.outcome != "applied") continue;
    const bool same_episode = Episode(*row.status) == Episode(status);
    if (same_episode && row.type.ends_with("_failed")) {
      if (!first && !failed) failed = &row;
      in_failed_attempt = true;
      continue;
    }
    if (!same_episode) {
      if (!in_failed_attempt) {
        reached_start = true;
        break;
      }
      // The attempt's own rows, back to the request that began it.
      if (row.type.ends_with("_requested")) in_failed_attempt = false;
      continue;
    }
    in_failed_attempt = false;
    first = &row;
    if (*row.status == status) out.since = row.recorded_at;
  }
  if (!first && failed && failed->type == "create_failed" && !in_failed_attempt) {
    // Nothing before the failed create (the project's first): it is what
    // brought the sandbox here. Any other failed attempt with nothing
    // before it in the rows read (many failed wakes) names no cause.
    first = failed;
    out.since = failed->recorded_at;
    reached_start = true;
  }
  // A long episode can fill the rows read (a hold renewed every 20 s writes
  // one each time): the record's own start of its run is then the earlier
  // `since`, and a row that only kept the sandbox as it was (a hold, a
  // keep-alive, a setting) is not named as what brought it there.
  if (auto start = s.activity.find("start");
      start != s.activity.end() && s.status == core::SandboxStatus::kRunning) {
    if (!out.since || start->second < *out.since) out.since = start->second;
  }
  const bool bookkeeping = first && (first->type == "hold_placed" ||
                                     first->type == "hold_released" || first->type == "updated" ||
                                     first->type == "settings_changed");
  if (first && (reached_start || !bookkeeping)) {
    out.cause = Cause{first->type, first->source, Who(*first), first->recorded_at, first->detail,
                      first->inputs};
  }
  for (const store::HistoryRow& row : history) {
    if (row.type != "settings_changed" || row.outcome != "applied") continue;
    // The newest settings change, if the idle policy's set the timeout in
    // force (a client's PATCH of the timeout alone writes no row: the
    // policy's then names another timeout).
    if (row.source == "policy" &&
        Input(row.inputs, "toSeconds") == std::to_string(s.idle_timeout_s)) {
      out.timeout_set_by =
          Cause{row.type, row.source, Who(row), row.recorded_at, row.detail, row.inputs};
    }
    break;
  }

  const bool awake = s.status == SandboxStatus::kStarting || s.status == SandboxStatus::kRunning;
  if (awake) {
    if (s.activity.empty() && s.last_activity_at + timeout > now) {
      out.awake.push_back({.kind = "activity", .at = s.last_activity_at,
                           .until = s.last_activity_at + timeout});
    }
    for (const auto& [source, at] : s.activity) {
      if (at + timeout <= now) continue;
      out.awake.push_back({.kind = "activity", .source = source, .at = at, .until = at + timeout});
    }
    if (streams > 0) out.awake.push_back({.kind = "presence", .streams = streams});
    for (const auto& [name, until] : s.holds) {
      if (until <= now) continue;
      out.awake.push_back({.kind = "hold", .name = name, .until = until});
    }
  }

  out.pause_at = core::PauseAt(s);
  if (out.pause_at) {
    const SystemTime idle_at = s.last_activity_at + timeout;
    for (const auto& [name, until] : s.holds) {
      if (until == *out.pause_at && until > idle_at) {
        out.pause_at_set_by = AwakeReason{.kind = "hold", .name = name, .until = until};
      }
    }
    if (!out.pause_at_set_by) {
      AwakeReason by{.kind = "activity", .at = s.last_activity_at, .until = idle_at};
      for (const auto& [source, at] : s.activity) {
        if (at == s.last_activity_at) by.source = source;
      }
      out.pause_at_set_by = by;
    }
  }

  if (s.last_error) out.failure = Failure{*s.last_error, Retry(*s.last_error, s, now)};

  switch (s.status) {
    case SandboxStatus::kStarting:
      out.next = "it becomes RUNNING once the provider reports it started";
      break;
    case SandboxStatus::kRunning:
      out.next = *out.pause_at <= now
                     ? "it is due: the idle enforcer pauses it at its next pass"
                     : fmt::format("it pauses at {} unless there is new activity or a hold",
                                   FormatRfc3339(*out.pause_at));
      break;
    case SandboxStatus::kPausing:
      out.next = "it becomes PAUSED once the provider confirms the pause";
      break;
    case SandboxStatus::kPaused:
      out.next = "it stays PAUSED until a wake (the API, the dashboard's Wake, or a request to "
                 "its preview URL)";
      break;
    case SandboxStatus::kKilled:
      out.next = "nothing runs: a wake or create makes a new sandbox";
      break;
  }

  std::string summary = status;
  if (out.since) summary += " since " + FormatRfc3339(*out.since);
  if (s.status == SandboxStatus::kRunning && out.pause_at_set_by) {
    summary += fmt::format(": kept awake by {} until {}", Words(*out.pause_at_set_by),
                           FormatRfc3339(*out.pause_at));
  } else if (out.cause && out.cause->type.ends_with("_failed")) {
    const std::string_view attempt = out.cause->type.starts_with("create_")   ? "create"
                                     : out.cause->type.starts_with("resume_") ? "wake"
                                                                              : "pause";
    summary += fmt::format(": the {} asked for by {} failed", attempt, out.cause->by);
  } else if (out.cause) {
    const char* verb = Episode(status) == 1 ? "paused" : s.status == SandboxStatus::kKilled
                                                             ? "killed"
                                                             : "started";
    summary += fmt::format(": {} by {}", verb, out.cause->by);
    const std::string idle_since = Input(out.cause->inputs, "lastActivityAt", "record");
    const std::string idle_timeout = Input(out.cause->inputs, "idleTimeoutSeconds", "record");
    if (out.cause->source == "enforcer" && !idle_since.empty()) {
      const std::string pause_at = Input(out.cause->inputs, "pauseAt", "record");
      if (auto hold = HoldEndingAt(out.cause->inputs, pause_at)) {
        summary += fmt::format(" when the hold \"{}\" expired at {}", *hold, pause_at);
      }
      summary += fmt::format(", no activity since {} (idle timeout {} s)", idle_since,
                             idle_timeout);
    }
  }
  summary += ".";
  if (out.failure) {
    summary += fmt::format(" Last failure ({}): {}; {}.", out.failure->error.code,
                           out.failure->error.message, out.failure->retry);
  }
  out.summary = std::move(summary);
  return out;
}

}  // namespace sbx::lifecycle
