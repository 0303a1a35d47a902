// sandboxctl's text output: the API's JSON answers as aligned fields and
// tables for people, with times relative to now (the absolute time beside)
// and the status in colour when the terminal takes it. Pure functions of the
// JSON and a Style; `-o json` prints the answers as they came instead.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"

namespace sbx::cli {

struct Style {
  bool color = false;  // ANSI colours (a terminal that is not "dumb", NO_COLOR unset)
  SystemTime now{};    // what relative times are relative to
};

// "in 2m 48s", "12s ago", "just now"; the text itself when it is no time.
std::string RelativeTime(std::string_view rfc3339, SystemTime now);
// "2m 48s", "1h 5m", "3d 2h".
std::string Span(Millis d);
// "3m", "90s", "1h30m": an idle timeout or ttl in seconds, as durations are written.
std::string Seconds(int64_t seconds);
// Columns padded to their widest cell, two spaces apart; the header row first.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);

// The sandbox object (GET …/sandbox and what create, wake and pause answer).
std::string RenderSandbox(const boost::json::value& sandbox, const Style& style);
// GET /api/sandboxes.
std::string RenderList(const boost::json::value& page, const Style& style);
// GET …/history.
std::string RenderHistory(const boost::json::value& history, const Style& style);
// GET /api/jobs/idle-enforcer/runs.
std::string RenderRuns(const boost::json::value& runs, const Style& style);
// GET …/holds, and a hold just placed (POST …/holds).
std::string RenderHolds(const boost::json::value& holds, const Style& style);
std::string RenderHoldPlaced(const boost::json::value& hold, const Style& style);
// DELETE /api/projects/{id}: what forgetting removed.
std::string RenderForgotten(const boost::json::value& answer, const Style& style);
// GET …/explain.
std::string RenderExplain(const boost::json::value& explanation, const Style& style);

}  // namespace sbx::cli
