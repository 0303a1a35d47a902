// FakeResolver: a Resolver for unit tests. IP literals resolve to
// themselves; names resolve to what Set() gave them (and fail otherwise).
// Records every name asked; can hold an answer back. Single-threaded.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>

#include "base/resolver.h"

namespace sbx {

class FakeResolver final : public Resolver {
 public:
  // `host` resolves to `addresses` (text form) from now on.
  void Set(const std::string& host, const std::vector<std::string>& addresses);
  // `host` fails with `error` from now on (e.g. kDeadlineExceeded: no answer in time).
  void Fail(const std::string& host, Status error) { errors_[host] = std::move(error); }
  const std::vector<std::string>& asked() const { return asked_; }
  // The next Resolve waits until Release(), as a slow DNS answer does.
  void HoldNext() { hold_next_ = true; }
  void Release();
  bool holding() const { return held_.has_value(); }

  // Resolver
  net::awaitable<Result<std::vector<boost::asio::ip::address>>> Resolve(
      const std::string& host) override;

 private:
  std::map<std::string, std::vector<boost::asio::ip::address>> names_;
  std::map<std::string, Status> errors_;
  std::vector<std::string> asked_;
  bool hold_next_ = false;
  std::optional<net::any_completion_handler<void()>> held_;
  net::any_io_executor executor_;
};

}  // namespace sbx
