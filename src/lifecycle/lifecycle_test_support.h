// Shared by the Lifecycle tests. Included only by this directory's *_test.cc files.
#pragma once

#include "lifecycle/lifecycle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>

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

}  // namespace sbx::lifecycle
