// EventBus: tells subscribers about every committed sandbox change (the SSE
// streams, the enforcer's timer), and about every record removed from the
// read model (a project forgotten, here or on another replica). Handlers run
// on the committing thread and must only hand the change off (post to their
// executor); they must not block or call back into the bus. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "core/sandbox.h"

namespace sbx::lifecycle {

class EventBus {
 public:
  using Handler = std::function<void(const core::Sandbox&)>;
  using RemovedHandler = std::function<void(const std::string& project_id)>;
  // Returns an id for Unsubscribe.
  int64_t Subscribe(Handler handler);
  int64_t SubscribeRemoved(RemovedHandler handler);
  void Unsubscribe(int64_t id);
  void Publish(const core::Sandbox& s);
  void PublishRemoved(const std::string& project_id);
  size_t subscriber_count() const;

 private:
  mutable std::mutex mu_;
  int64_t next_id_ = 1;
  std::map<int64_t, Handler> handlers_;
  std::map<int64_t, RemovedHandler> removed_handlers_;
};

}  // namespace sbx::lifecycle
