#include "base/blocking_pool.h"

namespace sbx {

BlockingPool::BlockingPool(BlockingPoolOptions options) {
  if (options.threads > 0) {
    pool_ = std::make_unique<net::thread_pool>(static_cast<size_t>(options.threads));
  }
}

BlockingPool::~BlockingPool() { Stop(); }

void BlockingPool::Post(std::function<void()> f) {
  if (pool_) {
    net::post(pool_->get_executor(), std::move(f));
  } else {
    f();
  }
}

void BlockingPool::Stop() {
  if (pool_) pool_->join();
}

}  // namespace sbx
