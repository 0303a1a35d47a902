#include "lifecycle/event_bus.h"

namespace sbx::lifecycle {

int64_t EventBus::Subscribe(Handler handler) {
  std::lock_guard lock(mu_);
  handlers_.emplace(next_id_, std::move(handler));
  return next_id_++;
}

int64_t EventBus::SubscribeRemoved(RemovedHandler handler) {
  std::lock_guard lock(mu_);
  removed_handlers_.emplace(next_id_, std::move(handler));
  return next_id_++;
}

void EventBus::Unsubscribe(int64_t id) {
  std::lock_guard lock(mu_);
  handlers_.erase(id);
  removed_handlers_.erase(id);
}

void EventBus::Publish(const core::Sandbox& s) {
  std::lock_guard lock(mu_);
  for (auto& [id, h] : handlers_) h(s);
}

void EventBus::PublishRemoved(const std::string& project_id) {
  std::lock_guard lock(mu_);
  for (auto& [id, h] : removed_handlers_) h(project_id);
}

size_t EventBus::subscriber_count() const {
  std::lock_guard lock(mu_);
  return handlers_.size();
}

}  // namespace sbx::lifecycle
