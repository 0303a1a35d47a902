#include "jobs/lease_leadership.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>

#include "base/testing/fake_clock.h"

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;

// A LeaseStore answering from a script; each answer can take (fake) time.
class FakeLeaseStore final : public store::LeaseStore {
 public:
  explicit FakeLeaseStore(FakeClock& clock) : clock_(clock) {}
  void Push(Result<store::Lease> answer, std::chrono::milliseconds latency = 0ms) {
    script_.push_back({std::move(answer), latency});
  }
  Result<store::Lease> TryAcquireLease(const std::string& name, const std::string& holder,
                                       std::chrono::milliseconds ttl, SystemTime) override {
    last_name = name;
    last_holder = holder;
    last_ttl = ttl;
    if (script_.empty()) return Unavailable("script exhausted");
    auto next = std::move(script_.front());
    script_.pop_front();
    clock_.Advance(next.latency);
    return next.answer;
  }
  Status ReleaseLease(const std::string& name, const std::string& holder) override {
    released.push_back(name + "/" + holder);
    return OkStatus();
  }

  std::string last_name, last_holder;
  std::chrono::milliseconds last_ttl{0};
  std::vector<std::string> released;

 private:
  struct Scripted {
    Result<store::Lease> answer;
    std::chrono::milliseconds latency;
  };
  FakeClock& clock_;
  std::deque<Scripted> script_;
};

TEST(LeaseLeadershipTest, GainsKeepsAndLosesTheLeaseWithTerms) {
  FakeClock clock;
  FakeLeaseStore leases(clock);
  LeaseLeadership leadership(clock, leases, "replica-a", 5s);
  EXPECT_FALSE(leadership.IsLeader());
  EXPECT_EQ(leadership.term(), 0);
  leases.Push(store::Lease{.held = true, .token = 7});
  leadership.Renew();
  EXPECT_TRUE(leadership.IsLeader());
  EXPECT_EQ(leadership.term(), 1);
  EXPECT_EQ(leases.last_name, kLeaderLease);
  EXPECT_EQ(leases.last_holder, "replica-a");
  EXPECT_EQ(leases.last_ttl, 5s);
  leases.Push(store::Lease{.held = true, .token = 7});
  leadership.Renew();  // a renewal is the same term
  EXPECT_EQ(leadership.term(), 1);
  leases.Push(store::Lease{});
  leadership.Renew();  // someone else holds it
  EXPECT_FALSE(leadership.IsLeader());
  leases.Push(Unavailable("connection refused"));
  leadership.Renew();  // the store is down: not the leader
  EXPECT_FALSE(leadership.IsLeader());
  leases.Push(store::Lease{.held = true, .token = 8});
  leadership.Renew();
  EXPECT_TRUE(leadership.IsLeader());
  EXPECT_EQ(leadership.term(), 2);
}

TEST(LeaseLeadershipTest, ASlowRenewalIsTreatedAsLost) {
  FakeClock clock;
  FakeLeaseStore leases(clock);
  LeaseLeadership leadership(clock, leases, "replica-a", 4s);
  leases.Push(store::Lease{.held = true, .token = 1}, 1999ms);
  leadership.Renew();
  EXPECT_TRUE(leadership.IsLeader());
  // Held, but the answer took half the lease: it may have expired and moved.
  leases.Push(store::Lease{.held = true, .token = 1}, 2s);
  leadership.Renew();
  EXPECT_FALSE(leadership.IsLeader());
}

TEST(LeaseLeadershipTest, StopReleasesAHeldLease) {
  FakeClock clock;
  FakeLeaseStore leases(clock);
  LeaseLeadership leadership(clock, leases, "replica-a", 5s);
  leases.Push(store::Lease{.held = true, .token = 1});
  leadership.Renew();
  leadership.Stop();
  EXPECT_FALSE(leadership.IsLeader());
  EXPECT_EQ(leases.released, std::vector<std::string>{std::string(kLeaderLease) + "/replica-a"});
}

}  // namespace
}  // namespace sbx::jobs
