// SystemResolver: its deadline and its threads, with a stand-in lookup that
// can be held as a DNS server that never answers holds getaddrinfo; and the
// real getaddrinfo for a name /etc/hosts answers (no DNS traffic).
#include "base/resolver.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <mutex>
#include <optional>

namespace sbx {
namespace {

using namespace std::chrono_literals;
using Addresses = std::vector<boost::asio::ip::address>;

// A lookup that answers 192.0.2.1 for any name but "stuck.test", which it
// holds until Release(). Records the names it was asked. Its state is shared
// with the lookup threads, which are detached and may outlive the test.
class HeldLookup {
 public:
  LookupFn Fn() {
    return [state = state_](const std::string& host) -> Result<Addresses> {
      {
        std::lock_guard lock(state->mu);
        state->asked.push_back(host);
      }
      if (host == "stuck.test") state->released.wait();
      return Addresses{boost::asio::ip::make_address("192.0.2.1")};
    };
  }
  void Release() { state_->release.set_value(); }
  std::vector<std::string> asked() {
    std::lock_guard lock(state_->mu);
    return state_->asked;
  }

 private:
  struct State {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::mutex mu;
    std::vector<std::string> asked;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Starts a Resolve on `io`; the slot fills when it completes.
void Start(net::io_context& io, Resolver& resolver, const std::string& host,
           std::optional<Result<Addresses>>& slot) {
  net::co_spawn(io, resolver.Resolve(host), [&slot](std::exception_ptr e, Result<Addresses> r) {
    if (e) std::rethrow_exception(e);
    slot.emplace(std::move(r));
  });
}

void RunUntil(net::io_context& io, const std::function<bool()>& done) {
  for (int i = 0; i < 1000 && !done(); ++i) {
    io.restart();
    io.run_for(10ms);
  }
}

TEST(SystemResolverTest, AddressesAreTheirOwnAnswerWithoutALookup) {
  SystemClock clock;
  HeldLookup lookup;
  SystemResolver resolver(clock, {}, lookup.Fn());
  net::io_context io;
  const std::string v4 = "127.0.0.1";
  const std::string v6 = "::1";
  std::optional<Result<Addresses>> a;
  std::optional<Result<Addresses>> b;
  Start(io, resolver, v4, a);
  Start(io, resolver, v6, b);
  RunUntil(io, [&] { return a && b; });
  ASSERT_TRUE(a && a->ok() && b && b->ok());
  EXPECT_EQ(**a, Addresses{boost::asio::ip::make_address(v4)});
  EXPECT_EQ(**b, Addresses{boost::asio::ip::make_address(v6)});
  EXPECT_TRUE(lookup.asked().empty());
}

// One name whose lookup never returns holds one thread, not every lookup:
// another name is answered while it hangs, and the stuck one ends at its
// deadline with kDeadlineExceeded instead of glibc's ~30 s.
TEST(SystemResolverTest, AStuckLookupEndsAtItsDeadlineAndDoesNotHoldOthersUp) {
  SystemClock clock;
  HeldLookup lookup;
  SystemResolver resolver(clock, {.threads = 2, .timeout = 300ms}, lookup.Fn());
  net::io_context io;
  const std::string stuck_name = "stuck.test";
  const std::string ok_name = "ok.test";
  std::optional<Result<Addresses>> stuck;
  std::optional<Result<Addresses>> ok;
  Start(io, resolver, stuck_name, stuck);
  RunUntil(io, [&] { return lookup.asked().size() == 1; });
  Start(io, resolver, ok_name, ok);
  RunUntil(io, [&] { return ok.has_value(); });
  ASSERT_TRUE(ok.has_value());
  ASSERT_TRUE(ok->ok()) << ok->error().ToString();
  EXPECT_FALSE(stuck.has_value()) << "the stuck lookup answered before its deadline";
  RunUntil(io, [&] { return stuck.has_value(); });
  ASSERT_TRUE(stuck.has_value());
  ASSERT_FALSE(stuck->ok());
  EXPECT_EQ(stuck->error().code(), StatusCode::kDeadlineExceeded) << stuck->error().ToString();
  // Its late answer is dropped; the resolver goes on working.
  lookup.Release();
  std::optional<Result<Addresses>> again;
  Start(io, resolver, ok_name, again);
  RunUntil(io, [&] { return again.has_value(); });
  ASSERT_TRUE(again && again->ok());
}

// With every thread held, a lookup waits its turn only until its deadline,
// and once it has given up it is not made at all.
TEST(SystemResolverTest, ALookupThatGaveUpWaitingForAThreadIsNeverMade) {
  SystemClock clock;
  HeldLookup lookup;
  SystemResolver resolver(clock, {.threads = 1, .timeout = 200ms}, lookup.Fn());
  net::io_context io;
  const std::string stuck_name = "stuck.test";
  const std::string queued_name = "queued.test";
  const std::string later_name = "later.test";
  std::optional<Result<Addresses>> stuck;
  std::optional<Result<Addresses>> queued;
  Start(io, resolver, stuck_name, stuck);
  RunUntil(io, [&] { return lookup.asked().size() == 1; });
  Start(io, resolver, queued_name, queued);
  RunUntil(io, [&] { return stuck && queued; });
  ASSERT_TRUE(queued.has_value());
  ASSERT_FALSE(queued->ok());
  EXPECT_EQ(queued->error().code(), StatusCode::kDeadlineExceeded);
  lookup.Release();
  std::optional<Result<Addresses>> later;
  Start(io, resolver, later_name, later);
  RunUntil(io, [&] { return later.has_value(); });
  ASSERT_TRUE(later && later->ok());
  EXPECT_EQ(lookup.asked(), (std::vector<std::string>{stuck_name, later_name}));
}

// The real getaddrinfo, for a name the hosts file answers.
TEST(SystemResolverTest, TheSystemLookupResolvesLocalhost) {
  SystemClock clock;
  SystemResolver resolver(clock);
  net::io_context io;
  const std::string name = "localhost";
  std::optional<Result<Addresses>> r;
  Start(io, resolver, name, r);
  RunUntil(io, [&] { return r.has_value(); });
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->error().ToString();
  bool loopback = false;
  for (const auto& a : **r) loopback = loopback || a.is_loopback();
  EXPECT_TRUE(loopback);
}

}  // namespace
}  // namespace sbx
