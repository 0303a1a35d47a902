// EventBus: tells subscribers about every committed sandbox change (the SSE
// streams, the enforcer's timer). Handlers run on the committing thread and
// must only hand the change off (post to their executor); they must not block
// or call back into the bus. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

#include "core/sandbox.h"

namespace sbx::lifecycle {

class EventBus {
 public:
  using Handler = std::function<void(const core::Sandbox&)>;
  // Returns an id for Unsubscribe.
  int64_t Subscribe(Handler handler);
  void Unsubscribe(int64_t id);
  void Publish(const core::Sandbox& s);
  size_t subscriber_count() const;

 private:
  mutable std::mutex mu_;
  int64_t next_id_ = 1;
  std::map<int64_t, Handler> handlers_;
};

}  // namespace sbx::lifecycle
