// BlockingPool runs blocking calls (SQLite, libpq, child processes, libcurl)
// off the I/O threads. `co_await pool.Run(f)` runs f on a pool thread and
// resumes the caller on its own executor. With {.threads = 0} f runs inline,
// which keeps unit tests single-threaded and deterministic. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include "base/net.h"

namespace sbx {

struct BlockingPoolOptions {
  int threads = 4;  // 0 = run every call inline on the caller's thread
};

class BlockingPool {
 public:
  explicit BlockingPool(BlockingPoolOptions options);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Not a coroutine on purpose: GCC 12 destroys by-value coroutine
  // parameters twice in some co_await expressions, so the callable travels
  // through async_initiate instead of a coroutine frame.
  template <typename F>
  net::awaitable<std::invoke_result_t<F>> Run(F f) {
    using R = std::invoke_result_t<F>;
    return net::async_initiate<const net::use_awaitable_t<>, void(R)>(
        [this](auto handler, F fn) {
          auto ex = net::get_associated_executor(handler);
          auto work = [handler = std::move(handler), fn = std::move(fn), ex]() mutable {
            R r = fn();
            net::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
              std::move(handler)(std::move(r));
            });
          };
          if (pool_) {
            net::post(pool_->get_executor(), std::move(work));
          } else {
            work();
          }
        },
        net::use_awaitable, std::move(f));
  }

  // Runs `f` on a pool thread (inline without threads) without waiting.
  void Post(std::function<void()> f);

  // Waits for queued calls to finish; later Run() calls still work inline.
  void Stop();

 private:
  std::unique_ptr<net::thread_pool> pool_;
};

}  // namespace sbx
