#include "jobs/lease_leadership.h"

#include "base/log.h"

namespace sbx::jobs {

using namespace std::chrono_literals;

LeaseLeadership::LeaseLeadership(Clock& clock, store::LeaseStore& leases, std::string holder,
                                 std::chrono::milliseconds ttl)
    : clock_(clock), leases_(leases), holder_(std::move(holder)), ttl_(ttl) {}

LeaseLeadership::~LeaseLeadership() { Stop(); }

void LeaseLeadership::Start() { thread_ = std::thread([this] { Run(); }); }

void LeaseLeadership::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (leader_) (void)leases_.ReleaseLease(kLeaderLease, holder_);
  leader_ = false;
}

void LeaseLeadership::Renew() {
  const SteadyTime started = clock_.SteadyNow();
  auto lease = leases_.TryAcquireLease(kLeaderLease, holder_, ttl_, clock_.Now());
  const bool held = lease.ok() && lease->held;
  // A renewal that took longer than half the lease could have let it expire
  // and move: give it up rather than act on a stale belief.
  const bool in_time = clock_.SteadyNow() - started < ttl_ / 2;
  const bool was = leader_;
  leader_ = held && in_time;
  if (!lease.ok()) SBX_LOG_WARN("leader lease: {}", lease.error().ToString());
  if (leader_ && !was) {
    ++term_;
    SBX_LOG_INFO("{} is now the leader (fencing token {})", holder_, lease->token);
  } else if (!leader_ && was) {
    SBX_LOG_WARN("{} lost the leader lease", holder_);
  }
}

void LeaseLeadership::Run() {
  // Renew every ttl/3, checking for Stop() every 50 ms.
  while (!stopping_) {
    Renew();
    const auto wait = ttl_ / 3;
    for (auto slept = 0ms; slept < wait && !stopping_; slept += 50ms) clock_.BlockingSleep(50ms);
  }
}

}  // namespace sbx::jobs
