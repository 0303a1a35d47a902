// ReadModel: the sandbox id index, and the sandboxes it remembers after they
// were replaced or forgotten.
#include "lifecycle/read_model.h"

#include <gtest/gtest.h>

#include <string>

namespace sbx::lifecycle {
namespace {

core::Sandbox Record(const std::string& project, const std::string& sandbox, int64_t version) {
  core::Sandbox s;
  s.project_id = project;
  s.sandbox_id = sandbox;
  s.version = version;
  s.status = core::SandboxStatus::kRunning;
  return s;
}

TEST(ReadModelTest, OldestUpdateByStatusIsTheLongestInEachStatus) {
  ReadModel m;
  const SystemTime t0 = FromUnixMillis(1'767'225'600'000);
  auto put = [&](const std::string& p, core::SandboxStatus st, SystemTime at) {
    core::Sandbox s = Record(p, "sb-" + p, 1);
    s.status = st;
    s.updated_at = at;
    ASSERT_TRUE(m.Put(s));
  };
  put("a", core::SandboxStatus::kStarting, t0 + std::chrono::seconds(5));
  put("b", core::SandboxStatus::kStarting, t0);
  put("c", core::SandboxStatus::kRunning, t0 + std::chrono::seconds(9));
  const auto oldest = m.OldestUpdateByStatus();
  EXPECT_EQ(oldest.at(core::SandboxStatus::kStarting), t0);
  EXPECT_EQ(oldest.at(core::SandboxStatus::kRunning), t0 + std::chrono::seconds(9));
  EXPECT_FALSE(oldest.contains(core::SandboxStatus::kPausing));
}

TEST(ReadModelTest, ASandboxReplacedOrForgottenIsRememberedAsItsProjects) {
  ReadModel m;
  ASSERT_TRUE(m.Put(Record("p1", "sb1", 1)));
  EXPECT_EQ(m.ProjectOfSandbox("sb1"), "p1");
  EXPECT_EQ(m.ProjectOfRetired("sb1"), std::nullopt);
  ASSERT_TRUE(m.Put(Record("p1", "sb2", 2)));  // made again after a kill
  EXPECT_EQ(m.ProjectOfSandbox("sb1"), std::nullopt);
  EXPECT_EQ(m.ProjectOfRetired("sb1"), "p1");
  EXPECT_EQ(m.ProjectOfRetired("sb2"), std::nullopt);
  ASSERT_TRUE(m.Remove("p1", 3));  // forgotten
  EXPECT_EQ(m.ProjectOfSandbox("sb2"), std::nullopt);
  EXPECT_EQ(m.ProjectOfRetired("sb2"), "p1");
}

// The holds metric counts the holds unexpired at the time asked.
TEST(ReadModelTest, CountsTheHoldsUnexpiredNow) {
  ReadModel m;
  const SystemTime now = FromUnixMillis(1'767'225'600'000);
  core::Sandbox a = Record("p1", "sb1", 1);
  a.holds = {{"build", now + std::chrono::minutes(5)}, {"old", now}};
  core::Sandbox b = Record("p2", "sb2", 1);
  b.holds = {{"ci", now + std::chrono::seconds(1)}};
  ASSERT_TRUE(m.Put(a));
  ASSERT_TRUE(m.Put(b));
  EXPECT_EQ(m.CountHolds(now), 2);  // "old" expires at now
  EXPECT_EQ(m.CountHolds(now + std::chrono::seconds(1)), 1);
  EXPECT_EQ(m.CountHolds(now + std::chrono::minutes(5)), 0);
}

TEST(ReadModelTest, RetiredSandboxesAreKeptUpToTheBound) {
  ReadModel m;
  const size_t n = ReadModel::kRetiredKept + 5;
  for (size_t i = 0; i <= n; ++i) {
    ASSERT_TRUE(m.Put(Record("p", "sb" + std::to_string(i), static_cast<int64_t>(i + 1))));
  }
  // sb0 … sb<n-1> were replaced; the oldest five are no longer remembered.
  EXPECT_EQ(m.ProjectOfRetired("sb4"), std::nullopt);
  EXPECT_EQ(m.ProjectOfRetired("sb5"), "p");
  EXPECT_EQ(m.ProjectOfRetired("sb" + std::to_string(n - 1)), "p");
  EXPECT_EQ(m.ProjectOfSandbox("sb" + std::to_string(n)), "p");
}

}  // namespace
}  // namespace sbx::lifecycle
