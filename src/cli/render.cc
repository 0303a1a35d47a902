#include "cli/render.h"

#include <fmt/color.h>
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

namespace sbx::cli {
namespace {

namespace json = boost::json;

// The field as text: a string as it is, a number in decimal, "—" when
// absent or null.
std::string Field(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  const json::value* f = o ? o->if_contains(key) : nullptr;
  if (!f || f->is_null()) return "—";
  if (f->is_string()) return std::string(f->get_string());
  if (f->is_int64()) return std::to_string(f->get_int64());
  if (f->is_bool()) return f->get_bool() ? "yes" : "no";
  return json::serialize(*f);
}

const json::array& Array(const json::value& v, std::string_view key) {
  static const json::array kEmpty;
  const json::object* o = v.if_object();
  const json::value* f = o ? o->if_contains(key) : nullptr;
  return f && f->is_array() ? f->get_array() : kEmpty;
}

// "2026-12-01T06:17:18.843Z (12s ago)"; "—" for none.
std::string When(const json::value& v, std::string_view key, const Style& style) {
  const std::string t = Field(v, key);
  if (t == "—") return t;
  return fmt::format("{} ({})", t, RelativeTime(t, style.now));
}

std::string Paint(const std::string& text, const Style& style) {
  if (!style.color) return text;
  fmt::text_style s;
  if (text == "RUNNING") s = fmt::fg(fmt::terminal_color::green);
  else if (text == "STARTING" || text == "PAUSING") s = fmt::fg(fmt::terminal_color::yellow);
  else if (text == "PAUSED") s = fmt::fg(fmt::terminal_color::blue);
  else if (text == "KILLED") s = fmt::fg(fmt::terminal_color::red);
  else return text;
  return fmt::format(s, "{}", text);
}

// "name   value" lines, the names padded to the widest.
std::string Fields(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [name, value] : rows) width = std::max(width, name.size());
  std::string out;
  for (const auto& [name, value] : rows) {
    out += fmt::format("{:<{}}  {}\n", name, width, value);
  }
  return out;
}

// How long since `rfc3339` ("12m 5s"); the text itself when it is no time.
std::string Uptime(const std::string& rfc3339, SystemTime now) {
  auto t = ParseRfc3339(rfc3339);
  if (!t.ok()) return rfc3339;
  return Span(std::chrono::duration_cast<Millis>(std::max(now - *t, SystemTime::duration{})));
}

}  // namespace

std::string Span(Millis d) {
  using namespace std::chrono;
  auto s = duration_cast<seconds>(d).count();
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return s % 60 ? fmt::format("{}m {}s", s / 60, s % 60) : fmt::format("{}m", s / 60);
  if (s < 86400) {
    return (s % 3600) / 60 ? fmt::format("{}h {}m", s / 3600, (s % 3600) / 60)
                           : fmt::format("{}h", s / 3600);
  }
  return (s % 86400) / 3600 ? fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600)
                            : fmt::format("{}d", s / 86400);
}

std::string RelativeTime(std::string_view rfc3339, SystemTime now) {
  auto t = ParseRfc3339(rfc3339);
  if (!t.ok()) return std::string(rfc3339);
  const auto d = std::chrono::duration_cast<Millis>(*t - now);
  if (d.count() > -1000 && d.count() < 1000) return "just now";
  return d.count() > 0 ? "in " + Span(d) : Span(-d) + " ago";
}

std::string Seconds(int64_t seconds) {
  if (seconds > 0 && seconds % 3600 == 0) return fmt::format("{}h", seconds / 3600);
  if (seconds >= 3600 && seconds % 60 == 0) {
    return fmt::format("{}h{}m", seconds / 3600, (seconds % 3600) / 60);
  }
  if (seconds > 0 && seconds % 60 == 0) return fmt::format("{}m", seconds / 60);
  return fmt::format("{}s", seconds);
}

