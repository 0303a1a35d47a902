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
  // `provider_threads` > 0 gives provider calls threads of their own, so that
  // a test can hold one (FakeProvider::OnNextCall) while others run; with 0
  // every store and provider call runs inline.
  explicit Harness(LifecycleOptions options = {}, int provider_threads = 0)
      : provider_pool({.threads = provider_threads}),
        store(std::move(*store::SqliteStore::Open(":memory:"))),
        lifecycle(clock, pool, provider_threads > 0 ? provider_pool : pool, *store, provider, ids,
                  read_model, bus, metrics, options) {}

  // Runs ready handlers (background wakes/pauses) to completion.
  void Drain() {
    io.restart();
    io.poll();
  }

  net::io_context io;
  FakeClock clock;
  BlockingPool pool{{.threads = 0}};
  BlockingPool provider_pool;
  std::unique_ptr<store::SqliteStore> store;
  provider::FakeProvider provider;
  IdGenerator ids{42};
  ReadModel read_model;
  EventBus bus;
  Metrics metrics;
  Lifecycle lifecycle;
};

}  // namespace sbx::lifecycle::testing
