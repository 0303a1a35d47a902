#include "base/testing/fake_resolver.h"

namespace sbx {

void FakeResolver::Set(const std::string& host, const std::vector<std::string>& addresses) {
  std::vector<boost::asio::ip::address> parsed;
  for (const std::string& a : addresses) parsed.push_back(boost::asio::ip::make_address(a));
  names_[host] = std::move(parsed);
}

void FakeResolver::Release() {
  if (!held_) return;
  auto resume = std::move(*held_);
  held_.reset();
  net::post(executor_, [h = std::move(resume)]() mutable { std::move(h)(); });
}

net::awaitable<Result<std::vector<boost::asio::ip::address>>> FakeResolver::Resolve(
    const std::string& host) {
  asked_.push_back(host);
  if (hold_next_) {
    hold_next_ = false;
    executor_ = co_await net::this_coro::executor;
    co_await net::async_initiate<const net::use_awaitable_t<>, void()>(
        [this](auto handler) { held_.emplace(std::move(handler)); }, net::use_awaitable);
  }
  boost::system::error_code ec;
  const auto literal = boost::asio::ip::make_address(host, ec);
  if (!ec) co_return std::vector<boost::asio::ip::address>{literal};
  if (auto e = errors_.find(host); e != errors_.end()) co_return e->second;
  auto it = names_.find(host);
  if (it == names_.end()) co_return Unavailable("resolve " + host + ": unknown name");
  co_return it->second;
}

}  // namespace sbx
