#include "e2b/webhook_event.h"

#include <array>
#include <utility>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "e2b/json.h"

namespace sbx::e2b {
namespace {

namespace json = boost::json;

constexpr std::string_view kTypePrefix = "sandbox.lifecycle.";

struct TypeName {
  core::EventType type;
  std::string_view name;   // after kTypePrefix
  std::string_view label;  // legacy event_label
};

constexpr std::array<TypeName, 6> kTypes = {{
    {core::EventType::kCreated, "created", "create"},
    {core::EventType::kResumed, "resumed", "resume"},
    {core::EventType::kUpdated, "updated", "update"},
    {core::EventType::kPaused, "paused", "pause"},
    {core::EventType::kKilled, "killed", "kill"},
    {core::EventType::kCheckpointed, "checkpointed", "checkpoint"},
}};

std::string_view StripTypePrefix(std::string_view type) {
  if (type.starts_with(kTypePrefix)) type.remove_prefix(kTypePrefix.size());
  return type;
}

core::EventType ParseType(std::string_view type) {
  const std::string_view name = StripTypePrefix(type);
  for (const TypeName& t : kTypes) {
    if (t.name == name) return t.type;
  }
  return core::EventType::kUnknown;
}

Status FieldError(std::string_view key, std::string_view problem) {
  return InvalidArgument(fmt::format("e2b event: field \"{}\" {}", key, problem));
}

// A field under its v2 snake_case or v1 camelCase key. `key` is set to the
// key found (for error messages), or to `snake` when neither is present.
struct Field {
  const json::value* value = nullptr;  // null when absent or JSON null
  std::string_view key;
};

Field Find(const json::object& obj, std::string_view snake, std::string_view camel) {
  for (std::string_view key : {snake, camel}) {
    if (const json::value* v = obj.if_contains(key)) {
      if (v->is_null()) return {nullptr, key};
      return {v, key};
    }
  }
  return {nullptr, snake};
}

Result<std::string> RequiredString(const json::object& obj, std::string_view snake,
                                   std::string_view camel, bool allow_empty) {
  for (std::string_view key : {snake, camel}) {
    const json::value* v = obj.if_contains(key);
    if (v == nullptr) continue;
    const json::string* s = v->if_string();
    if (s == nullptr) {
      return FieldError(key, fmt::format("must be a string, got {}", KindName(v->kind())));
    }
    if (s->empty() && !allow_empty) return FieldError(key, "must not be empty");
    return std::string(*s);
  }
  return InvalidArgument(fmt::format("e2b event: missing required field \"{}\"", snake));
}

// An optional string field: nullopt when absent or null.
Result<std::optional<std::string>> OptionalString(const json::object& obj, std::string_view snake,
                                                  std::string_view camel) {
  const Field f = Find(obj, snake, camel);
  if (f.value == nullptr) return std::optional<std::string>();
  const json::string* s = f.value->if_string();
  if (s == nullptr) {
    return FieldError(f.key, fmt::format("must be a string, got {}", KindName(f.value->kind())));
  }
  return std::optional<std::string>(std::string(*s));
}

// An optional object field: null pointer when absent or null.
Result<const json::object*> OptionalObject(const json::object& obj, std::string_view snake,
                                           std::string_view camel) {
  const Field f = Find(obj, snake, camel);
  if (f.value == nullptr) return static_cast<const json::object*>(nullptr);
  const json::object* o = f.value->if_object();
  if (o == nullptr) {
    return FieldError(f.key, fmt::format("must be an object, got {}", KindName(f.value->kind())));
  }
  return o;
}

Result<SystemTime> ParseTime(std::string_view key, std::string_view text) {
  Result<SystemTime> t = ParseRfc3339(text);
  if (!t.has_value()) return FieldError(key, fmt::format("is not RFC 3339: \"{}\"", text));
  return *t;
}

// Metadata keeps strings as they are; any other value becomes its JSON text.
core::Metadata ToMetadata(const json::object& obj) {
  core::Metadata metadata;
  for (const json::key_value_pair& kv : obj) {
    const json::string* s = kv.value().if_string();
    metadata.emplace(std::string(kv.key()),
                     s != nullptr ? std::string(*s) : json::serialize(kv.value()));
  }
  return metadata;
}

Result<json::object> ParseObject(std::string_view body) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const size_t consumed = parser.write(body.data(), body.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    return InvalidArgument(
        fmt::format("malformed JSON: {} (at byte {} of {})", ec.message(), consumed, body.size()));
  }
  json::value root = parser.release();
  if (!root.is_object()) {
    return InvalidArgument(
        fmt::format("e2b event: body must be a JSON object, got {}", KindName(root.kind())));
  }
  return std::move(root.as_object());
}

}  // namespace