namespace {

// How many columns `text` takes on a terminal: UTF-8 characters, not
// counting colour escapes (ESC [ … m).
size_t VisibleWidth(std::string_view text) {
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {
      while (i < text.size() && text[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = VisibleWidth(header[i]);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], VisibleWidth(row[i]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      out += cells[i];
      // The last column is not padded (no trailing blanks).
      if (i + 1 < cells.size()) out += std::string(width[i] - VisibleWidth(cells[i]) + 2, ' ');
    }
    return out + "\n";
  };
  std::string out = line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string RenderSandbox(const json::value& s, const Style& style) {
  std::vector<std::pair<std::string, std::string>> rows{
      {"project", Field(s, "projectId")},
      {"status", Paint(Field(s, "status"), style)},
      {"sandbox", Field(s, "sandboxId")},
      {"url", Field(s, "url")},
      {"template", Field(s, "template")},
  };
  if (const json::value* t = s.as_object().if_contains("idleTimeoutSeconds");
      t && t->is_int64()) {
    rows.emplace_back("idle timeout", Seconds(t->get_int64()));
  }
  if (const std::string policy = Field(s, "effectiveIdlePolicy"); policy != "—") {
    const json::value* own = s.as_object().if_contains("idlePolicy");
    rows.emplace_back("idle policy",
                      own && own->is_string() ? policy : policy + " (the deployment's)");
  }
  rows.emplace_back("last activity", When(s, "lastActivityAt", style));
  rows.emplace_back("pauses", Field(s, "status") == "RUNNING" ? When(s, "pauseAt", style)
                                                              : std::string("—"));
  for (const auto& h : Array(s, "holds")) {
    rows.emplace_back("hold", fmt::format("{} until {}", Field(h, "name"),
                                          When(h, "expiresAt", style)));
  }
  const json::object& o = s.as_object();
  if (const json::value* e = o.if_contains("lastError"); e && e->is_object()) {
    rows.emplace_back("last error", fmt::format("{}: {} ({})", Field(*e, "code"),
                                                Field(*e, "message"),
                                                RelativeTime(Field(*e, "at"), style.now)));
  }
  if (const std::string since = Field(s, "runningSince"); since != "—") {
    rows.emplace_back("up", fmt::format("{} (since {})", Uptime(since, style.now), since));
  }
  rows.emplace_back("created", When(s, "createdAt", style));
  return Fields(rows);
}

std::string RenderList(const json::value& page, const Style& style) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : Array(page, "sandboxes")) {
    const json::value* t = s.as_object().if_contains("idleTimeoutSeconds");
    const std::string since = Field(s, "runningSince");
    std::string holds;  // the unexpired holds' names
    for (const auto& h : Array(s, "holds")) holds += (holds.empty() ? "" : ", ") + Field(h, "name");
    rows.push_back({Field(s, "projectId"), Paint(Field(s, "status"), style),
                    Field(s, "sandboxId"), t && t->is_int64() ? Seconds(t->get_int64()) : "—",
                    since == "—" ? since : Uptime(since, style.now),
                    RelativeTime(Field(s, "lastActivityAt"), style.now),
                    Field(s, "status") == "RUNNING" ? RelativeTime(Field(s, "pauseAt"), style.now)
                                                    : "—",
                    holds.empty() ? "—" : holds});
  }
  if (rows.empty()) return "no sandboxes\n";
  std::string out = Table(
      {"PROJECT", "STATUS", "SANDBOX", "IDLE", "UP", "LAST ACTIVITY", "PAUSES", "HOLDS"}, rows);
  if (Field(page, "nextCursor") != "—") {
    out += fmt::format("(more: --cursor {})\n", Field(page, "nextCursor"));
  }
  return out;
}

std::string RenderHistory(const json::value& history, const Style& style) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : Array(history, "events")) {
    std::string status = Field(e, "status");
    if (status != "—") status = Paint(status, style);
    rows.push_back({RelativeTime(Field(e, "recordedAt"), style.now), Field(e, "type"),
                    Field(e, "source"), Field(e, "outcome"), status, Field(e, "sandboxId"),
                    Field(e, "detail") == "" ? "" : Field(e, "detail")});
  }
  if (rows.empty()) return "no events\n";
  return Table({"WHEN", "TYPE", "SOURCE", "OUTCOME", "STATUS", "SANDBOX", "DETAIL"}, rows);
}

