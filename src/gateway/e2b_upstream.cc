#include "gateway/e2b_upstream.h"

#include <openssl/ssl.h>

#include <vector>

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

namespace sbx::gateway {
namespace {

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

// The loopback endpoint of a plain-http API URL, or nullopt.
std::optional<net::ip::tcp::endpoint> PlainLoopback(const UrlHostPort& api) {
  if (api.scheme != "http") return std::nullopt;
  const std::string host = api.host == "localhost" ? "127.0.0.1" : api.host;
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec || !address.is_loopback()) return std::nullopt;
  return net::ip::tcp::endpoint(address, api.port);
}

}  // namespace

E2bUpstream::E2bUpstream(E2bUpstreamOptions options, Resolver& resolver, net::ssl::context tls,
                         std::optional<net::ip::tcp::endpoint> plain)
    : options_(std::move(options)), resolver_(resolver), tls_(std::move(tls)), plain_(plain) {}

Result<std::unique_ptr<E2bUpstream>> E2bUpstream::Create(E2bUpstreamOptions options,
                                                         Resolver& resolver) {
  const auto api = ParseUrlHostPort(options.api_url);
  if (!api) {
    return InvalidArgument(fmt::format("E2B API URL \"{}\" is not http(s)://host[:port]",
                                       options.api_url));
  }
  net::ssl::context tls(net::ssl::context::tls_client);
  beast::error_code ec;
  tls.set_default_verify_paths(ec);
  if (!ec && !options.ca_file.empty()) tls.load_verify_file(options.ca_file, ec);
  if (ec) return Unavailable(fmt::format("TLS trust store: {}", ec.message()));
  tls.set_verify_mode(net::ssl::verify_peer, ec);
  if (ec) return Unavailable(fmt::format("TLS verify mode: {}", ec.message()));
  const auto plain = PlainLoopback(*api);
  return std::unique_ptr<E2bUpstream>(
      new E2bUpstream(std::move(options), resolver, std::move(tls), plain));
}

std::string E2bUpstream::HostFor(const core::Sandbox& sandbox, uint16_t port) const {
  // The stored URL is "https://<port>-<id>.<domain>/": its domain wins (E2B
  // may answer with a sandbox-specific one).
  std::string domain = options_.domain;
  if (const auto stored = sandbox.url ? ParseUrlHostPort(*sandbox.url) : std::nullopt) {
    const size_t dot = stored->host.find('.');
    const std::string label = stored->host.substr(0, dot);
    if (dot != std::string::npos && label.find('-') != std::string::npos) {
      domain = stored->host.substr(dot + 1);
    }
  }
  return fmt::format("{}-{}.{}", port, sandbox.sandbox_id, domain);
}

net::awaitable<Result<std::unique_ptr<UpstreamConnection>>> E2bUpstream::Connect(
    const core::Sandbox& sandbox, uint16_t port) {
  const std::string host = HostFor(sandbox, port);
  if (!plain_) co_return co_await ConnectTls(host);
  auto conn = std::make_unique<UpstreamConnection>(UpstreamConnection{
      beast::tcp_stream(co_await net::this_coro::executor), std::optional<std::string>(host)});
  auto& stream = std::get<beast::tcp_stream>(conn->stream);
  stream.expires_after(options_.connect_timeout);
  auto [ec] = co_await stream.async_connect(*plain_, kNoThrow);
  stream.expires_never();
  if (ec == beast::error::timeout) {
    co_return DeadlineExceeded(fmt::format("connect to {} for {}: no answer", plain_->port(), host));
  }
  if (ec) co_return Unavailable(fmt::format("connect to port {} for {}: {}", plain_->port(), host,
                                            ec.message()));
  beast::error_code ignored;
  stream.socket().set_option(net::ip::tcp::no_delay(true), ignored);
  co_return conn;
}

net::awaitable<Result<std::unique_ptr<UpstreamConnection>>> E2bUpstream::ConnectTls(
    const std::string& host) {
  const auto ex = co_await net::this_coro::executor;
  auto addresses = co_await resolver_.Resolve(host);
  if (!addresses.ok()) co_return addresses.error();
  std::vector<net::ip::tcp::endpoint> endpoints;
  for (const auto& address : *addresses) endpoints.emplace_back(address, options_.tls_port);
  auto conn = std::make_unique<UpstreamConnection>(
      UpstreamConnection{TlsStream(ex, tls_), std::optional<std::string>(host)});
  auto& stream = std::get<TlsStream>(conn->stream);
  // SNI, and the certificate must name the host.
  if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
    co_return Unavailable(fmt::format("TLS SNI for {}", host));
  }
  stream.set_verify_callback(net::ssl::host_name_verification(host));
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(options_.connect_timeout);
  auto [cec, endpoint] = co_await tcp.async_connect(endpoints, kNoThrow);
  if (cec) {
    if (cec == beast::error::timeout) co_return DeadlineExceeded(fmt::format("connect to {}: no answer", host));
    co_return Unavailable(fmt::format("connect to {}: {}", host, cec.message()));
  }
  auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::client, kNoThrow);
  tcp.expires_never();
  if (hec) co_return Unavailable(fmt::format("TLS handshake with {}: {}", host, hec.message()));
  beast::error_code ignored;
  tcp.socket().set_option(net::ip::tcp::no_delay(true), ignored);
  co_return conn;
}

}  // namespace sbx::gateway
