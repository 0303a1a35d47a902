#include "gateway/loopback_upstream.h"

#include <unistd.h>

#include <fmt/format.h>

namespace sbx::gateway {
namespace {
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
}  // namespace

Result<net::ip::tcp::socket> LoopbackUpstream::OpenSocket(const core::Sandbox& sandbox,
                                                          net::any_io_executor executor) const {
  if (!options_.sandbox_socket) return Unavailable("no way to reach local sandboxes");
  SBX_ASSIGN_OR_RETURN(int fd, options_.sandbox_socket(sandbox.sandbox_id));
  net::ip::tcp::socket socket(std::move(executor));
  beast::error_code ec;
  socket.assign(net::ip::tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return Unavailable(fmt::format("socket of sandbox {}: {}", sandbox.sandbox_id, ec.message()));
  }
  return socket;
}

net::awaitable<Result<std::unique_ptr<UpstreamConnection>>> LoopbackUpstream::Connect(
    const core::Sandbox& sandbox, uint16_t port) {
  // Every port of the sandbox's own 127.0.0.1 is the sandbox's.
  const net::ip::tcp::endpoint endpoint(net::ip::address_v4::loopback(), port);
  auto socket = OpenSocket(sandbox, co_await net::this_coro::executor);
  if (!socket.ok()) co_return socket.error();
  auto conn = std::make_unique<UpstreamConnection>(
      UpstreamConnection{beast::tcp_stream(std::move(*socket)), std::nullopt});
  auto& stream = std::get<beast::tcp_stream>(conn->stream);
  stream.expires_after(options_.connect_timeout);
  auto [ec] = co_await stream.async_connect(endpoint, kNoThrow);
  stream.expires_never();
  if (ec == beast::error::timeout) {
    co_return DeadlineExceeded(fmt::format("connect to sandbox {} on {}: no answer in {} ms",
                                           sandbox.sandbox_id, port,
                                           options_.connect_timeout.count()));
  }
  if (ec) {
    co_return Unavailable(fmt::format("connect to sandbox {} on {}: {}", sandbox.sandbox_id,
                                      port, ec.message()));
  }
  beast::error_code ignored;
  stream.socket().set_option(net::ip::tcp::no_delay(true), ignored);
  co_return conn;
}

}  // namespace sbx::gateway
