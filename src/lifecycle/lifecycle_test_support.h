// Shared by the Lifecycle tests. Included only by this directory's *_test.cc files.
#pragma once

#include "lifecycle/lifecycle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <future>
#include <optional>

#include "lifecycle/testing.h"

namespace sbx::lifecycle {

using namespace std::chrono_literals;
using core::EventSource;
using core::EventType;
using core::LifecycleEvent;
using core::SandboxStatus;
using testing::Harness;
using testing::RunSync;

inline core::Sandbox CreateRunning(Harness& h, const std::string& project) {
  auto r = RunSync(h.io, h.lifecycle.Create(project, {}));
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  return r->sandbox;
}

// A webhook event `t_s` seconds after 2026-01-01 for project p1.
inline LifecycleEvent Webhook(const std::string& id, EventType type, int64_t t_s,
                              const std::string& sandbox = "fake1") {
  LifecycleEvent e;
  e.id = id;
  e.type = type;
  e.raw_type = "sandbox.lifecycle." + std::string(core::EventTypeName(type));
  e.source = EventSource::kWebhook;
  e.timestamp = FromUnixMillis(1'767'225'600'000 + t_s * 1000);
  e.sandbox_id = sandbox;
  e.metadata = {{"projectId", "p1"}};
  return e;
}

// The Harness with provider calls on two threads of their own, so that a
// test can hold one (FakeProvider::OnNextCall) while others run.
struct ThreadedHarness : Harness {
  ThreadedHarness() : Harness({}, 2) {}

  // Starts `aw`; `slot` fills when it completes.
  template <typename T>
  void Start(net::awaitable<T> aw, std::optional<T>& slot) {
    net::co_spawn(io, std::move(aw), [&slot](std::exception_ptr e, T r) {
      if (e) std::rethrow_exception(e);
      slot.emplace(std::move(r));
    });
  }
  void RunUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 5000 && !done(); ++i) {
      io.restart();
      io.run_for(1ms);
    }
  }
  template <typename T>
  T Drive(net::awaitable<T> aw) {
    std::optional<T> out;
    Start(std::move(aw), out);
    RunUntil([&] { return out.has_value(); });
    EXPECT_TRUE(out.has_value()) << "never finished";
    return std::move(*out);
  }
  // Holds the next provider call of `op` until the returned promise is set,
  // and runs the loop until that call has begun.
  std::promise<void> Hold(const std::string& op, const std::function<void()>& start) {
    std::promise<void> release;
    auto reached = std::make_shared<std::promise<void>>();
    std::future<void> began = reached->get_future();
    provider.OnNextCall(op, [reached, released = release.get_future().share()] {
      reached->set_value();
      released.wait();
    });
    start();
    RunUntil([&] { return began.wait_for(0s) == std::future_status::ready; });
    EXPECT_EQ(began.wait_for(0s), std::future_status::ready) << op << " never began";
    return release;
  }
};

}  // namespace sbx::lifecycle
