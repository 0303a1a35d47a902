// FakeResolver: a Resolver for unit tests. IP literals resolve to
// themselves; names resolve to what Set() gave them (and fail otherwise).
// Records every name asked. Single-threaded.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime_api/resolver.h"

namespace sbx::runtime_api {

class FakeResolver final : public Resolver {
 public:
  // `host` resolves to `addresses` (text form) from now on.
  void Set(const std::string& host, const std::vector<std::string>& addresses);
  const std::vector<std::string>& asked() const { return asked_; }

  // Resolver
  net::awaitable<Result<std::vector<boost::asio::ip::address>>> Resolve(
      const std::string& host) override;

 private:
  std::map<std::string, std::vector<boost::asio::ip::address>> names_;
  std::vector<std::string> asked_;
};

}  // namespace sbx::runtime_api
