// Test harness for lifecycle and the modules above it: FakeClock, inline
// pools, SQLite in memory and FakeProvider wired into a Lifecycle. Test-only.
#pragma once

#include <memory>
#include <optional>

#include "base/testing/fake_clock.h"
#include "base/testing/run_sync.h"
#include "lifecycle/lifecycle.h"
#include "provider/testing/fake_provider.h"
#include "store/sqlite/sqlite_store.h"

namespace sbx::lifecycle::testing {

using sbx::testing::RunSync;

struct Harness {
  explicit Harness(LifecycleOptions options = {})
      : store(std::move(*store::SqliteStore::Open(":memory:"))),
        lifecycle(clock, pool, pool, *store, provider, ids, read_model, bus, metrics, options) {}

  // Runs ready handlers (background wakes/pauses) to completion.
  void Drain() {
    io.restart();
    io.poll();
  }

  net::io_context io;
  FakeClock clock;
  BlockingPool pool{{.threads = 0}};
  std::unique_ptr<store::SqliteStore> store;
  provider::FakeProvider provider;
  IdGenerator ids{42};
  ReadModel read_model;
  EventBus bus;
  Metrics metrics;
  Lifecycle lifecycle;
};

}  // namespace sbx::lifecycle::testing
