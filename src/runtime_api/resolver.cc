#include "runtime_api/resolver.h"

#include <algorithm>

#include <fmt/format.h>

namespace sbx::runtime_api {

net::awaitable<Result<std::vector<boost::asio::ip::address>>> AsioResolver::Resolve(
    const std::string& host) {
  auto executor = co_await net::this_coro::executor;
  net::ip::tcp::resolver resolver(executor);
  auto [ec, results] =
      co_await resolver.async_resolve(host, "0", net::as_tuple(net::use_awaitable));
  if (ec) co_return Unavailable(fmt::format("resolve {}: {}", host, ec.message()));
  std::vector<boost::asio::ip::address> out;
  for (const auto& entry : results) {
    const auto address = entry.endpoint().address();
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  }
  if (out.empty()) co_return Unavailable(fmt::format("resolve {}: no addresses", host));
  co_return out;
}

}  // namespace sbx::runtime_api
