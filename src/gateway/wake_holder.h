// WakeHolder holds preview requests for sandboxes that are not RUNNING: it
// wakes a PAUSED sandbox (Lifecycle::Wake, source "preview"; one wake per
// project however many requests wait: Lifecycle coalesces with every other
// wake too), waits for a PAUSING one to finish pausing and then wakes it,
// waits for a STARTING one, and lets each waiter go once the sandbox is
// RUNNING (the provider's resume returns only once it serves), KILLED or
// replaced, the resume failed, its deadline passed, or it was cancelled (a
// client that went away). State changes come from the EventBus, not polling:
// the bus handler posts to the I/O thread, which re-checks the waiters of
// that project. Each waiter owns one Timer, released on every exit path.
// REQUIRES: Start, WaitUntilRunning, Nudge and Shutdown on the executor given
// to Start (the I/O thread). The bus handler is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/net.h"
#include "core/sandbox.h"
#include "lifecycle/event_bus.h"
#include "lifecycle/lifecycle.h"

namespace sbx::gateway {

enum class HoldOutcome {
  kRunning,     // forward the request to `sandbox`
  kGone,        // KILLED, or the project now has another sandbox: 410
  kUnknown,     // no such project any more: 404
  kWakeFailed,  // the resume this wait asked for failed: 503, `detail` says why
  kDeadline,    // still not RUNNING at the deadline: 503 + Retry-After
  kCancelled,   // the caller's cancellation (client gone): no answer
  kShutdown,    // the gateway is stopping: 503
};
std::string_view HoldOutcomeName(HoldOutcome o);  // "running", "gone", …

struct HoldResult {
  HoldOutcome outcome = HoldOutcome::kRunning;
  std::optional<core::Sandbox> sandbox;  // the record seen last
  std::string detail;                    // kWakeFailed: the provider's error
};

class WakeHolder {
 public:
  WakeHolder(Clock& clock, lifecycle::Lifecycle& lifecycle, lifecycle::EventBus& bus,
             Metrics& metrics);
  ~WakeHolder();  // unsubscribes
  WakeHolder(const WakeHolder&) = delete;
  WakeHolder& operator=(const WakeHolder&) = delete;

  // Subscribes to the bus; changes are handled on `executor`.
  void Start(net::any_io_executor executor);
  // Waits until sandbox `sandbox_id` of `project` is RUNNING (waking it as
  // needed) or another outcome applies; never past `deadline`. Honours the
  // awaiting coroutine's cancellation (kCancelled). Nothing it registered
  // outlives the call.
  net::awaitable<HoldResult> WaitUntilRunning(const std::string& project,
                                              const std::string& sandbox_id, SteadyTime deadline);
  // Starts a wake if the sandbox is PAUSED, without waiting (a browser gets
  // the waking page at once).
  void Nudge(const std::string& project);
  // Ends every wait with kShutdown and refuses new ones.
  void Shutdown();
  // Requests waiting now.
  size_t waiting() const { return waiting_; }

 private:
  struct Waiter {
    std::unique_ptr<Timer> timer;
    std::optional<std::string> failed;  // the resume failed: why
  };
  // The waiters of one project and the wake asked for on their behalf.
  struct Episode {
    std::list<Waiter*> waiters;
    bool wake_in_flight = false;  // a Lifecycle::Wake call is running
    bool woke = false;            // asked for a wake that has not failed yet
    SystemTime woke_at{};         // when it was asked for
  };
  void OnChange(const std::string& project);
  // Starts Lifecycle::Wake for the project unless one is running.
  void StartWake(const std::string& project, Episode& episode);
  net::awaitable<void> RunWake(std::string project);
  // Drops the episode once nobody waits and no wake call runs.
  void MaybeForget(const std::string& project);

  Clock& clock_;
  lifecycle::Lifecycle& lifecycle_;
  lifecycle::EventBus& bus_;
  Metrics& metrics_;
  net::any_io_executor executor_;
  int64_t subscription_ = 0;
  bool shutdown_ = false;
  size_t waiting_ = 0;
  // Read by the bus handler on another thread: skip posting when nobody waits.
  std::atomic<size_t> waiting_shared_{0};
  std::unordered_map<std::string, Episode> episodes_;  // by project
};

}  // namespace sbx::gateway
