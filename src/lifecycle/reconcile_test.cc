#include "lifecycle/reconcile.h"

#include <gtest/gtest.h>

namespace sbx::lifecycle {
namespace {

using namespace std::chrono_literals;
using core::EventType;
using core::Sandbox;
using core::SandboxStatus;
using provider::ProviderSandbox;
using provider::ProviderState;

const SystemTime kNow = FromUnixMillis(1'767'225'600'000);

Sandbox Record(SandboxStatus status, std::string sandbox_id = "sbx1",
               SystemTime updated_at = kNow - 1h) {
  Sandbox s;
  s.project_id = "p1";
  s.sandbox_id = std::move(sandbox_id);
  s.status = status;
  s.updated_at = updated_at;
  return s;
}

ProviderSandbox At(ProviderState state, std::string id = "sbx1") {
  ProviderSandbox p;
  p.sandbox_id = std::move(id);
  p.state = state;
  p.url = "http://preview";
  return p;
}

TEST(PlanRepairTest, RecordsThatAgreeWithTheProviderNeedNothing) {
  const auto running = At(ProviderState::kRunning);
  const auto paused = At(ProviderState::kPaused);
  EXPECT_FALSE(PlanRepair(Record(SandboxStatus::kRunning), &running, kNow, 0s));
  EXPECT_FALSE(PlanRepair(Record(SandboxStatus::kPaused), &paused, kNow, 0s));
  EXPECT_FALSE(PlanRepair(Record(SandboxStatus::kKilled), nullptr, kNow, 0s));
}

TEST(PlanRepairTest, GoneAtTheProviderIsKilled) {
  auto plan = PlanRepair(Record(SandboxStatus::kRunning), nullptr, kNow, 0s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->type, EventType::kKilled);
  EXPECT_EQ(plan->sandbox_id, "sbx1");
}

TEST(PlanRepairTest, ACreateThatNeverGotASandboxFails) {
  auto plan = PlanRepair(Record(SandboxStatus::kStarting, ""), nullptr, kNow, 0s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->type, EventType::kCreateFailed);
  ASSERT_TRUE(plan->error);
  EXPECT_EQ(plan->error->code, "create_interrupted");
  // A record without a sandbox that is not being created has nothing to repair.
  EXPECT_FALSE(PlanRepair(Record(SandboxStatus::kPaused, ""), nullptr, kNow, 0s));
}

TEST(PlanRepairTest, AClaimThatNeverReachedTheProviderGoesBackToRunning) {
  const auto running = At(ProviderState::kRunning);
  auto plan = PlanRepair(Record(SandboxStatus::kPausing), &running, kNow, 0s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->type, EventType::kPauseFailed);
  EXPECT_EQ(plan->error->code, "pause_interrupted");
}

TEST(PlanRepairTest, FollowsTheProvidersState) {
  const auto running = At(ProviderState::kRunning, "sbx2");
  auto resumed = PlanRepair(Record(SandboxStatus::kPaused), &running, kNow, 0s);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->type, EventType::kResumed);
  EXPECT_EQ(resumed->sandbox_id, "sbx2");
  EXPECT_EQ(resumed->url, "http://preview");
  auto created = PlanRepair(Record(SandboxStatus::kStarting, ""), &running, kNow, 0s);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->type, EventType::kCreated);
  const auto paused = At(ProviderState::kPaused);
  auto pause = PlanRepair(Record(SandboxStatus::kRunning), &paused, kNow, 0s);
  ASSERT_TRUE(pause);
  EXPECT_EQ(pause->type, EventType::kPaused);
}

TEST(PlanRepairTest, InFlightRecordsWithinTheGraceAreLeftAlone) {
  const auto running = At(ProviderState::kRunning);
  EXPECT_FALSE(
      PlanRepair(Record(SandboxStatus::kPausing, "sbx1", kNow - 9s), &running, kNow, 10s));
  EXPECT_TRUE(
      PlanRepair(Record(SandboxStatus::kPausing, "sbx1", kNow - 10s), &running, kNow, 10s));
  // The grace is for operations in flight only: a RUNNING record is repaired at once.
  EXPECT_TRUE(PlanRepair(Record(SandboxStatus::kRunning, "sbx1", kNow), nullptr, kNow, 10s));
}

}  // namespace
}  // namespace sbx::lifecycle
