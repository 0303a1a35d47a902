#include "webhook/receiver.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "e2b/signature.h"
#include "e2b/webhook_event.h"
#include "lifecycle/testing.h"

namespace sbx::webhook {
namespace {

using lifecycle::Outcome;
using lifecycle::testing::Harness;
using lifecycle::testing::RunSync;

std::string Body(const std::string& id, const std::string& type, int64_t t_s,
                 const std::string& sandbox = "fake1") {
  e2b::WebhookEvent f;
  f.id = id;
  f.type = "sandbox.lifecycle." + type;
  f.timestamp = FromUnixMillis(1'767'225'600'000 + t_s * 1000);
  f.sandbox_id = sandbox;
  f.sandbox_metadata = {{"projectId", "p1"}};
  return e2b::SerializeWebhookEventV2(f);
}

class ReceiverTest : public ::testing::Test {
 protected:
  Result<lifecycle::ApplyResult> Deliver(const std::string& body, const std::string& sig) {
    return RunSync(h_.io, receiver_.Receive(body, sig));
  }
  Harness h_;
  WebhookReceiver receiver_{h_.lifecycle, h_.metrics, {"old-secret", "new-secret"}};
};

TEST_F(ReceiverTest, SignedButOversizedIdsAndMetadataAreRefusedAndChangeNothing) {
  auto deliver = [&](const e2b::WebhookEvent& f) {
    const std::string body = e2b::SerializeWebhookEventV2(f);
    return Deliver(body, e2b::ComputeSignature("new-secret", body, true));
  };
  e2b::WebhookEvent f;
  f.id = "e1";
  f.type = "sandbox.lifecycle.created";
  f.timestamp = FromUnixMillis(1'767'225'600'000);
  f.sandbox_id = "fake1";
  f.sandbox_metadata = {{"projectId", std::string(5000, 'p')}};
  auto long_project = deliver(f);
  ASSERT_FALSE(long_project.ok());
  EXPECT_EQ(long_project.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(long_project.error().message().find("projectId"), std::string::npos);
  f.sandbox_metadata = {{"projectId", "p1"}};
  for (int i = 0; i < 40; ++i) f.sandbox_metadata["k" + std::to_string(i)] = "v";
  EXPECT_EQ(deliver(f).error().code(), StatusCode::kInvalidArgument);
  f.sandbox_metadata = {{"projectId", "p1"}};
  f.sandbox_id = std::string(200, 's');
  EXPECT_EQ(deliver(f).error().code(), StatusCode::kInvalidArgument);
  f.sandbox_id = "fake1";
  f.sandbox_template_id = std::string(100'000, 't');  // would ride in every status read
  auto long_template = deliver(f);
  ASSERT_FALSE(long_template.ok());
  EXPECT_NE(long_template.error().message().find("sandbox_template_id"), std::string::npos);
  f.sandbox_template_id.clear();
  // The type is stored in every history row of the event, even unknown.
  for (const std::string& type : {std::string(5000, 't'), std::string("sandbox.\x01\n")}) {
    f.type = type;
    auto bad_type = deliver(f);
    ASSERT_FALSE(bad_type.ok());
    EXPECT_NE(bad_type.error().message().find("type"), std::string::npos)
        << bad_type.error().ToString();
  }
  f.type = "sandbox.lifecycle.created";
  EXPECT_TRUE(h_.lifecycle.read_model().All().empty());
  EXPECT_FALSE(*h_.store->IsEventProcessed("e1"));
  // The most a client may set (32 entries) comes back with sandboxd's own
  // keys added (projectId, the create request id): that is accepted.
  f.sandbox_id = "fake1";
  f.sandbox_metadata = {{"projectId", "p1"}, {"sandboxd.requestId", "r-1"}};
  for (int i = 0; i < 32; ++i) f.sandbox_metadata["k" + std::to_string(i)] = std::string(250, 'v');
  auto full = deliver(f);
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  EXPECT_EQ(full->outcome, Outcome::kApplied);
  // Keys as E2B's clients write them (the SDKs URL-encode keys, so "user id"
  // and "app/owner" are legitimate there) are accepted; control characters
  // are not.
  f.id = "e2";
  f.type = "sandbox.lifecycle.updated";
  f.sandbox_metadata = {{"projectId", "p1"}, {"user id", "u"}, {"app/owner", "o"}};
  auto text_keys = deliver(f);
  ASSERT_TRUE(text_keys.ok()) << text_keys.error().ToString();
  f.id = "e3";
  f.sandbox_metadata = {{"projectId", "p1"}, {"bad\nkey", "u"}};
  EXPECT_EQ(deliver(f).error().code(), StatusCode::kInvalidArgument);
}

TEST_F(ReceiverTest, SignedEventsApplyAndReplaysAreDuplicates) {
  const std::string body = Body("e1", "created", 10);
  auto r = Deliver(body, e2b::ComputeSignature("new-secret", body, true));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kApplied);
  EXPECT_EQ(h_.lifecycle.Get("p1")->status, core::SandboxStatus::kRunning);
  // Rotation: the old secret still verifies; a replay changes nothing.
  auto again = Deliver(body, e2b::ComputeSignature("old-secret", body, false));
  EXPECT_EQ(again->outcome, Outcome::kDuplicate);
  EXPECT_EQ(h_.lifecycle.Get("p1")->version, 1);
}

TEST_F(ReceiverTest, BadSignaturesRecordNothing) {
  const std::string body = Body("e1", "created", 10);
  EXPECT_EQ(Deliver(body, "").error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Deliver(body, e2b::ComputeSignature("wrong", body, true)).error().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(Deliver(body + " ", e2b::ComputeSignature("new-secret", body, true)).error().code(),
            StatusCode::kUnauthenticated);
  EXPECT_FALSE(h_.lifecycle.Get("p1").ok());
  EXPECT_FALSE(*h_.store->IsEventProcessed("e1"));
}

// Anyone can send wrong signatures: each is counted, but the log gets a line
// a minute, which says how many it held back.
TEST_F(ReceiverTest, WrongSignaturesDoNotFloodTheLog) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
  const std::string body = Body("e1", "created", 10);
  const std::string wrong = e2b::ComputeSignature("wrong", body, true);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(Deliver(body, wrong).error().code(), StatusCode::kUnauthenticated);
  }
  h_.clock.Advance(std::chrono::minutes(1));
  ASSERT_EQ(Deliver(body, wrong).error().code(), StatusCode::kUnauthenticated);
  spdlog::set_default_logger(previous);

  const std::string log = out.str();
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
  EXPECT_NE(log.find("(999 more since the last such line)"), std::string::npos) << log;
  EXPECT_EQ(h_.metrics.CounterValue("sandboxd_webhooks_total", {{"result", "bad_signature"}}),
            1001);
}

TEST_F(ReceiverTest, MalformedBodiesAreInvalidArgument) {
  const std::string body = "{\"id\": 1}";
  EXPECT_EQ(Deliver(body, e2b::ComputeSignature("new-secret", body, true)).error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ReceiverTest, UnconfiguredReceiverRefusesEverything) {
  WebhookReceiver none(h_.lifecycle, h_.metrics, {});
  const std::string body = Body("e1", "created", 10);
  auto r = RunSync(h_.io, none.Receive(body, e2b::ComputeSignature("", body, true)));
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(h_.lifecycle.Get("p1").ok());
}

TEST_F(ReceiverTest, UnknownTypesAreIgnoredAndOrphansKept) {
  auto deliver = [&](const std::string& b) {
    return Deliver(b, e2b::ComputeSignature("new-secret", b, true));
  };
  EXPECT_EQ(deliver(Body("o1", "paused", 5, "ghost"))->outcome, Outcome::kOrphan);
  EXPECT_EQ(deliver(Body("e1", "created", 10))->outcome, Outcome::kApplied);
  EXPECT_EQ(deliver(Body("e2", "teleported", 11))->outcome, Outcome::kIgnored);
  EXPECT_EQ(deliver(Body("e3", "paused", 12))->outcome, Outcome::kApplied);
  EXPECT_EQ(deliver(Body("e4", "resumed", 11))->outcome, Outcome::kStale);
  EXPECT_EQ(h_.lifecycle.Get("p1")->status, core::SandboxStatus::kPaused);
  EXPECT_EQ(h_.store->ListHistory("p1", 10)->size(), 4u);
}

}  // namespace
}  // namespace sbx::webhook
