// FakeHttpServer: a blocking HTTP/1.1 server on 127.0.0.1 (a free port) for
// the tests' fakes of other systems' APIs (E2B's). One thread per
// connection, one request per connection (Connection: close); the handler
// fills a JSON response and may block (a hanging API). The destructor stops
// accepting and waits for every handler to return, so declare the server
// after whatever its handler uses. Loopback only.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sbx::integration {

class FakeHttpServer {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  // Called on the connection's thread; `res` starts as 200 with
  // Content-Type: application/json and an empty body.
  using Handler = std::function<void(const Request& req, Response& res)>;

  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void AcceptLoop();
  void Serve(boost::asio::ip::tcp::socket socket);

  Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::thread accept_thread_;
};

}  // namespace sbx::integration
