#include "base/resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace sbx {

using Addresses = std::vector<boost::asio::ip::address>;

Result<Addresses> SystemLookup(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) return Unavailable(fmt::format("resolve {}: {}", host, ::gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  Addresses out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    // Asio reads the sockaddr itself (scope id included).
    boost::asio::ip::tcp::endpoint endpoint;
    std::memcpy(endpoint.data(), a->ai_addr, a->ai_addrlen);
    endpoint.resize(a->ai_addrlen);
    const boost::asio::ip::address address = endpoint.address();
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  }
  if (out.empty()) return Unavailable(fmt::format("resolve {}: no addresses", host));
  return out;
}

namespace {

// One Resolve's lookup, shared by the waiting coroutine and a worker thread.
struct Lookup {
  std::string host;
  std::mutex mu;
  bool abandoned = false;              // the waiter is gone: do not look up, do not wake
  std::optional<Result<Addresses>> result;
  std::function<void()> wake;          // posts the waiter's wake-up to its executor
};

}  // namespace

struct SystemResolver::Shared {
  LookupFn lookup;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Lookup>> queue;
  bool stopping = false;

  void Work() {
    for (;;) {
      std::shared_ptr<Lookup> next;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        next = std::move(queue.front());
        queue.pop_front();
      }
      {
        std::lock_guard lock(next->mu);
        if (next->abandoned) continue;  // its deadline passed while it waited
      }
      Result<Addresses> r = lookup(next->host);
      std::lock_guard lock(next->mu);
      if (next->abandoned) continue;
      next->result = std::move(r);
      next->wake();
    }
  }
};

SystemResolver::SystemResolver(Clock& clock, SystemResolverOptions options, LookupFn lookup)
    : clock_(clock), options_(options), shared_(std::make_shared<Shared>()) {
  shared_->lookup = std::move(lookup);
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    std::thread([shared = shared_] { shared->Work(); }).detach();
  }
}

SystemResolver::~SystemResolver() {
  std::lock_guard lock(shared_->mu);
  shared_->stopping = true;
  shared_->cv.notify_all();
}

net::awaitable<Result<Addresses>> SystemResolver::Resolve(const std::string& host) {
  boost::system::error_code ec;
  const auto literal = boost::asio::ip::make_address(host, ec);
  if (!ec) co_return Addresses{literal};
  auto executor = co_await net::this_coro::executor;
  // The timer is the wait: the deadline ends it, a worker's answer cancels it.
  // Only this thread touches it; the worker reaches it through a weak_ptr in
  // a handler posted here, so an answer that arrives after the waiter left
  // finds nothing.
  std::shared_ptr<Timer> timer = clock_.NewTimer(executor);
  auto lookup = std::make_shared<Lookup>();
  lookup->host = host;
  lookup->wake = [executor, weak = std::weak_ptr<Timer>(timer)] {
    net::post(executor, [weak] {
      if (auto t = weak.lock()) t->Cancel();
    });
  };
  // Whatever way this coroutine ends (answer, deadline, or its frame
  // destroyed at shutdown), the worker no longer wakes it.
  struct Abandon {
    Lookup& l;
    ~Abandon() {
      std::lock_guard lock(l.mu);
      l.abandoned = true;
    }
  } abandon{*lookup};
  {
    std::lock_guard lock(shared_->mu);
    shared_->queue.push_back(lookup);
    shared_->cv.notify_one();
  }
  const SteadyTime deadline = clock_.SteadyNow() + options_.timeout;
  for (;;) {
    {
      std::lock_guard lock(lookup->mu);
      if (lookup->result) co_return std::move(*lookup->result);
    }
    Status waited = co_await timer->WaitUntil(deadline);
    if (waited.ok()) break;  // the deadline
  }
  std::lock_guard lock(lookup->mu);
  if (lookup->result) co_return std::move(*lookup->result);
  co_return DeadlineExceeded(fmt::format("resolve {}: no answer within {} ms", host,
                                         options_.timeout.count()));
}

}  // namespace sbx
