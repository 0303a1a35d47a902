#include "runtime_api/delivery.h"

#include <gtest/gtest.h>

#include "base/testing/fake_clock.h"
#include "e2b/signature.h"
#include "runtime_api/testing/fake_http_client.h"
#include "base/testing/fake_resolver.h"

namespace sbx::runtime_api {

using namespace std::chrono_literals;
namespace {

class DelivererTest : public ::testing::Test {
 protected:
  DelivererTest()
      : deliverer_(io_.get_executor(), clock_, client_, resolver_, ids_, metrics_,
                   {.attempts = 3,
                    .backoff = 10s,
                    .request_timeout = 1s,
                    .targets = {.allow_private = true}}) {}
  ~DelivererTest() override {
    deliverer_.Stop();
    Drain();
  }
  void Drain() {
    io_.restart();
    io_.poll();
  }
  static Webhook Hook(std::string id, std::string url = "http://127.0.0.1:8080/hook?x=1") {
    return Webhook{.id = std::move(id),
                   .name = "n",
                   .url = std::move(url),
                   .signature_secret = "topsecret",
                   .enabled = true,
                   .events = {},
                   .created_at = {}};
  }
  double Outcome(const char* outcome) {
    return metrics_.CounterValue(kDeliveriesMetric, {{"outcome", outcome}});
  }

