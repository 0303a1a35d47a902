// The whole HTTP request path without sockets: bytes from a client into
// http_server::Connection over beast::test::stream (as in connection_test.cc),
// through head and body parsing, limits, target parsing, routing, a guard
// that refuses before the body, handlers, a streaming (SSE) route and the
// response writer. Input: the first byte sets the size of the pieces the
// client writes (so heads and bodies arrive split at every point); the rest
// is what it writes, then it closes.
// Invariants: everything the server writes starts with a status line; once the
// client has closed and the clock moved past every timeout, the connection
// has ended (no coroutine left waiting).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/_experimental/test/stream.hpp>

#include "base/testing/fake_clock.h"
#include "fuzz_check.h"
#include "http/connection.h"

namespace {

namespace hs = sbx::http_server;
namespace http = boost::beast::http;
namespace net = sbx::net;

class Host final : public hs::ConnectionHost {
 public:
  bool draining() const override { return false; }
  void Count(std::string_view, int, std::optional<double>) override {}
};

const hs::Router& TheRouter() {
  static const hs::Router* router = [] {
    auto* r = new hs::Router();
    r->Add(http::verb::get, "/items/{id}", [](hs::RequestContext& ctx) -> net::awaitable<hs::Response> {
      co_return hs::JsonResponse(ctx.request, http::status::ok,
                                 "{\"id\":\"" + ctx.params["id"] + "\"}");
    });
    r->Add(http::verb::post, "/items/{id}", [](hs::RequestContext& ctx) -> net::awaitable<hs::Response> {
      co_return hs::JsonResponse(ctx.request, http::status::created,
                                 "{\"bytes\":" + std::to_string(ctx.request.body().size()) + "}");
    });
    r->Add(
        http::verb::post, "/guarded/{id}",
        [](hs::RequestContext& ctx) -> net::awaitable<hs::Response> {
          co_return hs::JsonResponse(ctx.request, http::status::ok, std::string(ctx.request.body()));
        },
        [](hs::RequestContext& ctx) -> net::awaitable<std::optional<hs::Response>> {
          if (ctx.request[http::field::authorization] == "Bearer yes") co_return std::nullopt;
          co_return hs::ErrorResponse(ctx.request, http::status::unauthorized, "unauthenticated",
                                      "no");
        });
    r->AddStream(http::verb::get, "/events", nullptr,
                 [](hs::RequestContext& ctx, hs::StreamWriter& w) -> net::awaitable<void> {
                   if (!co_await w.Write("data: one\n\n")) co_return;
                   if (ctx.query.contains("follow")) co_await w.WaitClosed();
                   (void)co_await w.Write("data: " + ctx.path + "\n\n");
                 });
    r->SetFallback([](hs::RequestContext& ctx) -> net::awaitable<hs::Response> {
      co_return hs::ErrorResponse(ctx.request, http::status::not_found, "not_found", ctx.path);
    });
    return r;
  }();
  return *router;
}

// An io_context whose pending handlers (coroutine frames) can be destroyed
// while the streams they reference still exist.
struct Io : net::io_context {
  using net::io_context::shutdown;
};

struct World {
  Io io;
  boost::beast::test::stream server{io};
  boost::beast::test::stream client{io};
  sbx::FakeClock clock;
  hs::ServerOptions options{.max_body_bytes = 256, .max_header_bytes = 1024};
  Host host;
  hs::ConnectionState state;
  bool finished = false;

  World() { server.connect(client); }
  // Pending coroutine frames reference the streams: destroy them first.
  ~World() { io.shutdown(); }

  void Run() {
    io.restart();
    io.poll();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  World w;
  net::co_spawn(
      w.io,
      [&w]() -> net::awaitable<void> {
        hs::Connection<boost::beast::test::stream> c(w.server, TheRouter(), w.clock, w.options,
                                                     w.host, w.state);
        co_await c.Run();
        w.finished = true;
      },
      net::detached);
  w.Run();
  while (!input.empty() && !w.finished) {
    const std::string_view chunk = input.substr(0, piece);
    input.remove_prefix(chunk.size());
    boost::beast::error_code ec;
    net::write(w.client, net::buffer(chunk.data(), chunk.size()), ec);
    if (ec) break;
    w.Run();
  }
  const std::string out(w.client.str());
  if (!out.empty()) FUZZ_CHECK(out.starts_with("HTTP/1."));
  w.client.close();
  w.Run();
  sbx::AdvanceAndRun(w.io, w.clock, std::chrono::minutes(5));
  FUZZ_CHECK(w.finished);
  return 0;
}
