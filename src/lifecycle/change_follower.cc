#include "lifecycle/change_follower.h"

#include "base/log.h"

namespace sbx::lifecycle {

using namespace std::chrono_literals;

ChangeFollower::ChangeFollower(Clock& clock, Lifecycle& lifecycle, store::ChangeFeed& feed)
    : clock_(clock), lifecycle_(lifecycle), feed_(feed) {}

ChangeFollower::~ChangeFollower() { Stop(); }

void ChangeFollower::Start() { thread_ = std::thread([this] { Run(); }); }

void ChangeFollower::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void ChangeFollower::PollOnce(std::chrono::milliseconds timeout) {
  if (need_resync_) {
    auto r = lifecycle_.Resync();
    if (!r.ok()) {
      SBX_LOG_WARN("resync: {}", r.error().ToString());
    } else {
      need_resync_ = false;
      if (*r > 0) SBX_LOG_INFO("resync: {} sandbox records were behind", *r);
    }
  }
  auto batch = feed_.Poll(timeout);
  if (!batch.ok()) {
    need_resync_ = true;
    // The feed retried until its timeout already; pause briefly so a store
    // that refuses at once does not make this loop spin.
    clock_.BlockingSleep(200ms);
    return;
  }
  if (batch->missed) need_resync_ = true;
  // One store read for everything this poll brought.
  if (Status s = lifecycle_.Observe(batch->changes); !s.ok()) {
    SBX_LOG_WARN("refresh of {} changed records: {}", batch->changes.size(), s.ToString());
    need_resync_ = true;
  }
}

void ChangeFollower::Run() {
  while (!stopping_) PollOnce(500ms);
}

}  // namespace sbx::lifecycle