Result<core::LifecycleEvent> ParseWebhookEvent(std::string_view body) {
  json::object root;
  SBX_ASSIGN_OR_RETURN(root, ParseObject(body));

  core::LifecycleEvent event;
  event.source = core::EventSource::kWebhook;
  SBX_ASSIGN_OR_RETURN(event.id, RequiredString(root, "id", "id", /*allow_empty=*/false));
  SBX_ASSIGN_OR_RETURN(event.raw_type, RequiredString(root, "type", "type", /*allow_empty=*/true));
  event.type = ParseType(event.raw_type);
  std::string timestamp;
  SBX_ASSIGN_OR_RETURN(timestamp,
                       RequiredString(root, "timestamp", "timestamp", /*allow_empty=*/true));
  SBX_ASSIGN_OR_RETURN(event.timestamp, ParseTime("timestamp", timestamp));
  SBX_ASSIGN_OR_RETURN(event.sandbox_id,
                       RequiredString(root, "sandbox_id", "sandboxId", /*allow_empty=*/false));

  std::optional<std::string> template_id;
  SBX_ASSIGN_OR_RETURN(template_id,
                       OptionalString(root, "sandbox_template_id", "sandboxTemplateId"));
  if (template_id && !template_id->empty()) event.template_name = std::move(*template_id);

  const json::object* data = nullptr;
  SBX_ASSIGN_OR_RETURN(data, OptionalObject(root, "event_data", "eventData"));
  if (data == nullptr) return event;

  const json::object* metadata = nullptr;
  SBX_ASSIGN_OR_RETURN(metadata, OptionalObject(*data, "sandbox_metadata", "sandboxMetadata"));
  if (metadata != nullptr) {
    event.metadata = ToMetadata(*metadata);
    if (auto it = event.metadata.find("projectId"); it != event.metadata.end()) {
      event.project_id = it->second;
    }
  }

  const Field set_timeout = Find(*data, "set_timeout", "setTimeout");
  if (set_timeout.value != nullptr) {
    const json::string* s = set_timeout.value->if_string();
    if (s == nullptr) {
      return FieldError(set_timeout.key, fmt::format("must be an RFC 3339 string, got {}",
                                                     KindName(set_timeout.value->kind())));
    }
    SBX_ASSIGN_OR_RETURN(event.end_at, ParseTime(set_timeout.key, *s));
  }
  return event;
}

const std::vector<std::string>& WebhookEventTypes() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const TypeName& t : kTypes) names.push_back(fmt::format("{}{}", kTypePrefix, t.name));
    return names;
  }();
  return kNames;
}

std::string_view WebhookEventType(core::EventType type) {
  for (size_t i = 0; i < kTypes.size(); ++i) {
    if (kTypes[i].type == type) return WebhookEventTypes()[i];
  }
  return "";
}

std::string SerializeWebhookEventV2(const WebhookEvent& fields) {
  const std::string_view name = StripTypePrefix(fields.type);
  std::string_view label = name;
  for (const TypeName& t : kTypes) {
    if (t.name == name) label = t.label;
  }

  json::object data;
  if (!fields.sandbox_metadata.empty()) {
    data["sandbox_metadata"] = StringMapJson(fields.sandbox_metadata);
  }
  if (fields.set_timeout) data["set_timeout"] = FormatRfc3339(*fields.set_timeout);
  if (fields.kill_reason) data["kill_reason"] = *fields.kill_reason;

  // Key order follows E2B's Go struct so bodies read like real deliveries.
  json::object root;
  root["id"] = fields.id;
  root["version"] = "v2";
  root["type"] = fields.type;
  root["timestamp"] = FormatRfc3339(fields.timestamp);
  root["event_category"] = "lifecycle";
  root["event_label"] = label;
  if (!data.empty()) root["event_data"] = std::move(data);
  root["sandbox_id"] = fields.sandbox_id;
  root["sandbox_execution_id"] = fields.sandbox_execution_id;
  root["sandbox_template_id"] = fields.sandbox_template_id;
  root["sandbox_build_id"] = fields.sandbox_build_id;
  root["sandbox_team_id"] = fields.sandbox_team_id;
  return json::serialize(root);
}

}  // namespace sbx::e2b
