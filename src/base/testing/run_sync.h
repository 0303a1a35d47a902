// RunSync: drives one coroutine to completion on a test's io_context and
// returns its value. If the coroutine cannot finish (it waits on a FakeClock
// that nobody advances, or on another thread), the test fails with a message
// instead of reading an empty result. Test-only (sbx_base_testing).
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <utility>

#include "base/net.h"

namespace sbx::testing {

template <typename T>
T RunSync(net::io_context& io, net::awaitable<T> aw) {
  std::optional<T> out;
  std::exception_ptr thrown;
  net::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
    if (e) {
      thrown = e;
      return;
    }
    out.emplace(std::move(v));
  });
  while (!out && !thrown) {
    io.restart();
    if (io.poll() == 0) break;
  }
  if (thrown) std::rethrow_exception(thrown);
  if (!out) {
    // A value cannot be made up for an arbitrary T, and carrying on would
    // test nothing: report the stuck coroutine as this test's failure.
    constexpr char kWhy[] =
        "RunSync: the coroutine did not finish (is it waiting on a FakeClock that was not "
        "advanced, or on another thread?)";
    ADD_FAILURE() << kWhy;
    std::fprintf(stderr, "%s\n", kWhy);
    std::abort();
  }
  return std::move(*out);
}

// The same for a coroutine with no value.
inline void RunSync(net::io_context& io, net::awaitable<void> aw) {
  auto with_value = [](net::awaitable<void> inner) -> net::awaitable<bool> {
    co_await std::move(inner);
    co_return true;
  };
  (void)RunSync(io, with_value(std::move(aw)));
}

}  // namespace sbx::testing
