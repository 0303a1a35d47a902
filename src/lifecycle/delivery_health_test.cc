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
  // Another replica's repairs after the delivery seen here.
  d.Adopt(DeliverySummary{.last_webhook = T(10), .last_drift = T(30), .drift_since_webhook = 2},
          d.Begin());
  DeliveryHealth::Snapshot s = d.Get();
  EXPECT_TRUE(s.silent());
  EXPECT_EQ(s.drift_since_webhook, 2);
  EXPECT_EQ(s.last_drift, T(30));
  // Another replica's delivery after them.
  d.Adopt(DeliverySummary{.last_webhook = T(40), .last_drift = T(30)}, d.Begin());
  s = d.Get();
  EXPECT_FALSE(s.silent());
  EXPECT_EQ(s.last_webhook, T(40));
  // The history is the truth: a time a replica with a fast clock wrote does
  // not stick once the history says otherwise.
  d.Adopt(DeliverySummary{.last_webhook = T(35), .last_drift = T(30)}, d.Begin());
  EXPECT_EQ(d.Get().last_webhook, T(35));
}

TEST(DeliveryHealthTest, WhatThisProcessSawWhileTheStoreWasAskedStands) {
  DeliveryHealth d;
  DeliveryHealth::Mark mark = d.Begin();
  d.WebhookVerified(T(50));  // after the question, before the answer
  d.Adopt(DeliverySummary{.last_webhook = T(10), .last_drift = T(30), .drift_since_webhook = 3},
          mark);
  DeliveryHealth::Snapshot s = d.Get();
  EXPECT_FALSE(s.silent());
  EXPECT_EQ(s.last_webhook, T(50));
  EXPECT_EQ(s.last_drift, T(30));
  // Repairs made here meanwhile are not undercounted by an answer without them.
  mark = d.Begin();
  d.DriftRepaired(T(60));
  d.DriftRepaired(T(61));
  d.Adopt(DeliverySummary{.last_webhook = T(50), .last_drift = T(60), .drift_since_webhook = 1},
          mark);
  EXPECT_EQ(d.Get().drift_since_webhook, 2);
  EXPECT_EQ(d.Get().last_drift, T(60));
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
  // A delivery that left no row (signed but malformed) counts here until
  // the history, which every replica reads, says otherwise.
  h.lifecycle.delivery().WebhookVerified(h.clock.Now());
  EXPECT_FALSE(h.lifecycle.delivery().Get().silent());
  ASSERT_TRUE(RunSync(h.io, h.lifecycle.RefreshDeliveryHealth()).ok());
  EXPECT_TRUE(h.lifecycle.delivery().Get().silent());

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
