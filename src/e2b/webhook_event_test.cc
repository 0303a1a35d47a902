#include "e2b/webhook_event.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace sbx::e2b {
namespace {

using core::EventType;

std::string ReadGolden(std::string_view name) {
  const std::string path = std::string(SBX_TESTDATA_DIR) + "/webhooks/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

SystemTime At(std::string_view rfc3339) {
  Result<SystemTime> t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.has_value() ? *t : SystemTime{};
}

core::LifecycleEvent MustParse(std::string_view body) {
  Result<core::LifecycleEvent> e = ParseWebhookEvent(body);
  EXPECT_TRUE(e.has_value()) << e.status().ToString();
  return e.has_value() ? *e : core::LifecycleEvent{};
}

// The kInvalidArgument message of a body that must not parse.
std::string ParseError(std::string_view body) {
  Result<core::LifecycleEvent> e = ParseWebhookEvent(body);
  EXPECT_FALSE(e.has_value()) << body;
  if (e.has_value()) return "";
  EXPECT_EQ(e.error().code(), StatusCode::kInvalidArgument);
  return e.error().message();
}

// A minimal valid v2 body with `edit` applied to its JSON object.
template <typename Edit>
std::string MinimalWith(Edit edit) {
  boost::json::object o = {
      {"id", "evt-1"},
      {"type", "sandbox.lifecycle.paused"},
      {"timestamp", "2026-11-27T10:00:00Z"},
      {"sandbox_id", "sbx-1"},
  };
  edit(o);
  return boost::json::serialize(o);
}

std::string MinimalWithout(std::string_view key) {
  return MinimalWith([&](boost::json::object& o) { o.erase(key); });
}

std::string MinimalWithField(std::string_view key, boost::json::value value) {
  return MinimalWith([&](boost::json::object& o) { o[key] = std::move(value); });
}

TEST(PayloadTest, ParsesV2Created) {
  const core::LifecycleEvent e = MustParse(ReadGolden("v2_created.json"));
  EXPECT_EQ(e.id, "0b6f2f0e-6a43-4a6e-9d1e-5b7f8c2d1a01");
  EXPECT_EQ(e.type, EventType::kCreated);
  EXPECT_EQ(e.raw_type, "sandbox.lifecycle.created");
  EXPECT_EQ(e.source, core::EventSource::kWebhook);
  // Nanoseconds in the payload are kept to microseconds.
  EXPECT_EQ(e.timestamp, At("2026-11-27T10:00:00.123456Z"));
  EXPECT_EQ(e.sandbox_id, "i8k2m4n6p8q0r2s4t6u8");
  EXPECT_EQ(e.project_id, "proj-42");
  EXPECT_EQ(e.metadata, (core::Metadata{{"projectId", "proj-42"}, {"owner", "alice"}}));
  EXPECT_EQ(e.template_name, "base");
  EXPECT_EQ(e.end_at, std::nullopt);
  EXPECT_EQ(e.url, std::nullopt);
  EXPECT_EQ(e.error, std::nullopt);
}

TEST(PayloadTest, ParsesV2UpdatedWithSetTimeout) {
  const core::LifecycleEvent e = MustParse(ReadGolden("v2_updated.json"));
  EXPECT_EQ(e.type, EventType::kUpdated);
  EXPECT_EQ(e.raw_type, "sandbox.lifecycle.updated");
  EXPECT_EQ(e.timestamp, At("2026-11-27T10:01:00Z"));
  EXPECT_EQ(e.end_at, At("2026-11-27T10:16:00Z"));
  EXPECT_EQ(e.project_id, "proj-42");
}

TEST(PayloadTest, ParsesV2Paused) {
  const core::LifecycleEvent e = MustParse(ReadGolden("v2_paused.json"));
  EXPECT_EQ(e.id, "0b6f2f0e-6a43-4a6e-9d1e-5b7f8c2d1a03");
  EXPECT_EQ(e.type, EventType::kPaused);
  EXPECT_EQ(e.timestamp, At("2026-11-27T10:05:00.500Z"));
  EXPECT_EQ(e.sandbox_id, "i8k2m4n6p8q0r2s4t6u8");
  EXPECT_EQ(e.project_id, "proj-42");
  EXPECT_EQ(e.end_at, std::nullopt);
}

TEST(PayloadTest, ParsesV2ResumedWithOffsetTimestamp) {
  const core::LifecycleEvent e = MustParse(ReadGolden("v2_resumed.json"));
  EXPECT_EQ(e.type, EventType::kResumed);
  EXPECT_EQ(e.timestamp, At("2026-11-27T10:00:00Z"));
}

TEST(PayloadTest, ParsesV2Killed) {
  const core::LifecycleEvent e = MustParse(ReadGolden("v2_killed.json"));
  EXPECT_EQ(e.type, EventType::kKilled);
  EXPECT_EQ(e.raw_type, "sandbox.lifecycle.killed");
  EXPECT_EQ(e.timestamp, At("2026-11-27T10:30:00Z"));
  EXPECT_EQ(e.project_id, "proj-42");
}

TEST(PayloadTest, ParsesV2CheckpointedWithoutEventData) {
  const core::LifecycleEvent e = MustParse(ReadGolden("v2_checkpointed.json"));
  EXPECT_EQ(e.type, EventType::kCheckpointed);
  EXPECT_TRUE(e.metadata.empty());
  EXPECT_EQ(e.project_id, "");
  EXPECT_EQ(e.template_name, "base");
}

TEST(PayloadTest, ParsesV1CamelCase) {
  const core::LifecycleEvent e = MustParse(ReadGolden("v1_camel_updated.json"));
  EXPECT_EQ(e.id, "6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e07");
  EXPECT_EQ(e.type, EventType::kUpdated);
  EXPECT_EQ(e.sandbox_id, "ixyz987");
  EXPECT_EQ(e.timestamp, At("2026-11-27T11:45:00Z"));
  EXPECT_EQ(e.end_at, At("2026-11-27T12:00:00Z"));
  EXPECT_EQ(e.template_name, "hello");
  EXPECT_EQ(e.project_id, "proj-7");
  // Non-string metadata values are kept as their JSON text.
  EXPECT_EQ(e.metadata,
            (core::Metadata{{"projectId", "proj-7"}, {"retries", "3"}, {"pinned", "true"}}));
}

TEST(PayloadTest, UnknownTypeIsKeptNotRejected) {
  const core::LifecycleEvent e = MustParse(ReadGolden("unknown_type.json"));
  EXPECT_EQ(e.type, EventType::kUnknown);
  EXPECT_EQ(e.raw_type, "sandbox.lifecycle.migrated");
  EXPECT_EQ(e.sandbox_id, "i8k2m4n6p8q0r2s4t6u8");
  // An empty template id is no template.
  EXPECT_EQ(e.template_name, std::nullopt);

  EXPECT_EQ(MustParse(MinimalWithField("type", "billing.invoice.paid")).type, EventType::kUnknown);
  EXPECT_EQ(MustParse(MinimalWithField("type", "")).type, EventType::kUnknown);
  EXPECT_EQ(MustParse(MinimalWithField("type", "Sandbox.Lifecycle.Paused")).type,
            EventType::kUnknown);
}

TEST(PayloadTest, TypeWithoutPrefix) {
  const struct {
    std::string_view type;
    EventType want;
  } cases[] = {
      {"created", EventType::kCreated},
      {"updated", EventType::kUpdated},
      {"paused", EventType::kPaused},
      {"resumed", EventType::kResumed},
      {"killed", EventType::kKilled},
      {"checkpointed", EventType::kCheckpointed},
      {"sandbox.lifecycle.", EventType::kUnknown},
  };
  for (const auto& c : cases) {
    const core::LifecycleEvent e = MustParse(MinimalWithField("type", c.type.data()));
    EXPECT_EQ(e.type, c.want) << c.type;
    EXPECT_EQ(e.raw_type, c.type);
  }
}

TEST(PayloadTest, MinimalBodyParses) {
  const core::LifecycleEvent e = MustParse(MinimalWith([](boost::json::object&) {}));
  EXPECT_EQ(e.id, "evt-1");
  EXPECT_EQ(e.type, EventType::kPaused);
  EXPECT_EQ(e.sandbox_id, "sbx-1");
  EXPECT_EQ(e.template_name, std::nullopt);
  EXPECT_TRUE(e.metadata.empty());
}

TEST(PayloadTest, RejectsMissingRequiredFields) {
  EXPECT_EQ(ParseError(MinimalWithout("id")), "e2b event: missing required field \"id\"");
  EXPECT_EQ(ParseError(MinimalWithout("type")), "e2b event: missing required field \"type\"");
  EXPECT_EQ(ParseError(MinimalWithout("timestamp")),
            "e2b event: missing required field \"timestamp\"");
  EXPECT_EQ(ParseError(MinimalWithout("sandbox_id")),
            "e2b event: missing required field \"sandbox_id\"");
}

TEST(PayloadTest, RejectsEmptyIds) {
  EXPECT_EQ(ParseError(MinimalWithField("id", "")), "e2b event: field \"id\" must not be empty");
  EXPECT_EQ(ParseError(MinimalWithField("sandbox_id", "")),
            "e2b event: field \"sandbox_id\" must not be empty");
  EXPECT_EQ(ParseError(MinimalWith([](boost::json::object& o) {
              o.erase("sandbox_id");
              o["sandboxId"] = "";
            })),
            "e2b event: field \"sandboxId\" must not be empty");
}

TEST(PayloadTest, RejectsWrongTypesOfRequiredFields) {
  EXPECT_EQ(ParseError(MinimalWithField("id", 42)),
            "e2b event: field \"id\" must be a string, got number");
  EXPECT_EQ(ParseError(MinimalWithField("id", nullptr)),
            "e2b event: field \"id\" must be a string, got null");
  EXPECT_EQ(ParseError(MinimalWithField("type", boost::json::array{"paused"})),
            "e2b event: field \"type\" must be a string, got array");
  EXPECT_EQ(ParseError(MinimalWithField("timestamp", 1764237600)),
            "e2b event: field \"timestamp\" must be a string, got number");
  EXPECT_EQ(ParseError(MinimalWithField("sandbox_id", true)),
            "e2b event: field \"sandbox_id\" must be a string, got boolean");
  EXPECT_EQ(ParseError(MinimalWith([](boost::json::object& o) {
              o.erase("sandbox_id");
              o["sandboxId"] = boost::json::object{};
            })),
            "e2b event: field \"sandboxId\" must be a string, got object");
}

TEST(PayloadTest, RejectsBadTimestamps) {
  EXPECT_EQ(ParseError(MinimalWithField("timestamp", "yesterday")),
            "e2b event: field \"timestamp\" is not RFC 3339: \"yesterday\"");
  EXPECT_EQ(ParseError(MinimalWithField("timestamp", "")),
            "e2b event: field \"timestamp\" is not RFC 3339: \"\"");
  // No zone.
  EXPECT_EQ(ParseError(MinimalWithField("timestamp", "2026-11-27T10:00:00")),
            "e2b event: field \"timestamp\" is not RFC 3339: \"2026-11-27T10:00:00\"");
}

TEST(PayloadTest, RejectsWrongTypesOfOptionalFields) {
  EXPECT_EQ(ParseError(MinimalWithField("event_data", "x")),
            "e2b event: field \"event_data\" must be an object, got string");
  EXPECT_EQ(ParseError(MinimalWithField("eventData", boost::json::array{})),
            "e2b event: field \"eventData\" must be an object, got array");
  EXPECT_EQ(ParseError(MinimalWithField("event_data", {{"sandbox_metadata", "projectId=p"}})),
            "e2b event: field \"sandbox_metadata\" must be an object, got string");
  EXPECT_EQ(ParseError(MinimalWithField("event_data", {{"set_timeout", 900}})),
            "e2b event: field \"set_timeout\" must be an RFC 3339 string, got number");
  EXPECT_EQ(ParseError(MinimalWithField("event_data", {{"setTimeout", "in 15 minutes"}})),
            "e2b event: field \"setTimeout\" is not RFC 3339: \"in 15 minutes\"");
  EXPECT_EQ(ParseError(MinimalWithField("sandbox_template_id", 7)),
            "e2b event: field \"sandbox_template_id\" must be a string, got number");
}

TEST(PayloadTest, NullOptionalFieldsAreAbsent) {
  const core::LifecycleEvent e = MustParse(MinimalWith([](boost::json::object& o) {
    o["sandbox_template_id"] = nullptr;
    o["event_data"] = {{"sandbox_metadata", nullptr}, {"set_timeout", nullptr}};
  }));
  EXPECT_EQ(e.template_name, std::nullopt);
  EXPECT_TRUE(e.metadata.empty());
  EXPECT_EQ(e.end_at, std::nullopt);
  EXPECT_EQ(MustParse(MinimalWithField("event_data", nullptr)).end_at, std::nullopt);
}

TEST(PayloadTest, SnakeCaseWinsOverCamelCase) {
  const core::LifecycleEvent e = MustParse(MinimalWith([](boost::json::object& o) {
    o["sandboxId"] = "camel";
    o["event_data"] = {{"sandbox_metadata", {{"projectId", "snake"}}}};
    o["eventData"] = {{"sandboxMetadata", {{"projectId", "camel"}}}};
  }));
  EXPECT_EQ(e.sandbox_id, "sbx-1");
  EXPECT_EQ(e.project_id, "snake");
}

TEST(PayloadTest, NonStringMetadataBecomesJsonText) {
  const core::LifecycleEvent e = MustParse(MinimalWithField("event_data", {{"sandbox_metadata",
                                                                            {{"projectId", 12},
                                                                             {"n", nullptr},
                                                                             {"list", {1, 2}},
                                                                             {"obj", {{"a", "b"}}},
                                                                             {"f", 1.5}}}}));
  EXPECT_EQ(e.project_id, "12");
  EXPECT_EQ(e.metadata.at("n"), "null");
  EXPECT_EQ(e.metadata.at("list"), "[1,2]");
  EXPECT_EQ(e.metadata.at("obj"), R"({"a":"b"})");
  EXPECT_EQ(e.metadata.at("f"), "1.5E0");
}

TEST(PayloadTest, RejectsMalformedJson) {
  for (std::string_view body : {"", "   ", "{", "{\"id\":", "{\"id\":\"evt-1\",}", "nul",
                                "{\"id\":\"e\"} trailing", "\xff\xfe", "{'id':'x'}"}) {
    const std::string message = ParseError(body);
    EXPECT_TRUE(message.starts_with("malformed JSON: ")) << body << " -> " << message;
  }
  EXPECT_TRUE(ParseError(std::string(100, '[') + std::string(100, ']')).starts_with("malformed"));
}

TEST(PayloadTest, RejectsNonObjectBodies) {
  EXPECT_EQ(ParseError("[]"), "e2b event: body must be a JSON object, got array");
  EXPECT_EQ(ParseError("\"sandbox.lifecycle.paused\""),
            "e2b event: body must be a JSON object, got string");
  EXPECT_EQ(ParseError("null"), "e2b event: body must be a JSON object, got null");
  EXPECT_EQ(ParseError("42"), "e2b event: body must be a JSON object, got number");
}

TEST(PayloadTest, ParsesHugeButValidPayload) {
  const std::string big_value(1 << 20, 'v');  // 1 MiB string
  const std::string body = MinimalWith([&](boost::json::object& o) {
    boost::json::object metadata;
    for (int i = 0; i < 10'000; ++i) metadata["key-" + std::to_string(i)] = "value";
    metadata["projectId"] = "proj-big";
    metadata["blob"] = big_value;
    o["event_data"] = {{"sandbox_metadata", std::move(metadata)},
                       {"execution", {{"vcpu_count", 2}, {"memory_mb", 512}}}};
  });
  ASSERT_GT(body.size(), 1u << 20);
  const core::LifecycleEvent e = MustParse(body);
  EXPECT_EQ(e.project_id, "proj-big");
  EXPECT_EQ(e.metadata.size(), 10'002u);
  EXPECT_EQ(e.metadata.at("blob"), big_value);
}

TEST(PayloadTest, WebhookEventTypeNamesProviderTypes) {
  EXPECT_EQ(WebhookEventType(EventType::kCreated), "sandbox.lifecycle.created");
  EXPECT_EQ(WebhookEventType(EventType::kResumed), "sandbox.lifecycle.resumed");
  EXPECT_EQ(WebhookEventType(EventType::kUpdated), "sandbox.lifecycle.updated");
  EXPECT_EQ(WebhookEventType(EventType::kPaused), "sandbox.lifecycle.paused");
  EXPECT_EQ(WebhookEventType(EventType::kKilled), "sandbox.lifecycle.killed");
  EXPECT_EQ(WebhookEventType(EventType::kCheckpointed), "sandbox.lifecycle.checkpointed");
  EXPECT_EQ(WebhookEventType(EventType::kUnknown), "");
  EXPECT_EQ(WebhookEventType(EventType::kPauseRequested), "");
}

TEST(PayloadTest, WebhookEventTypesListsEveryTypeOnceAndParsesBack) {
  const std::vector<std::string>& names = WebhookEventTypes();
  ASSERT_EQ(names.size(), 6u);
  EXPECT_EQ(names.front(), "sandbox.lifecycle.created");
  EXPECT_EQ(names.back(), "sandbox.lifecycle.checkpointed");
  for (const std::string& name : names) {
    const core::LifecycleEvent e =
        MustParse(MinimalWith([&](boost::json::object& o) { o["type"] = name; }));
    EXPECT_NE(e.type, EventType::kUnknown) << name;
    EXPECT_EQ(WebhookEventType(e.type), name);
  }
}

WebhookEvent SampleFields() {
  WebhookEvent f;
  f.id = "0b6f2f0e-6a43-4a6e-9d1e-5b7f8c2d1a09";
  f.type = "sandbox.lifecycle.killed";
  f.timestamp = At("2026-11-27T10:30:00.250Z");
  f.sandbox_id = "i8k2m4n6p8q0r2s4t6u8";
  f.sandbox_execution_id = "exec-1";
  f.sandbox_template_id = "hello";
  f.sandbox_build_id = "build-1";
  f.sandbox_team_id = "team-1";
  f.sandbox_metadata = {{"projectId", "proj-42"}, {"owner", "alice"}};
  f.kill_reason = "request";
  return f;
}

TEST(PayloadTest, SerializeWritesV2SnakeCase) {
  WebhookEvent f = SampleFields();
  EXPECT_EQ(SerializeWebhookEventV2(f),
            R"({"id":"0b6f2f0e-6a43-4a6e-9d1e-5b7f8c2d1a09","version":"v2",)"
            R"("type":"sandbox.lifecycle.killed","timestamp":"2026-11-27T10:30:00.250Z",)"
            R"("event_category":"lifecycle","event_label":"kill",)"
            R"("event_data":{"sandbox_metadata":{"owner":"alice","projectId":"proj-42"},)"
            R"("kill_reason":"request"},)"
            R"("sandbox_id":"i8k2m4n6p8q0r2s4t6u8","sandbox_execution_id":"exec-1",)"
            R"("sandbox_template_id":"hello","sandbox_build_id":"build-1",)"
            R"("sandbox_team_id":"team-1"})");
}

TEST(PayloadTest, SerializeOmitsEmptyEventDataAndLabelsEveryType) {
  const struct {
    std::string_view type;
    std::string_view label;
  } cases[] = {
      {"sandbox.lifecycle.created", "create"},    {"sandbox.lifecycle.resumed", "resume"},
      {"sandbox.lifecycle.updated", "update"},    {"sandbox.lifecycle.paused", "pause"},
      {"sandbox.lifecycle.killed", "kill"},       {"sandbox.lifecycle.checkpointed", "checkpoint"},
      {"sandbox.lifecycle.migrated", "migrated"},
  };
  for (const auto& c : cases) {
    WebhookEvent f;
    f.id = "e";
    f.type = std::string(c.type);
    f.sandbox_id = "s";
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(SerializeWebhookEventV2(f), ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(v.at("event_label").as_string(), c.label);
    EXPECT_EQ(v.at("event_category").as_string(), "lifecycle");
    EXPECT_EQ(v.as_object().if_contains("event_data"), nullptr) << c.type;
  }
}

TEST(PayloadTest, SerializeThenParseRoundTrips) {
  const WebhookEvent killed = SampleFields();
  core::LifecycleEvent e = MustParse(SerializeWebhookEventV2(killed));
  EXPECT_EQ(e.id, killed.id);
  EXPECT_EQ(e.type, EventType::kKilled);
  EXPECT_EQ(e.raw_type, killed.type);
  EXPECT_EQ(e.source, core::EventSource::kWebhook);
  EXPECT_EQ(e.timestamp, killed.timestamp);
  EXPECT_EQ(e.sandbox_id, killed.sandbox_id);
  EXPECT_EQ(e.metadata, killed.sandbox_metadata);
  EXPECT_EQ(e.project_id, "proj-42");
  EXPECT_EQ(e.template_name, "hello");
  EXPECT_EQ(e.end_at, std::nullopt);

  WebhookEvent updated = SampleFields();
  updated.type = std::string(WebhookEventType(EventType::kUpdated));
  updated.kill_reason.reset();
  updated.set_timeout = At("2026-11-27T10:45:00.125Z");
  e = MustParse(SerializeWebhookEventV2(updated));
  EXPECT_EQ(e.type, EventType::kUpdated);
  EXPECT_EQ(e.end_at, updated.set_timeout);

  for (EventType t :
       {EventType::kCreated, EventType::kResumed, EventType::kPaused, EventType::kCheckpointed}) {
    WebhookEvent f = SampleFields();
    f.type = std::string(WebhookEventType(t));
    f.kill_reason.reset();
    f.sandbox_metadata.clear();
    f.sandbox_template_id.clear();
    e = MustParse(SerializeWebhookEventV2(f));
    EXPECT_EQ(e.type, t);
    EXPECT_TRUE(e.metadata.empty());
    EXPECT_EQ(e.project_id, "");
    EXPECT_EQ(e.template_name, std::nullopt);
  }
}

}  // namespace
}  // namespace sbx::e2b