  net::io_context io_;
  FakeClock clock_;
  FakeHttpClient client_;
  FakeResolver resolver_;
  IdGenerator ids_{5};
  Metrics metrics_;
  Deliverer deliverer_;
};

TEST_F(DelivererTest, SendsSignedE2bHeaders) {
  const std::string body = R"({"id":"ev1","type":"sandbox.lifecycle.created"})";
  deliverer_.Enqueue(Hook("w1"), "ev1", body);
  Drain();
  ASSERT_EQ(client_.sent().size(), 1u);
  const auto& sent = client_.sent()[0];
  EXPECT_EQ(sent.host, "127.0.0.1");
  EXPECT_EQ(sent.port, 8080);
  const auto& req = sent.request;
  EXPECT_EQ(req.method(), http::verb::post);
  EXPECT_EQ(req.target(), "/hook?x=1");
  EXPECT_EQ(req.body(), body);
  EXPECT_EQ(req["e2b-webhook-id"], "w1");
  EXPECT_EQ(req["e2b-signature-version"], "v1");
  EXPECT_EQ(req[http::field::content_type], "application/json");
  EXPECT_EQ(req["e2b-delivery-id"].size(), 36u);
  const std::string signature(req["e2b-signature"]);
  EXPECT_EQ(signature.size(), 43u);  // unpadded base64url
  EXPECT_EQ(signature, e2b::ComputeSignature("topsecret", body, /*url_safe=*/true));
  EXPECT_TRUE(e2b::VerifySignature(body, signature, {"topsecret"}));
  EXPECT_EQ(Outcome("success"), 1);
  EXPECT_EQ(deliverer_.pending(), 0u);
}

TEST_F(DelivererTest, RetriesWithBackoffUpToThreeAttempts) {
  client_.PushStatus(http::status::internal_server_error);
  client_.PushError(Unavailable("connection refused"));
  const std::string body = R"({"id":"ev1"})";
  deliverer_.Enqueue(Hook("w1"), "ev1", body);
  Drain();
  EXPECT_EQ(client_.sent().size(), 1u);
  AdvanceAndRun(io_, clock_, 9900ms);
  EXPECT_EQ(client_.sent().size(), 1u);
  AdvanceAndRun(io_, clock_, 100ms);
  EXPECT_EQ(client_.sent().size(), 2u);
  AdvanceAndRun(io_, clock_, 10s);
  ASSERT_EQ(client_.sent().size(), 3u);
  std::set<std::string> delivery_ids;
  for (const auto& s : client_.sent()) {
    delivery_ids.insert(std::string(s.request["e2b-delivery-id"]));
    EXPECT_EQ(s.request.body(), body);  // same event, same id, every time
    EXPECT_TRUE(e2b::VerifySignature(body, s.request["e2b-signature"], {"topsecret"}));
  }
  EXPECT_EQ(delivery_ids.size(), 3u);
  EXPECT_EQ(Outcome("retry"), 2);
  EXPECT_EQ(Outcome("success"), 1);
  AdvanceAndRun(io_, clock_, 1min);
  EXPECT_EQ(client_.sent().size(), 3u);
}

TEST_F(DelivererTest, GivesUpAfterThreeFailures) {
  for (int i = 0; i < 3; ++i) client_.PushStatus(http::status::bad_gateway);
  deliverer_.Enqueue(Hook("w1"), "ev1", "{}");
  AdvanceAndRun(io_, clock_, 1min);
  EXPECT_EQ(client_.sent().size(), 3u);
  EXPECT_EQ(Outcome("retry"), 2);
  EXPECT_EQ(Outcome("failed"), 1);
  EXPECT_EQ(deliverer_.pending(), 0u);
}

TEST_F(DelivererTest, KeepsOrderPerWebhookAndDoesNotBlockOthers) {
  client_.PushStatus(http::status::internal_server_error);  // w1's first try of ev1
  deliverer_.Enqueue(Hook("w1", "http://127.0.0.1:1/a"), "ev1", "1");
  deliverer_.Enqueue(Hook("w1", "http://127.0.0.1:1/a"), "ev2", "2");
  deliverer_.Enqueue(Hook("w2", "http://127.0.0.1:2/b"), "ev1", "1");
  Drain();
  // w2 got its event while w1 waits to retry ev1; w1's ev2 waits behind ev1.
  ASSERT_EQ(client_.sent().size(), 2u);
  EXPECT_EQ(client_.sent()[1].port, 2);
  AdvanceAndRun(io_, clock_, 10s);
  ASSERT_EQ(client_.sent().size(), 4u);
  EXPECT_EQ(client_.sent()[2].request.body(), "1");
  EXPECT_EQ(client_.sent()[3].request.body(), "2");
}

TEST_F(DelivererTest, DisabledDeliveryDropsEvents) {
  deliverer_.SetEnabled(false);
  deliverer_.Enqueue(Hook("w1"), "ev1", "{}");
  AdvanceAndRun(io_, clock_, 1min);
  EXPECT_TRUE(client_.sent().empty());
  EXPECT_EQ(Outcome("dropped"), 1);
  deliverer_.SetEnabled(true);
  deliverer_.Enqueue(Hook("w1"), "ev2", "{}");
  Drain();
  EXPECT_EQ(client_.sent().size(), 1u);
}

TEST_F(DelivererTest, StandardAlphabetWhenConfigured) {
  Deliverer padded(io_.get_executor(), clock_, client_, resolver_, ids_, metrics_,
                   {.url_safe_signature = false, .targets = {.allow_private = true}});
  padded.Enqueue(Hook("w1"), "ev1", "{}");
  Drain();
  ASSERT_EQ(client_.sent().size(), 1u);
  EXPECT_EQ(client_.sent()[0].request["e2b-signature"],
            e2b::ComputeSignature("topsecret", "{}", /*url_safe=*/false));
  EXPECT_EQ(client_.sent()[0].request["e2b-signature"].size(), 44u);
  padded.Stop();
  Drain();
}

TEST_F(DelivererTest, DeletingAWebhookCancelsItsQueueAndRetries) {
  client_.PushStatus(http::status::internal_server_error);  // ev1's first try
  deliverer_.Enqueue(Hook("w1"), "ev1", "1");
  deliverer_.Enqueue(Hook("w1"), "ev2", "2");
  deliverer_.Enqueue(Hook("w1"), "ev3", "3");
  Drain();
  ASSERT_EQ(client_.sent().size(), 1u);  // ev1 waits for its retry, ev2 and ev3 behind it
  EXPECT_EQ(deliverer_.pending(), 3u);
  deliverer_.Cancel("w1");
  AdvanceAndRun(io_, clock_, 1min);
  EXPECT_EQ(client_.sent().size(), 1u);  // nothing more goes to the deleted URL
  EXPECT_EQ(Outcome("cancelled"), 3);
  EXPECT_EQ(deliverer_.pending(), 0u);
  EXPECT_EQ(deliverer_.queues(), 0u);  // a deleted webhook leaves nothing behind
  // Another webhook is untouched, and w1's id can queue again later.
  deliverer_.Enqueue(Hook("w2"), "ev4", "4");
  Drain();
  EXPECT_EQ(client_.sent().size(), 2u);
  // An idle webhook's queue is forgotten at once.
  deliverer_.Cancel("w2");
  EXPECT_EQ(deliverer_.queues(), 0u);
}

TEST_F(DelivererTest, UpdatingAWebhookRetargetsWhatIsQueued) {
  client_.PushStatus(http::status::internal_server_error);
  deliverer_.Enqueue(Hook("w1", "http://127.0.0.1:1/old"), "ev1", "1");
  Drain();
  ASSERT_EQ(client_.sent().size(), 1u);
  deliverer_.Update(Hook("w1", "http://127.0.0.1:2/new"));
  AdvanceAndRun(io_, clock_, 10s);
  ASSERT_EQ(client_.sent().size(), 2u);
  EXPECT_EQ(client_.sent()[1].port, 2);
  EXPECT_EQ(client_.sent()[1].request.target(), "/new");
  // Disabling it cancels what waits.
  client_.PushStatus(http::status::internal_server_error);
  deliverer_.Enqueue(Hook("w1", "http://127.0.0.1:2/new"), "ev2", "2");
  Drain();
  Webhook off = Hook("w1", "http://127.0.0.1:2/new");
  off.enabled = false;
  deliverer_.Update(off);
  AdvanceAndRun(io_, clock_, 1min);
  EXPECT_EQ(client_.sent().size(), 3u);
  EXPECT_EQ(Outcome("cancelled"), 1);
}

TEST_F(DelivererTest, AnAttemptWaitingOnDnsKeepsTheWebhookItStartedWith) {
  resolver_.Set("old-hooks.test", {"127.0.0.1"});
  resolver_.Set("new-hooks.test", {"127.0.0.2"});
  resolver_.HoldNext();
  deliverer_.Enqueue(Hook("w1", "http://old-hooks.test:8080/old"), "ev1", "1");
  Drain();
  ASSERT_TRUE(resolver_.holding());
  // Replaced while the attempt waits for its addresses (a URL of the same
  // length, so the old text is overwritten in place).
  Webhook moved = Hook("w1", "http://new-hooks.test:9090/new");
  moved.signature_secret = "othersecret";
  deliverer_.Update(moved);
  resolver_.Release();
  Drain();
  ASSERT_EQ(client_.sent().size(), 1u);
  const auto& sent = client_.sent()[0];
  EXPECT_EQ(sent.host, "127.0.0.1");
  EXPECT_EQ(sent.port, 8080);
  EXPECT_EQ(sent.request[http::field::host], "old-hooks.test:8080");
  EXPECT_EQ(sent.request.target(), "/old");
  EXPECT_EQ(sent.request["e2b-signature"], e2b::ComputeSignature("topsecret", "1", true));
  // The next event goes where the webhook points now.
  deliverer_.Enqueue(moved, "ev2", "2");
  Drain();
  ASSERT_EQ(client_.sent().size(), 2u);
  EXPECT_EQ(client_.sent()[1].request[http::field::host], "new-hooks.test:9090");
}

TEST_F(DelivererTest, StopDuringAnAttemptDoesNotWaitOutTheBackoff) {
  client_.PushStatus(http::status::internal_server_error);
  resolver_.HoldNext();
  deliverer_.Enqueue(Hook("w1"), "ev1", "1");
  Drain();
  ASSERT_TRUE(resolver_.holding());
  deliverer_.Stop();
  resolver_.Release();
  Drain();
  // The failed attempt is not followed by a 10 s wait: the worker is done
  // and nothing is left in flight, without the clock moving.
  EXPECT_EQ(client_.sent().size(), 1u);
  EXPECT_EQ(deliverer_.pending(), 0u);
  EXPECT_EQ(Outcome("dropped"), 1);
}

TEST_F(DelivererTest, SendsToTheResolvedAddressThatPassedThePolicy) {
  Deliverer strict(io_.get_executor(), clock_, client_, resolver_, ids_, metrics_,
                   {.attempts = 3, .backoff = 10s, .targets = {.allow_private = false}});
  // A name resolving to a metadata address and a public one: the public one
  // is used, with the name kept in Host.
  resolver_.Set("hooks.example.test", {"169.254.169.254", "93.184.216.34"});
  strict.Enqueue(Hook("w1", "http://hooks.example.test:8080/h"), "ev1", "{}");
  Drain();
  ASSERT_EQ(client_.sent().size(), 1u);
  EXPECT_EQ(client_.sent()[0].host, "93.184.216.34");
  EXPECT_EQ(client_.sent()[0].port, 8080);
  EXPECT_EQ(client_.sent()[0].request[http::field::host], "hooks.example.test:8080");
  // Rebound to loopback and a private address only: refused, not retried.
  resolver_.Set("hooks.example.test", {"127.0.0.1", "10.1.2.3"});
  strict.Enqueue(Hook("w1", "http://hooks.example.test:8080/h"), "ev2", "{}");
  AdvanceAndRun(io_, clock_, 1min);
  EXPECT_EQ(client_.sent().size(), 1u);
  EXPECT_EQ(Outcome("blocked"), 1);
  // IPv6 link-local literal: refused.
  strict.Enqueue(Hook("w2", "http://[fe80::1]:80/h"), "ev3", "{}");
  Drain();
  EXPECT_EQ(client_.sent().size(), 1u);
  EXPECT_EQ(Outcome("blocked"), 2);
  // A name that does not resolve is a failed attempt, retried.
  strict.Enqueue(Hook("w3", "http://nowhere.test/h"), "ev4", "{}");
  AdvanceAndRun(io_, clock_, 1min);
  EXPECT_EQ(Outcome("failed"), 1);
  strict.Stop();
  Drain();
}

}  // namespace
}  // namespace sbx::runtime_api
