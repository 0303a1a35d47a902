// KeyedMutex serializes coroutines per key (one sandbox's operations run one
// after another; different sandboxes run concurrently). Waiters are resumed in
// FIFO order on the executor given at construction. Not thread-safe: use it
// from one I/O thread (REQUIRES: every Lock and Guard on that thread).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/any_completion_handler.hpp>

#include "base/net.h"

namespace sbx::runtime_api {

class KeyedMutex {
 public:
  explicit KeyedMutex(net::any_io_executor executor);

  // Holds the lock of one key until destroyed. Move-only.
  class Guard {
   public:
    Guard() = default;
    Guard(Guard&& other) noexcept;
    Guard& operator=(Guard&& other) noexcept;
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard();

   private:
    friend class KeyedMutex;
    struct State;
    Guard(std::shared_ptr<State> state, std::string key);
    std::shared_ptr<State> state_;
    std::string key_;
  };

  // Completes once the caller holds the key's lock.
  net::awaitable<Guard> Lock(const std::string& key);
  // True while someone holds `key` (tests).
  bool locked(const std::string& key) const;

 private:
  std::shared_ptr<Guard::State> state_;
};

}  // namespace sbx::runtime_api
