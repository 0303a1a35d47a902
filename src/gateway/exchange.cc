#include "gateway/exchange.h"

#include <array>
#include <memory>
#include <optional>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/ssl.hpp>

#include "gateway/forwarding.h"

namespace sbx::gateway {
namespace {

using namespace net::experimental::awaitable_operators;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr size_t kTunnelBufferBytes = 8 << 10;
constexpr size_t kIdleBufferBytes = 4 << 10;

template <class Stream>
void CloseLowest(Stream& s) {
  beast::error_code ec;
  beast::get_lowest_layer(s).socket().close(ec);
}

// The bytes of one WebSocket (or other upgraded) connection, both ways, with
// an idle watchdog: no bytes either way for `idle` closes both sides.
template <class Up>
class Tunnel {
 public:
  Tunnel(Clock& clock, beast::tcp_stream& client, Up& up, std::chrono::seconds idle,
         ExchangeObserver& observer)
      : clock_(clock), client_(client), up_(up), idle_(idle), observer_(observer) {}

  net::awaitable<void> Run() {
    // The watchdog bounds the tunnel; no per-operation deadline applies.
    client_.expires_never();
    beast::get_lowest_layer(up_).expires_never();
    last_traffic_ = clock_.SteadyNow();
    timer_ = clock_.NewTimer(co_await net::this_coro::executor);
    (void)co_await ((Pump(client_, up_) && Pump(up_, client_)) || Watchdog());
  }

 private:
  template <class From, class To>
  net::awaitable<void> Pump(From& from, To& to) {
    std::array<char, kTunnelBufferBytes> buf;
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(net::buffer(buf), kNoThrow);
      if (ec) {
        if (ec == net::error::eof) {
          // Half-close: the other way may still carry the peer's answer.
          beast::error_code ignored;
          beast::get_lowest_layer(to).socket().shutdown(net::ip::tcp::socket::shutdown_send,
                                                        ignored);
        } else {
          CloseBoth();
        }
        co_return;
      }
      last_traffic_ = clock_.SteadyNow();
      observer_.Traffic();
      auto [wec, m] = co_await net::async_write(to, net::buffer(buf.data(), n), kNoThrow);
      if (wec) {
        CloseBoth();
        co_return;
      }
    }
  }

  net::awaitable<void> Watchdog() {
    for (;;) {
      const Status waited = co_await timer_->WaitUntil(last_traffic_ + idle_);
      if (!waited.ok()) co_return;  // cancelled: the pumps are done
      if (clock_.SteadyNow() >= last_traffic_ + idle_) {
        CloseBoth();  // the pumps fail and end
        co_return;
      }
    }
  }

  void CloseBoth() {
    CloseLowest(client_);
    CloseLowest(up_);
  }

