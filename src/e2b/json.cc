#include "e2b/json.h"

#include <fmt/format.h>

namespace sbx::e2b {
namespace json = boost::json;

namespace {

// The field, or null when it is absent or JSON null.
const json::value* Present(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  return v;
}

}  // namespace

std::string_view KindName(json::kind kind) {
  switch (kind) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "unknown";
}

Status FieldTypeError(std::string_view key, std::string_view want, const json::value& got) {
  return InvalidArgument(
      fmt::format("Field '{}' must be {}, got {}", key, want, KindName(got.kind())));
}

Result<std::optional<int64_t>> OptionalInt(const json::object& o, std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->as_int64());
  if (v->is_uint64()) {
    if (v->as_uint64() > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgument(fmt::format("Field '{}' is out of range", key));
    }
    return std::optional<int64_t>(static_cast<int64_t>(v->as_uint64()));
  }
  if (v->is_double()) {
    const double d = v->as_double();
    // Range first: converting an out-of-range double to an integer is undefined.
    if (d > -9e15 && d < 9e15 && d == static_cast<double>(static_cast<int64_t>(d))) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return FieldTypeError(key, "an integer", *v);
}

Result<std::optional<bool>> OptionalBool(const json::object& o, std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) return FieldTypeError(key, "a boolean", *v);
  return std::optional<bool>(v->as_bool());
}

Result<std::optional<std::string>> OptionalString(const json::object& o, std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return FieldTypeError(key, "a string", *v);
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::string> RequiredString(const json::object& o, std::string_view key) {
  SBX_ASSIGN_OR_RETURN(std::optional<std::string> s, OptionalString(o, key));
  if (!s || s->empty()) return InvalidArgument(fmt::format("Field '{}' is required", key));
  return std::move(*s);
}

Result<std::optional<SystemTime>> OptionalTime(const json::object& o, std::string_view key) {
  SBX_ASSIGN_OR_RETURN(std::optional<std::string> s, OptionalString(o, key));
  if (!s) return std::optional<SystemTime>();
  Result<SystemTime> t = ParseRfc3339(*s);
  if (!t.ok()) {
    return InvalidArgument(fmt::format("Field '{}' must be an RFC 3339 date-time", key));
  }
  return std::optional<SystemTime>(*t);
}

Result<const json::object*> OptionalObject(const json::object& o, std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return FieldTypeError(key, "an object", *v);
  return &v->as_object();
}

Result<std::optional<core::Metadata>> OptionalStringMap(const json::object& o,
                                                        std::string_view key) {
  SBX_ASSIGN_OR_RETURN(const json::object* map, OptionalObject(o, key));
  if (map == nullptr) return std::optional<core::Metadata>();
  core::Metadata out;
  for (const json::key_value_pair& kv : *map) {
    if (!kv.value().is_string()) {
      return FieldTypeError(fmt::format("{}.{}", key, std::string_view(kv.key())), "a string",
                            kv.value());
    }
    out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return std::optional<core::Metadata>(std::move(out));
}

Result<std::optional<std::vector<std::string>>> OptionalStringArray(const json::object& o,
                                                                    std::string_view key) {
  const json::value* v = Present(o, key);
  if (v == nullptr) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) return FieldTypeError(key, "an array of strings", *v);
  std::vector<std::string> out;
  for (const json::value& e : v->as_array()) {
    if (!e.is_string()) return FieldTypeError(key, "an array of strings", e);
    out.emplace_back(e.as_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

json::object StringMapJson(const core::Metadata& map) {
  json::object o;
  for (const auto& [key, value] : map) o[key] = value;
  return o;
}

}  // namespace sbx::e2b
