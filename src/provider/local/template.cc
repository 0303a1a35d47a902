#include "provider/local/template.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include <boost/json.hpp>

namespace sbx::provider::local {
namespace {

namespace json = boost::json;

constexpr int64_t kMaxMemoryLimitMib = 64 * 1024;
constexpr int64_t kMaxPidsLimit = 32 * 1024;
constexpr int64_t kMaxStartTimeoutMs = 10 * 60 * 1000;
constexpr int64_t kMaxCpuMillis = 256 * 1000;
constexpr int64_t kMaxDiskLimitMib = 1024 * 1024;
// Below this, mkfs.ext4 cannot make a usable file system.
constexpr int64_t kMinDiskLimitMib = 8;

bool IsEnvName(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsPlainPath(std::string_view s) {
  if (s.empty() || s[0] != '/') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c != 0x7f; });
}

// Reads fields of one template object, remembering the first error.
class FieldReader {
 public:
  FieldReader(const json::object& obj, std::string_view name) : obj_(obj), name_(name) {}

  Status Fail(std::string_view field, std::string_view problem) const {
    return FailedPrecondition("template " + name_ + ": \"" + std::string(field) + "\" " +
                              std::string(problem));
  }

  Result<std::string> String(std::string_view field, std::string fallback) const {
    const json::value* v = obj_.if_contains(field);
    if (v == nullptr) return fallback;
    if (!v->is_string()) return Fail(field, "must be a string");
    return std::string(v->get_string());
  }

  Result<int64_t> Int(std::string_view field, int64_t fallback, int64_t max,
                      int64_t min = 1) const {
    const json::value* v = obj_.if_contains(field);
    if (v == nullptr) return fallback;
    boost::system::error_code ec;
    int64_t n = v->is_number() && !v->is_double() ? v->to_number<int64_t>(ec) : 0;
    if (!v->is_number() || v->is_double() || ec || n < min || n > max) {
      return Fail(field, "must be an integer from " + std::to_string(min) + " to " +
                             std::to_string(max));
    }
    return n;
  }

 private:
  const json::object& obj_;
  std::string name_;
};

}  // namespace

std::string_view EgressName(Egress e) {
  switch (e) {
    case Egress::kNone:
      return "none";
    case Egress::kInternet:
      return "internet";
  }
  return "none";
}

bool IsValidTemplateName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '-' || name[0] == '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

