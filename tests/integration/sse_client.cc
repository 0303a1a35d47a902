#include "integration/sse_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <limits>

namespace sbx::integration {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

struct SseClient::Impl {
  uint16_t port;
  std::string target;
  std::string token;
  net::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  http::response_parser<http::string_body> parser;
  std::function<size_t(uint64_t, std::string_view, beast::error_code&)> on_chunk;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool head = false;  // the response head arrived
  int status = 0;
  std::string content_type;
  std::string error;    // set when the stream ended
  std::string pending;  // received text not yet split into frames
  std::vector<SseFrame> frames;

  void Fail(const std::string& why) {
    std::lock_guard lock(mu);
    if (error.empty()) error = why;
    cv.notify_all();
  }

  // Splits complete frames ("…\n\n") off `pending`. Called with `mu` held.
  void Split(SteadyClock::time_point now) {
    for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
      const std::string block = pending.substr(0, end);
      pending.erase(0, end + 2);
      SseFrame f;
      f.received = now;
      bool any = false;
      size_t start = 0;
      while (start <= block.size()) {
        size_t nl = block.find('\n', start);
        if (nl == std::string::npos) nl = block.size();
        const std::string line = block.substr(start, nl - start);
        start = nl + 1;
        if (line.empty() || line[0] == ':') continue;
        const size_t colon = line.find(':');
        const std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        if (field == "event") {
          f.event = value;
          any = true;
        } else if (field == "id") {
          int64_t v = -1;
          auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
          if (ec == std::errc() && p == value.data() + value.size()) f.id = v;
          any = true;
        } else if (field == "data") {
          if (!f.data.empty()) f.data += "\n";
          f.data += value;
          any = true;
        }
      }
      if (any) frames.push_back(std::move(f));
    }
  }

  void ReadBody() {
    http::async_read_some(socket, buffer, parser, [this](beast::error_code ec, size_t) {
      if (ec) {
        Fail("read: " + ec.message());
        return;
      }
      if (parser.is_done()) {
        Fail("the server ended the stream");
        return;
      }
      ReadBody();
    });
  }

  void Begin() {
    request = {http::verb::get, target, 11};
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    request.set(http::field::accept, "text/event-stream");
    request.set(http::field::authorization, "Bearer " + token);
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    on_chunk = [this](uint64_t, std::string_view body, beast::error_code&) {
      const auto now = SteadyClock::now();
      std::lock_guard lock(mu);
      pending.append(body.data(), body.size());
      Split(now);
      cv.notify_all();
      return body.size();
    };
    parser.on_chunk_body(on_chunk);
    socket.async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [this](beast::error_code ec) {
          if (ec) return Fail("connect: " + ec.message());
          http::async_write(socket, request, [this](beast::error_code wec, size_t) {
            if (wec) return Fail("write: " + wec.message());
            http::async_read_header(socket, buffer, parser, [this](beast::error_code hec, size_t) {
              if (hec) return Fail("read head: " + hec.message());
              {
                std::lock_guard lock(mu);
                head = true;
                status = static_cast<int>(parser.get().result_int());
                content_type = std::string(parser.get()[http::field::content_type]);
                cv.notify_all();
              }
              ReadBody();
            });
          });
        });
  }
};

SseClient::SseClient(uint16_t port, std::string target, std::string token)
    : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->target = std::move(target);
  impl_->token = std::move(token);
}

SseClient::~SseClient() { Stop(); }

::testing::AssertionResult SseClient::Start(std::chrono::milliseconds timeout) {
  if (thread_.joinable()) return ::testing::AssertionFailure() << "already started";
  impl_->Begin();
  thread_ = std::thread([impl = impl_.get()] { impl->io.run(); });
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait_for(lock, timeout, [&] { return impl_->head || !impl_->error.empty(); });
  if (!impl_->head) {
    return ::testing::AssertionFailure()
           << "GET " << impl_->target << " on port " << impl_->port << ": no response head ("
           << (impl_->error.empty() ? "timed out" : impl_->error) << ")";
  }
  if (impl_->status != 200 || impl_->content_type.rfind("text/event-stream", 0) != 0) {
    return ::testing::AssertionFailure()
           << "GET " << impl_->target << ": HTTP " << impl_->status << " " << impl_->content_type;
  }
  return ::testing::AssertionSuccess();
}

std::optional<SseFrame> SseClient::WaitForId(int64_t id, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  std::optional<SseFrame> found;
  impl_->cv.wait_for(lock, timeout, [&] {
    for (const SseFrame& f : impl_->frames) {
      if (f.id >= id) {
        found = f;
        return true;
      }
    }
    return !impl_->error.empty();
  });
  return found;
}

std::vector<SseFrame> SseClient::Frames() const {
  std::lock_guard lock(impl_->mu);
  return impl_->frames;
}

std::string SseClient::Error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->error;
}

void SseClient::Stop() {
  if (!thread_.joinable()) return;
  net::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ec;
    impl->socket.shutdown(tcp::socket::shutdown_both, ec);
    impl->socket.close(ec);
  });
  thread_.join();
}

}  // namespace sbx::integration
