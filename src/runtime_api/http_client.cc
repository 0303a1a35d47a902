#include "runtime_api/http_client.h"

#include <fmt/format.h>

namespace sbx::runtime_api {
namespace {

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

Status TransportError(const std::string& what, const std::string& host, uint16_t port,
                      const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    return DeadlineExceeded(fmt::format("{} {}:{}: timed out", what, host, port));
  }
  return Unavailable(fmt::format("{} {}:{}: {}", what, host, port, ec.message()));
}

}  // namespace

net::awaitable<std::pair<beast::error_code, http_server::Response>> ReadFinalResponse(
    beast::tcp_stream& stream, bool head, size_t body_limit) {
  beast::flat_buffer buffer;
  for (;;) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    if (head) parser.skip(true);
    auto [head_ec, head_read] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
    if (head_ec) co_return std::pair(head_ec, http_server::Response());
    const unsigned code = parser.get().result_int();
    if (code >= 100 && code < 200 && code != 101) continue;  // interim: the answer follows
    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (read_ec) co_return std::pair(read_ec, http_server::Response());
    co_return std::pair(beast::error_code(), parser.release());
  }
}

net::awaitable<Result<http_server::Response>> BeastHttpClient::Send(
    const std::string& host, uint16_t port, const http_server::Request& request,
    std::chrono::milliseconds timeout) {
  // An address, never a name: names go through the Resolver, with its
  // deadline, before they get here (Asio's resolver would queue even a
  // literal behind a stuck DNS lookup).
  beast::error_code address_ec;
  const net::ip::address address = net::ip::make_address(host, address_ec);
  if (address_ec) {
    co_return InvalidArgument(fmt::format("connect to {}: not an IP address", host));
  }
  auto executor = co_await net::this_coro::executor;
  beast::tcp_stream stream(executor);
  // One deadline for connect, write and read together.
  stream.expires_after(timeout);
  auto [connect_ec] =
      co_await stream.async_connect(net::ip::tcp::endpoint(address, port), kNoThrow);
  if (connect_ec) co_return TransportError("connect", host, port, connect_ec);
  auto [write_ec, written] = co_await http::async_write(stream, request, kNoThrow);
  if (write_ec) co_return TransportError("send to", host, port, write_ec);

  const bool head = request.method() == http::verb::head;
  auto [read_ec, response] =
      co_await ReadFinalResponse(stream, head, options_.max_response_body_bytes);
  if (read_ec == http::error::body_limit) {
    co_return ResourceExhausted(fmt::format("response of {}:{} is larger than {} bytes", host, port,
                                            options_.max_response_body_bytes));
  }
  if (read_ec) co_return TransportError("read from", host, port, read_ec);
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  co_return std::move(response);
}

}  // namespace sbx::runtime_api