std::string RenderRuns(const json::value& runs, const Style& style) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : Array(runs, "runs")) {
    std::string errors;
    for (const auto& e : Array(r, "errors")) {
      if (!errors.empty()) errors += "; ";
      errors += e.is_string() ? std::string(e.get_string()) : json::serialize(e);
    }
    std::string projects;
    for (const auto& p : Array(r, "pausedProjects")) {
      if (!projects.empty()) projects += ", ";
      projects += p.is_string() ? std::string(p.get_string()) : json::serialize(p);
    }
    rows.push_back({RelativeTime(Field(r, "startedAt"), style.now), Field(r, "trigger"),
                    Field(r, "checked"), Field(r, "paused"), Field(r, "failed"), projects,
                    errors});
  }
  if (rows.empty()) return "no runs\n";
  std::string out = Table(
      {"WHEN", "TRIGGER", "CHECKED", "PAUSED", "FAILED", "PAUSED PROJECTS", "ERRORS"}, rows);
  if (Field(runs, "nextBefore") != "—") {
    out += fmt::format("(more: --before {})\n", Field(runs, "nextBefore"));
  }
  return out;
}

std::string RenderHolds(const json::value& holds, const Style& style) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : Array(holds, "holds")) {
    rows.push_back({Field(h, "name"), When(h, "expiresAt", style)});
  }
  if (rows.empty()) return "no holds\n";
  return Table({"NAME", "EXPIRES"}, rows);
}

std::string RenderHoldPlaced(const json::value& hold, const Style& style) {
  return fmt::format("hold {} on {} until {}\n", Field(hold, "name"),
                     Field(hold.as_object().contains("sandbox") ? hold.at("sandbox") : hold,
                           "projectId"),
                     When(hold, "expiresAt", style));
}

std::string RenderForgotten(const json::value& answer, const Style&) {
  return fmt::format("{}: forgotten; {} history rows removed\n", Field(answer, "projectId"),
                     Field(answer, "historyRemoved"));
}

std::string RenderExplain(const json::value& e, const Style& style) {
  std::string out = Field(e, "summary") + "\n";
  const auto& awake = Array(e, "awake");
  if (!awake.empty()) {
    out += "awake because:\n";
    for (const auto& r : awake) {
      const std::string kind = Field(r, "kind");
      if (kind == "hold") {
        out += fmt::format("  hold {} until {}\n", Field(r, "name"), When(r, "until", style));
      } else if (kind == "presence") {
        out += fmt::format("  {} open dashboard stream(s) on this server\n", Field(r, "streams"));
      } else {
        out += fmt::format("  {} activity {}, keeps it awake until {}\n", Field(r, "source"),
                           RelativeTime(Field(r, "at"), style.now), When(r, "until", style));
      }
    }
  }
  const json::object& o = e.as_object();
  if (const json::value* c = o.if_contains("cause"); c && c->is_object()) {
    out += fmt::format("cause: {} by {}, {}\n", Field(*c, "type"), Field(*c, "by"),
                       When(*c, "at", style));
    if (const json::value* in = c->as_object().if_contains("inputs");
        in && in->is_object() && !in->get_object().empty()) {
      out += "  inputs: " + json::serialize(*in) + "\n";
    }
  }
  // The idle policy's change that set the timeout in force, with its reason.
  if (const json::value* t = o.if_contains("timeoutSetBy"); t && t->is_object()) {
    out += fmt::format("idle timeout set by {}, {}: {}\n", Field(*t, "by"), When(*t, "at", style),
                       Field(*t, "detail"));
  }
  if (const json::value* f = o.if_contains("failure"); f && f->is_object()) {
    out += fmt::format("failure: {}: {}; {}\n", Field(*f, "code"), Field(*f, "message"),
                       Field(*f, "retry"));
  }
  out += "next: " + Field(e, "next") + "\n";
  return out;
}

}  // namespace sbx::cli