Result<Template> ParseTemplate(std::string_view json_text, std::string_view name) {
  const std::string label(name);
  boost::system::error_code ec;
  json::value root = json::parse(json_text, ec);
  if (ec) return FailedPrecondition("template " + label + ": malformed JSON: " + ec.message());
  const json::object* obj = root.if_object();
  if (obj == nullptr) return FailedPrecondition("template " + label + ": not a JSON object");

  static constexpr std::string_view kKnown[] = {
      "name",      "description", "command",      "port",   "portEnv",       "readinessPath",
      "env",       "memoryLimitMiB", "pidsLimit", "cpuMillis", "diskLimitMiB", "egress",
      "startTimeoutMs"};
  for (const auto& [key, value] : *obj) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return FailedPrecondition("template " + label + ": unknown field \"" + std::string(key) +
                                "\"");
    }
  }

  FieldReader f(*obj, name);
  Template t;
  SBX_ASSIGN_OR_RETURN(t.name, f.String("name", ""));
  if (t.name != name) {
    return f.Fail("name", "must be \"" + label + "\", the file's name without .json");
  }

  const json::value* command = obj->if_contains("command");
  if (command == nullptr || !command->is_array() || command->get_array().empty()) {
    return f.Fail("command", "must be a non-empty array of strings");
  }
  for (const json::value& arg : command->get_array()) {
    if (!arg.is_string()) return f.Fail("command", "must be a non-empty array of strings");
    t.command.emplace_back(arg.get_string());
  }
  if (t.command[0].empty()) return f.Fail("command", "must not start with an empty program");

  SBX_ASSIGN_OR_RETURN(int64_t port, f.Int("port", t.port, 65535));
  t.port = static_cast<uint16_t>(port);
  SBX_ASSIGN_OR_RETURN(t.port_env, f.String("portEnv", t.port_env));
  if (!IsEnvName(t.port_env)) return f.Fail("portEnv", "must be an environment variable name");
  SBX_ASSIGN_OR_RETURN(t.readiness_path, f.String("readinessPath", t.readiness_path));
  if (!IsPlainPath(t.readiness_path)) {
    return f.Fail("readinessPath", "must start with / and contain no spaces or control characters");
  }
  SBX_ASSIGN_OR_RETURN(t.memory_limit_mib,
                       f.Int("memoryLimitMiB", t.memory_limit_mib, kMaxMemoryLimitMib));
  SBX_ASSIGN_OR_RETURN(t.pids_limit, f.Int("pidsLimit", t.pids_limit, kMaxPidsLimit));
  SBX_ASSIGN_OR_RETURN(t.cpu_millis, f.Int("cpuMillis", t.cpu_millis, kMaxCpuMillis));
  SBX_ASSIGN_OR_RETURN(t.disk_limit_mib,
                       f.Int("diskLimitMiB", t.disk_limit_mib, kMaxDiskLimitMib, kMinDiskLimitMib));
  SBX_ASSIGN_OR_RETURN(std::string egress, f.String("egress", std::string(EgressName(t.egress))));
  if (egress == EgressName(Egress::kNone)) {
    t.egress = Egress::kNone;
  } else if (egress == EgressName(Egress::kInternet)) {
    t.egress = Egress::kInternet;
  } else {
    return f.Fail("egress", "must be \"none\" or \"internet\"");
  }
  SBX_ASSIGN_OR_RETURN(int64_t start_timeout_ms,
                       f.Int("startTimeoutMs", t.start_timeout.count(), kMaxStartTimeoutMs));
  t.start_timeout = std::chrono::milliseconds(start_timeout_ms);

  if (const json::value* env = obj->if_contains("env"); env != nullptr) {
    const json::object* env_obj = env->if_object();
    if (env_obj == nullptr) return f.Fail("env", "must be an object of strings");
    for (const auto& [key, value] : *env_obj) {
      if (!IsEnvName(key)) return f.Fail("env", "has an invalid name \"" + std::string(key) + "\"");
      if (!value.is_string()) return f.Fail("env", "must be an object of strings");
      t.env.emplace(std::string(key), std::string(value.get_string()));
    }
  }
  if (const json::value* d = obj->if_contains("description"); d != nullptr && !d->is_string()) {
    return f.Fail("description", "must be a string");
  }
  return t;
}

Result<Template> LoadTemplate(const std::filesystem::path& dir, std::string_view name) {
  if (!IsValidTemplateName(name)) {
    return InvalidArgument("invalid template name \"" + std::string(name) + "\"");
  }
  const std::filesystem::path file = dir / (std::string(name) + ".json");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return InvalidArgument("unknown template \"" + std::string(name) + "\": no file " +
                           file.string());
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return FailedPrecondition("template " + std::string(name) + ": cannot read " + file.string());
  }
  auto t = ParseTemplate(text.str(), name);
  if (!t.has_value())
    return Status(t.error().code(), t.error().message() + " (" + file.string() + ")");
  return t;
}

Result<std::vector<std::string>> ListTemplates(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return FailedPrecondition("templates dir " + dir.string() + ": " + ec.message());
  std::vector<std::string> names;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const auto& path = it->path();
    if (path.extension() == ".json" && IsValidTemplateName(path.stem().string())) {
      names.push_back(path.stem().string());
    }
  }
  if (ec) return FailedPrecondition("templates dir " + dir.string() + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

std::filesystem::path ResolveProgram(const Template& t, const std::filesystem::path& binary_dir) {
  std::filesystem::path program(t.command[0]);
  if (program.is_absolute()) return program;
  return binary_dir / program;
}

}  // namespace sbx::provider::local