  Clock& clock_;
  beast::tcp_stream& client_;
  Up& up_;
  std::chrono::seconds idle_;
  ExchangeObserver& observer_;
  SteadyTime last_traffic_{};
  std::unique_ptr<Timer> timer_;
};

// The bytes of a message head: start line, fields, blank line. Written by
// hand for the common cases (a request without a body, a response whose
// whole body is at hand): Beast's serializer walks nested buffer views on
// every write, which measured as the largest user-space cost of a relay.
std::string RequestHead(const http::request<http::buffer_body>& req) {
  std::string head;
  head.reserve(512);
  head.append(req.method_string()).append(" ").append(req.target());
  head += req.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
  for (const auto& field : req) {
    head.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  }
  head += "\r\n";
  return head;
}

std::string ResponseHead(const http::response<http::buffer_body>& res) {
  std::string head;
  head.reserve(512);
  head += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head += std::to_string(res.result_int());
  head.append(" ").append(res.reason()).append("\r\n");
  for (const auto& field : res) {
    head.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  }
  head += "\r\n";
  return head;
}

// A relay buffer, not zeroed.
std::unique_ptr<char[]> RelayBuffer(size_t bytes) { return std::unique_ptr<char[]>(new char[bytes]); }

// Sends what was read past the headers (the first frames) before tunnelling.
template <class To>
net::awaitable<bool> Flush(beast::flat_buffer& from, To& to) {
  if (from.size() == 0) co_return true;
  auto [ec, n] = co_await net::async_write(to, from.data(), kNoThrow);
  from.consume(from.size());
  co_return !ec;
}

// Every stream operation below is preceded by its own expires_after: a
// deadline is never left over from an earlier operation, so none is reset
// after one (two timer calls per operation saved on the hot path).

// Relays the request: head and body, client -> sandbox.
template <class Up>
net::awaitable<void> RelayRequest(beast::tcp_stream& client, beast::flat_buffer& client_buffer,
                                  ExchangeRequest& request, Up& up, const ExchangeOptions& options,
                                  ExchangeObserver& observer, ExchangeResult& result) {
  auto& parser = request.parser;
  auto& msg = parser.get();
  http::request_serializer<http::buffer_body> sr{msg};
  auto& up_tcp = beast::get_lowest_layer(up);
  if (parser.is_done()) {
    // No body: the head alone (a chunked head would otherwise gain a last chunk).
    const std::string head = RequestHead(msg);
    up_tcp.expires_after(options.upstream_timeout);
    auto [ec, n] = co_await net::async_write(up, net::buffer(head), kNoThrow);
    result.request_started = n > 0;
    if (ec) {
      result.outcome = ExchangeOutcome::kNoResponse;
      result.timed_out = ec == beast::error::timeout;
      result.error = "write request: " + ec.message();
    }
    co_return;
  }
  if (request.expect_continue) {
    client.expires_after(options.client_timeout);
    auto [ec, n] = co_await net::async_write(client, net::buffer(kContinue, sizeof(kContinue) - 1),
                                             kNoThrow);
    if (ec) {
      result.outcome = ExchangeOutcome::kBroken;
      result.error = "write 100 Continue: " + ec.message();
      co_return;
    }
  }
  auto buf = RelayBuffer(options.relay_buffer_bytes);
  // Beast reads at most the buffer's free capacity (512 bytes at least): a
  // buffer sized for heads would move a large body a few hundred bytes at a time.
  client_buffer.reserve(options.relay_buffer_bytes);
  do {
    if (!parser.is_done()) {
      msg.body().data = buf.get();
      msg.body().size = options.relay_buffer_bytes;
      client.expires_after(options.client_timeout);
      auto [ec, n] = co_await http::async_read_some(client, client_buffer, parser, kNoThrow);
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::body_limit) {
        result.outcome = ExchangeOutcome::kTooLarge;
        co_return;
      }
      if (ec) {
        result.outcome = ExchangeOutcome::kBroken;
        result.error = "read request body: " + ec.message();
        co_return;
      }
      msg.body().size = options.relay_buffer_bytes - msg.body().size;
      // No bytes yet (only a chunk header): no buffer at all, for a
      // zero-size buffer would be serialized as the last chunk.
      msg.body().data = msg.body().size > 0 ? buf.get() : nullptr;
      msg.body().more = !parser.is_done();
      if (msg.body().size > 0) observer.Traffic();
    } else {
      msg.body().data = nullptr;
      msg.body().size = 0;
      msg.body().more = false;
    }
    up_tcp.expires_after(options.upstream_timeout);
    auto [ec, n] = co_await http::async_write(up, sr, kNoThrow);
    if (n > 0) result.request_started = true;
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      result.outcome = result.request_started ? ExchangeOutcome::kBroken
                                              : ExchangeOutcome::kNoResponse;
      result.timed_out = ec == beast::error::timeout;
      result.error = "write request: " + ec.message();
      co_return;
    }
  } while (!parser.is_done() || !sr.is_done());
}

// Relays the response, sandbox -> client: the head, then the body piece by
// piece; a complete small answer goes out in one write.
template <class Up>
net::awaitable<void> RelayResponse(beast::tcp_stream& client, Up& up,
                                   beast::flat_buffer& up_buffer,
                                   http::response_parser<http::buffer_body>& parser,
                                   const ExchangeOptions& options, ExchangeObserver& observer,
                                   ExchangeResult& result) {
  auto& msg = parser.get();
  auto& up_tcp = beast::get_lowest_layer(up);
  const auto fail_client = [&](const beast::error_code& ec) {
    result.outcome = ExchangeOutcome::kBroken;
    result.error = "write response: " + ec.message();
  };
  if (parser.is_done()) {
    // No body (HEAD, 204, 304, Content-Length: 0): the head alone.
    const std::string head = ResponseHead(msg);
    client.expires_after(options.client_timeout);
    auto [ec, n] = co_await net::async_write(client, net::buffer(head), kNoThrow);
    if (ec) fail_client(ec);
    co_return;
  }
  http::response_serializer<http::buffer_body> sr{msg};
  bool sent = false;
  if (up_buffer.size() == 0) {
    // No body bytes at hand (an event stream, a slow first byte): send the
    // head now rather than with the first piece.
    client.expires_after(options.client_timeout);
    auto [ec, n] = co_await http::async_write_header(client, sr, kNoThrow);
    if (ec) co_return fail_client(ec);
    sent = true;
  }
  auto buf = RelayBuffer(options.relay_buffer_bytes);
  up_buffer.reserve(options.relay_buffer_bytes);  // see RelayRequest
  do {
    if (!parser.is_done()) {
      msg.body().data = buf.get();
      msg.body().size = options.relay_buffer_bytes;
      up_tcp.expires_after(options.upstream_timeout);
      auto [ec, n] = co_await http::async_read_some(up, up_buffer, parser, kNoThrow);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        result.outcome = sent ? ExchangeOutcome::kBroken : ExchangeOutcome::kNoResponse;
        result.timed_out = ec == beast::error::timeout;
        result.error = "read response body: " + ec.message();
        co_return;
      }
      msg.body().size = options.relay_buffer_bytes - msg.body().size;
      // No bytes yet (only a chunk header): no buffer at all, for a
      // zero-size buffer would be serialized as the last chunk.
      msg.body().data = msg.body().size > 0 ? buf.get() : nullptr;
      msg.body().more = !parser.is_done();
      if (msg.body().size > 0) observer.Traffic();
      if (!sent && parser.is_done() && !msg.chunked()) {
        // The whole answer is at hand: head and body in one write.
        const std::string head = ResponseHead(msg);
        const std::array<net::const_buffer, 2> both{net::buffer(head),
                                                    net::buffer(buf.get(), msg.body().size)};
        client.expires_after(options.client_timeout);
        auto [wec, w] = co_await net::async_write(client, both, kNoThrow);
        if (wec) fail_client(wec);
        co_return;
      }
    } else {
      msg.body().data = nullptr;
      msg.body().size = 0;
      msg.body().more = false;
    }
    client.expires_after(options.client_timeout);
    auto [wec, w] = co_await http::async_write(client, sr, kNoThrow);
    if (w > 0) sent = true;
    if (wec == http::error::need_buffer) wec = {};
    if (wec) co_return fail_client(wec);
  } while (!parser.is_done() || !sr.is_done());
}

}  // namespace

