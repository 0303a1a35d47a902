#include "app/replication.h"

#include <charconv>

#include "base/log.h"

namespace sbx::app {

using namespace std::chrono_literals;

PostgresLeadership::PostgresLeadership(Clock& clock, store::PostgresStore& store,
                                       std::string holder, std::chrono::milliseconds ttl,
                                       std::function<void()> on_gained)
    : clock_(clock),
      store_(store),
      holder_(std::move(holder)),
      ttl_(ttl),
      on_gained_(std::move(on_gained)) {}

PostgresLeadership::~PostgresLeadership() { Stop(); }

void PostgresLeadership::Start() { thread_ = std::thread([this] { Run(); }); }

void PostgresLeadership::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (leader_) (void)store_.ReleaseLease("sandboxd-leader", holder_);
  leader_ = false;
}

void PostgresLeadership::Run() {
  while (!stopping_) {
    const SteadyTime started = clock_.SteadyNow();
    auto lease = store_.TryAcquireLease("sandboxd-leader", holder_, ttl_, clock_.Now());
    const bool held = lease.ok() && lease->held;
    // Renewal that took longer than the lease could have let it expire and
    // move: give it up rather than act on a stale belief.
    const bool in_time = clock_.SteadyNow() - started < ttl_ / 2;
    const bool was = leader_;
    leader_ = held && in_time;
    if (!lease.ok()) SBX_LOG_WARN("leader lease: {}", lease.error().ToString());
    if (leader_ && !was) {
      ++term_;
      SBX_LOG_INFO("{} is now the leader (fencing token {})", holder_, lease->token);
      if (on_gained_) on_gained_();
    } else if (!leader_ && was) {
      SBX_LOG_WARN("{} lost the leader lease", holder_);
    }
    const auto wait = ttl_ / 3;
    for (auto slept = 0ms; slept < wait && !stopping_; slept += 50ms) {
      std::this_thread::sleep_for(50ms);
    }
  }
}

ChangeFollower::ChangeFollower(store::PostgresStore& store, lifecycle::ReadModel& read_model,
                               lifecycle::EventBus& bus, std::string channel)
    : store_(store), read_model_(read_model), bus_(bus), channel_(std::move(channel)) {}

ChangeFollower::~ChangeFollower() { Stop(); }

Status ChangeFollower::Start() {
  auto listener = store_.Listen(channel_);
  if (!listener.ok()) return listener.error().WithContext("listen for changes");
  listener_ = std::move(*listener);
  thread_ = std::thread([this] { Run(); });
  return OkStatus();
}

void ChangeFollower::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

Status ChangeFollower::Resync() {
  auto all = store_.LoadSandboxes();
  if (!all.ok()) return all.error();
  int changed = 0;
  for (const core::Sandbox& s : *all) {
    if (read_model_.Put(s)) {
      bus_.Publish(s);
      ++changed;
    }
  }
  if (changed) SBX_LOG_INFO("resync: {} sandbox records were behind", changed);
  return OkStatus();
}

void ChangeFollower::Refresh(const std::string& payload) {
  const auto colon = payload.find(':');
  if (colon == std::string::npos) return;
  int64_t version = 0;
  auto [p, ec] = std::from_chars(payload.data(), payload.data() + colon, version);
  if (ec != std::errc()) return;
  const std::string project = payload.substr(colon + 1);
  if (read_model_.Version(project) >= version) return;  // our own commit, or already seen
  auto s = store_.GetSandbox(project);
  if (!s.ok()) {
    SBX_LOG_WARN("refresh of {}: {}", project, s.error().ToString());
    return;
  }
  if (read_model_.Put(*s)) bus_.Publish(*s);
}

void ChangeFollower::Run() {
  bool need_resync = true;  // changes committed before LISTEN started
  while (!stopping_) {
    if (need_resync) {
      need_resync = !Resync().ok();
    }
    auto n = listener_->Poll(500ms);
    if (!n.ok()) {
      need_resync = true;
      std::this_thread::sleep_for(200ms);
      continue;
    }
    if (n->reconnected) need_resync = true;
    for (const auto& payload : n->payloads) Refresh(payload);
  }
}

}  // namespace sbx::app
