#include "runtime_api/keyed_mutex.h"

namespace sbx::runtime_api {

// Shared with every Guard, so that a guard outliving the mutex (a coroutine
// frame destroyed at shutdown) still unlocks safely.
struct KeyedMutex::Guard::State {
  explicit State(net::any_io_executor ex) : executor(std::move(ex)) {}
  struct Entry {
    std::deque<net::any_completion_handler<void()>> waiters;
  };
  net::any_io_executor executor;
  std::map<std::string, Entry> held;  // a key is locked while it has an entry

  void Unlock(const std::string& key) {
    auto it = held.find(key);
    if (it == held.end()) return;
    if (it->second.waiters.empty()) {
      held.erase(it);
      return;
    }
    // Ownership passes straight to the first waiter: the entry stays.
    auto next = std::move(it->second.waiters.front());
    it->second.waiters.pop_front();
    net::post(executor, [h = std::move(next)]() mutable { std::move(h)(); });
  }
};

KeyedMutex::KeyedMutex(net::any_io_executor executor)
    : state_(std::make_shared<Guard::State>(std::move(executor))) {}

KeyedMutex::Guard::Guard(std::shared_ptr<State> state, std::string key)
    : state_(std::move(state)), key_(std::move(key)) {}

KeyedMutex::Guard::Guard(Guard&& other) noexcept
    : state_(std::move(other.state_)), key_(std::move(other.key_)) {}

KeyedMutex::Guard& KeyedMutex::Guard::operator=(Guard&& other) noexcept {
  if (this != &other) {
    if (state_) state_->Unlock(key_);
    state_ = std::move(other.state_);
    key_ = std::move(other.key_);
  }
  return *this;
}

KeyedMutex::Guard::~Guard() {
  if (state_) state_->Unlock(key_);
}

net::awaitable<KeyedMutex::Guard> KeyedMutex::Lock(const std::string& key) {
  auto [it, inserted] = state_->held.try_emplace(key);
  if (!inserted) {
    auto& waiters = it->second.waiters;
    co_await net::async_initiate<const net::use_awaitable_t<>, void()>(
        [&waiters](auto handler) { waiters.push_back(std::move(handler)); }, net::use_awaitable);
  }
  co_return Guard(state_, key);
}

bool KeyedMutex::locked(const std::string& key) const { return state_->held.contains(key); }

}  // namespace sbx::runtime_api
