// DeliveryHealth as replicas share it: what the store's history says, and
// what this process saw since it asked.
#include "lifecycle/delivery_health.h"

#include "lifecycle/lifecycle_test_support.h"
#include "store/testing/records.h"

namespace sbx::lifecycle {
namespace {

using store::DeliverySummary;
using store::testing::T;

TEST(DeliveryHealthTest, AdoptsTheStoresSummary) {
  DeliveryHealth d;
  d.WebhookVerified(T(10));
  const DeliveryHealth::Mark mark = d.Begin();
  EXPECT_EQ(mark.last_webhook, T(10));
  // Another replica's repairs after the delivery seen here.
  d.Adopt(DeliverySummary{.last_webhook = T(10), .last_drift = T(30), .drift_since_webhook = 2},
          mark);
  DeliveryHealth::Snapshot s = d.Get();
  EXPECT_TRUE(s.silent());
  EXPECT_EQ(s.drift_since_webhook, 2);
  EXPECT_EQ(s.last_drift, T(30));
  // Another replica's delivery after them.
  d.Adopt(DeliverySummary{.last_webhook = T(40), .last_drift = T(30)}, d.Begin());
  s = d.Get();
  EXPECT_FALSE(s.silent());
  EXPECT_EQ(s.last_webhook, T(40));
}

TEST(DeliveryHealthTest, ADeliveryVerifiedWhileTheStoreWasAskedStands) {
  DeliveryHealth d;
  const DeliveryHealth::Mark mark = d.Begin();
  d.WebhookVerified(T(50));  // after the question, before the answer
  d.Adopt(DeliverySummary{.last_webhook = T(10), .last_drift = T(30), .drift_since_webhook = 3},
          mark);
  DeliveryHealth::Snapshot s = d.Get();
  EXPECT_FALSE(s.silent());
  EXPECT_EQ(s.last_webhook, T(50));
  EXPECT_EQ(s.last_drift, T(30));
}

// Through the store: drift this process repaired, then a webhook that
// another replica applied (its history row is all this process sees of it).
TEST(DeliveryHealthTest, RefreshSeesWebhooksAndRepairsOfOtherReplicas) {
  Harness h;
  CreateRunning(h, "p1");
  h.provider.SetState(h.lifecycle.Get("p1")->sandbox_id, provider::ProviderState::kPaused);
  h.clock.Advance(std::chrono::minutes(1));
  auto repaired = RunSync(h.io, h.lifecycle.Reconcile(std::chrono::seconds(0)));
  ASSERT_TRUE(repaired.ok());
  ASSERT_EQ(*repaired, 1);
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RefreshDeliveryHealth()).ok());
  EXPECT_EQ(h.lifecycle.delivery().Get().drift_since_webhook, 1);

  // A repair by the leader elsewhere.
  store::HistoryRow drift = store::testing::Row("p2", "", "applied");
  drift.source = "reconciler";
  drift.recorded_at = h.clock.Now() + std::chrono::seconds(1);
  ASSERT_TRUE(h.store->AppendHistory(drift).ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RefreshDeliveryHealth()).ok());
  EXPECT_EQ(h.lifecycle.delivery().Get().drift_since_webhook, 2);
  EXPECT_EQ(h.lifecycle.delivery().Get().last_drift, drift.recorded_at);

  // A webhook that reached another replica.
  store::HistoryRow webhook = store::testing::Row("p1", "e-elsewhere", "applied");
  webhook.recorded_at = h.clock.Now() + std::chrono::seconds(2);
  ASSERT_TRUE(h.store->AppendHistory(webhook).ok());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RefreshDeliveryHealth()).ok());
  DeliveryHealth::Snapshot s = h.lifecycle.delivery().Get();
  EXPECT_FALSE(s.silent());
  EXPECT_EQ(s.last_webhook, webhook.recorded_at);
}

}  // namespace
}  // namespace sbx::lifecycle