template <class Up>
net::awaitable<ExchangeResult> Exchange(Clock& clock, beast::tcp_stream& client,
                                        beast::flat_buffer& client_buffer, ExchangeRequest& request,
                                        Up& up, beast::flat_buffer& up_buffer,
                                        const ExchangeOptions& options,
                                        ExchangeObserver& observer) {
  ExchangeResult result;
  const bool body = !request.parser.is_done();
  if (body) observer.ReadingBody(true);
  co_await RelayRequest(client, client_buffer, request, up, options, observer, result);
  if (body) observer.ReadingBody(false);
  if (result.outcome != ExchangeOutcome::kDone) co_return result;

  // The sandbox's head; interim 1xx answers (100, 103) are dropped.
  std::optional<http::response_parser<http::buffer_body>> parser;
  auto& up_tcp = beast::get_lowest_layer(up);
  for (;;) {
    parser.emplace();
    parser->header_limit(static_cast<uint32_t>(options.max_response_header_bytes));
    parser->body_limit(boost::none);
    if (request.head) parser->skip(true);
    up_tcp.expires_after(options.upstream_timeout);
    auto [ec, n] = co_await http::async_read_header(up, up_buffer, *parser, kNoThrow);
    if (ec) {
      result.outcome = ExchangeOutcome::kNoResponse;
      result.timed_out = ec == beast::error::timeout;
      result.error = "read response: " + ec.message();
      co_return result;
    }
    const int code = parser->get().result_int();
    if (code < 100 || code >= 200 || code == 101) break;
  }
  auto& res = parser->get();
  result.status = res.result_int();

  if (result.status == 101) {
    if (!request.upgrade) {
      result.outcome = ExchangeOutcome::kNoResponse;
      result.error = "the sandbox switched protocols without being asked";
      co_return result;
    }
    PrepareClientResponse(res, {.version = request.client_version, .upgrade = true});
    http::response_serializer<http::buffer_body> sr{res};
    client.expires_after(options.client_timeout);
    auto [ec, n] = co_await http::async_write_header(client, sr, kNoThrow);
    if (ec || !co_await Flush(client_buffer, up) || !co_await Flush(up_buffer, client)) {
      result.outcome = ExchangeOutcome::kBroken;
      result.error = "start tunnel: " + (ec ? ec.message() : std::string("write failed"));
      co_return result;
    }
    client_buffer.shrink_to_fit();
    up_buffer.shrink_to_fit();
    observer.TunnelOpened();
    Tunnel<Up> tunnel(clock, client, up, options.tunnel_idle_timeout, observer);
    co_await tunnel.Run();
    observer.TunnelClosed();
    result.outcome = ExchangeOutcome::kTunnelled;
    co_return result;
  }

  const bool upstream_keep_alive = res.keep_alive();
  const bool until_eof = !parser->is_done() && !parser->content_length() && !parser->chunked();
  PrepareClientResponse(res, {.version = request.client_version,
                              .keep_alive = request.client_keep_alive,
                              .body_until_eof = until_eof});
  result.keep_client = res.keep_alive();
  co_await RelayResponse(client, up, up_buffer, *parser, options, observer, result);
  if (result.outcome != ExchangeOutcome::kDone) {
    result.keep_client = false;
    co_return result;
  }
  result.keep_upstream = upstream_keep_alive && !until_eof;
  // An idle keep-alive connection keeps only small buffers.
  if (client_buffer.capacity() > kIdleBufferBytes) client_buffer.shrink_to_fit();
  if (up_buffer.capacity() > kIdleBufferBytes) up_buffer.shrink_to_fit();
  co_return result;
}

template net::awaitable<ExchangeResult> Exchange<beast::tcp_stream>(
    Clock&, beast::tcp_stream&, beast::flat_buffer&, ExchangeRequest&, beast::tcp_stream&,
    beast::flat_buffer&, const ExchangeOptions&, ExchangeObserver&);
template net::awaitable<ExchangeResult> Exchange<TlsStream>(Clock&, beast::tcp_stream&,
                                                            beast::flat_buffer&, ExchangeRequest&,
                                                            TlsStream&, beast::flat_buffer&,
                                                            const ExchangeOptions&,
                                                            ExchangeObserver&);

}  // namespace sbx::gateway
