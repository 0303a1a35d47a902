#include "provider/local/runc.h"

#include <boost/json.hpp>

namespace sbx::provider::local {
namespace {

namespace json = boost::json;

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

Result<std::string> RequiredString(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return InvalidArgument("runc state: field \"" + std::string(key) +
                           "\" missing or not a string");
  }
  return std::string(v->get_string());
}

Result<RuncContainer> ContainerFromJson(const json::value& value) {
  const json::object* obj = value.if_object();
  if (obj == nullptr) return InvalidArgument("runc state: not a JSON object");
  RuncContainer c;
  SBX_ASSIGN_OR_RETURN(c.id, RequiredString(*obj, "id"));
  SBX_ASSIGN_OR_RETURN(std::string status, RequiredString(*obj, "status"));
  auto parsed_status = ParseRuncStatus(status);
  if (!parsed_status.has_value()) return parsed_status.error().WithContext("container " + c.id);
  c.status = *parsed_status;
  SBX_ASSIGN_OR_RETURN(c.bundle, RequiredString(*obj, "bundle"));

  if (const json::value* pid = obj->if_contains("pid"); pid != nullptr) {
    boost::system::error_code ec;
    c.pid = pid->to_number<int64_t>(ec);
    if (ec) return InvalidArgument("runc state: container " + c.id + ": bad \"pid\"");
  }
  if (const json::value* created = obj->if_contains("created");
      created != nullptr && created->is_string()) {
    auto t = ParseRfc3339(created->get_string());
    if (!t.has_value()) {
      return t.error().WithContext("runc state: container " + c.id + ": \"created\"");
    }
    c.created = *t;
  }
  if (const json::value* annotations = obj->if_contains("annotations");
      annotations != nullptr && !annotations->is_null()) {
    const json::object* a = annotations->if_object();
    if (a == nullptr) {
      return InvalidArgument("runc state: container " + c.id + ": \"annotations\" not an object");
    }
    for (const auto& [key, v] : *a) {
      if (!v.is_string()) {
        return InvalidArgument("runc state: container " + c.id + ": annotation \"" +
                               std::string(key) + "\" not a string");
      }
      c.annotations.emplace(std::string(key), std::string(v.get_string()));
    }
  }
  return c;
}

Result<json::value> ParseJson(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return InvalidArgument(std::string(what) + ": malformed JSON: " + ec.message());
  return v;
}

}  // namespace

std::string_view RuncStatusName(RuncStatus s) {
  switch (s) {
    case RuncStatus::kCreating:
      return "creating";
    case RuncStatus::kCreated:
      return "created";
    case RuncStatus::kRunning:
      return "running";
    case RuncStatus::kPaused:
      return "paused";
    case RuncStatus::kStopped:
      return "stopped";
  }
  return "unknown";
}

Result<RuncStatus> ParseRuncStatus(std::string_view text) {
  for (RuncStatus s : {RuncStatus::kCreating, RuncStatus::kCreated, RuncStatus::kRunning,
                       RuncStatus::kPaused, RuncStatus::kStopped}) {
    if (RuncStatusName(s) == text) return s;
  }
  return InvalidArgument("unknown runc status \"" + std::string(text) + "\"");
}

Result<RuncContainer> ParseRuncState(std::string_view json_text) {
  SBX_ASSIGN_OR_RETURN(json::value v, ParseJson(json_text, "runc state"));
  return ContainerFromJson(v);
}

Result<std::vector<RuncContainer>> ParseRuncList(std::string_view json_text) {
  SBX_ASSIGN_OR_RETURN(json::value v, ParseJson(json_text, "runc list"));
  std::vector<RuncContainer> out;
  if (v.is_null()) return out;
  const json::array* arr = v.if_array();
  if (arr == nullptr) return InvalidArgument("runc list: not a JSON array");
  for (const json::value& item : *arr) {
    auto c = ContainerFromJson(item);
    if (!c.has_value()) return c.error().WithContext("runc list");
    out.push_back(std::move(*c));
  }
  return out;
}

bool RuncSaysNotExist(std::string_view stderr_text) {
  return stderr_text.find("does not exist") != std::string_view::npos;
}

std::string RuncErrorMessage(std::string_view stderr_text) {
  constexpr std::string_view kMsg = "msg=\"";
  size_t pos = stderr_text.rfind(kMsg);
  if (pos == std::string_view::npos) return std::string(Trim(stderr_text));
  std::string out;
  for (size_t i = pos + kMsg.size(); i < stderr_text.size(); ++i) {
    char c = stderr_text[i];
    if (c == '"') break;
    if (c == '\\' && i + 1 < stderr_text.size()) c = stderr_text[++i];
    out += c;
  }
  return out;
}

std::string DescribeRuncFailure(const ProcessResult& r) {
  std::string msg = RuncErrorMessage(r.err);
  if (msg.empty()) msg = RuncErrorMessage(r.out);
  return std::to_string(r.exit_code).insert(0, "exit ") + (msg.empty() ? "" : ": ") + msg;
}

std::vector<std::string> RuncCommands::Run(const std::string& bundle_dir, const std::string& id,
                                           const std::string& log_file) const {
  return {binary, "--root", root, "--log", log_file, "run", "--detach", "--bundle", bundle_dir, id};
}

std::vector<std::string> RuncCommands::Pause(const std::string& id) const {
  return {binary, "--root", root, "pause", id};
}

std::vector<std::string> RuncCommands::Resume(const std::string& id) const {
  return {binary, "--root", root, "resume", id};
}

std::vector<std::string> RuncCommands::Kill(const std::string& id,
                                            const std::string& signal) const {
  return {binary, "--root", root, "kill", id, signal};
}

std::vector<std::string> RuncCommands::ForceDelete(const std::string& id) const {
  return {binary, "--root", root, "delete", "--force", id};
}

std::vector<std::string> RuncCommands::State(const std::string& id) const {
  return {binary, "--root", root, "state", id};
}

std::vector<std::string> RuncCommands::List() const {
  return {binary, "--root", root, "list", "--format", "json"};
}

}  // namespace sbx::provider::local
