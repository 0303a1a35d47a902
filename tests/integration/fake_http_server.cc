#include "integration/fake_http_server.h"

#include <boost/beast/core/flat_buffer.hpp>

namespace sbx::integration {

namespace asio = boost::asio;
namespace http = boost::beast::http;

FakeHttpServer::FakeHttpServer(Handler handler)
    : handler_(std::move(handler)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FakeHttpServer::~FakeHttpServer() {
  stopping_ = true;
  {  // unblock accept()
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
  }
  accept_thread_.join();
  std::lock_guard lock(mu_);
  for (auto& t : workers_) t.join();
}

void FakeHttpServer::AcceptLoop() {
  while (!stopping_) {
    asio::ip::tcp::socket socket(io_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    if (ec || stopping_) continue;
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
  }
}

void FakeHttpServer::Serve(asio::ip::tcp::socket socket) {
  boost::beast::flat_buffer buffer;
  Request req;
  boost::system::error_code ec;
  http::read(socket, buffer, req, ec);
  if (ec) return;
  Response res;
  res.version(11);
  res.keep_alive(false);
  res.result(http::status::ok);
  res.set(http::field::content_type, "application/json");
  handler_(req, res);
  res.prepare_payload();
  http::write(socket, res, ec);
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

}  // namespace sbx::integration
