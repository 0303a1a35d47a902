#include "runtime_api/testing/fake_resolver.h"

namespace sbx::runtime_api {

void FakeResolver::Set(const std::string& host, const std::vector<std::string>& addresses) {
  std::vector<boost::asio::ip::address> parsed;
  for (const std::string& a : addresses) parsed.push_back(boost::asio::ip::make_address(a));
  names_[host] = std::move(parsed);
}

net::awaitable<Result<std::vector<boost::asio::ip::address>>> FakeResolver::Resolve(
    const std::string& host) {
  asked_.push_back(host);
  boost::system::error_code ec;
  const auto literal = boost::asio::ip::make_address(host, ec);
  if (!ec) co_return std::vector<boost::asio::ip::address>{literal};
  auto it = names_.find(host);
  if (it == names_.end()) co_return Unavailable("resolve " + host + ": unknown name");
  co_return it->second;
}

}  // namespace sbx::runtime_api
