// FakeLoopbackNetwork: a LoopbackNetwork for unit tests. Ports are free
// unless marked busy; HTTP GETs answer 200 "ok" unless a handler says
// otherwise. Records every probe. Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "provider/local/loopback_network.h"

namespace sbx::provider::local {

class FakeLoopbackNetwork final : public LoopbackNetwork {
 public:
  using Handler = std::function<Result<HttpResponse>(uint16_t port, const std::string& path)>;

  void SetBusy(uint16_t port, bool busy) {
    std::lock_guard lock(mu_);
    if (busy) {
      busy_.insert(port);
    } else {
      busy_.erase(port);
    }
  }
  void SetHttpHandler(Handler handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
  }
  // (port, path) of every HttpGet so far.
  std::vector<std::pair<uint16_t, std::string>> gets() const {
    std::lock_guard lock(mu_);
    return gets_;
  }

  // LoopbackNetwork
  bool CanBind(uint16_t port) override {
    std::lock_guard lock(mu_);
    return !busy_.contains(port);
  }
  Result<HttpResponse> HttpGet(uint16_t port, const std::string& path,
                               std::chrono::milliseconds /*timeout*/) override {
    Handler handler;
    {
      std::lock_guard lock(mu_);
      gets_.emplace_back(port, path);
      handler = handler_;
    }
    if (handler) return handler(port, path);
    return HttpResponse{.status = 200, .body = "ok"};
  }

 private:
  mutable std::mutex mu_;
  std::set<uint16_t> busy_;
  Handler handler_;
  std::vector<std::pair<uint16_t, std::string>> gets_;
};

}  // namespace sbx::provider::local
