// The request path of one connection over beast::test::stream: the exact
// bytes written, keep-alive and pipelining, HEAD, HTTP/1.0, limits, guards
// that refuse before the body is read, streams and draining. No sockets.
#include "http/connection.h"

#include <gtest/gtest.h>

#include <boost/beast/_experimental/test/stream.hpp>

#include "base/testing/fake_clock.h"

namespace sbx::http_server {
namespace {

using TestStream = beast::test::stream;

class FakeHost final : public ConnectionHost {
 public:
  bool draining() const override { return draining_; }
  void Count(std::string_view route, int code, std::optional<double>) override {
    counted.emplace_back(std::string(route), code);
  }
  bool draining_ = false;
  std::vector<std::pair<std::string, int>> counted;
};

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add(http::verb::get, "/items/{id}", [](RequestContext& ctx) -> net::awaitable<Response> {
      co_return JsonResponse(ctx.request, http::status::ok, "{\"id\":\"" + ctx.params["id"] + "\"}");
    });
    router_.Add(http::verb::post, "/items/{id}", [](RequestContext& ctx) -> net::awaitable<Response> {
      co_return JsonResponse(ctx.request, http::status::created,
                             "{\"bytes\":" + std::to_string(ctx.request.body().size()) + "}");
    });
    router_.Add(
        http::verb::post, "/guarded",
        [this](RequestContext& ctx) -> net::awaitable<Response> {
          ++guarded_handled_;
          co_return JsonResponse(ctx.request, http::status::ok, "{}");
        },
        [this](RequestContext& ctx) -> net::awaitable<std::optional<Response>> {
          guard_saw_body_bytes_ = ctx.request.body().size();
          if (ctx.request["Authorization"] == "yes") co_return std::nullopt;
          co_return ErrorResponse(ctx.request, http::status::unauthorized, "unauthenticated",
                                  "no");
        });
    // A route with its own body limit, below the server's 64 bytes.
    router_.Add(
        http::verb::post, "/small",
        [](RequestContext& ctx) -> net::awaitable<Response> {
          co_return JsonResponse(ctx.request, http::status::ok,
                                 "{\"bytes\":" + std::to_string(ctx.request.body().size()) + "}");
        },
        nullptr, /*max_body=*/8);
    router_.AddStream(
        http::verb::get, "/events", nullptr,
        [this](RequestContext&, StreamWriter& w) -> net::awaitable<void> {
          ++streams_served_;
          (void)co_await w.Write("data: one\n\n");
          (void)co_await w.Write("data: two\n\n");
        });
    router_.SetFallback([](RequestContext& ctx) -> net::awaitable<Response> {
      co_return ErrorResponse(ctx.request, http::status::not_found, "not_found", "fallback");
    });
  }

  // Starts the connection on the server end; the test writes to client_.
  void Start() {
    net::co_spawn(
        io_,
        [this]() -> net::awaitable<void> {
          Connection<TestStream> c(server_, router_, clock_, options_, host_, state_);
          co_await c.Run();
          finished_ = true;
        },
        net::detached);
    Run();
  }
  void Send(std::string_view bytes) {
    net::write(client_, net::buffer(bytes));
    Run();
  }
  void Run() {
    io_.restart();
    io_.poll();
  }
  // Everything the server wrote so far.
  std::string Received() const { return client_.str(); }

  net::io_context io_;
  TestStream server_{io_};
  TestStream client_{io_};
  FakeClock clock_;
  Router router_;
  ServerOptions options_{.max_body_bytes = 64, .max_header_bytes = 256};
  FakeHost host_;
  ConnectionState state_;
  bool finished_ = false;
  int guarded_handled_ = 0;
  int streams_served_ = 0;
  size_t guard_saw_body_bytes_ = 99;

  void TearDown() override {
    client_.close();
    Run();
  }

 public:
  ConnectionTest() { server_.connect(client_); }
};

TEST_F(ConnectionTest, WritesCompleteResponsesOnOneKeptAliveConnection) {
  Start();
  Send("GET /items/a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Received(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
            "Content-Length: 10\r\n\r\n{\"id\":\"a\"}");
  client_.clear();
  // Pipelined: both answered, in order, HEAD without a body.
  Send("HEAD /items/b HTTP/1.1\r\nHost: x\r\n\r\nPOST /items/c HTTP/1.1\r\nHost: x\r\n"
       "Content-Length: 3\r\n\r\nabc");
  EXPECT_EQ(Received(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
            "Content-Length: 10\r\n\r\n"
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
            "Content-Length: 11\r\n\r\n{\"bytes\":3}");
  EXPECT_FALSE(finished_);
  EXPECT_EQ(host_.counted, (std::vector<std::pair<std::string, int>>{
                               {"/items/{id}", 200}, {"/items/{id}", 200}, {"/items/{id}", 201}}));
}

TEST_F(ConnectionTest, HttpOneZeroIsClosedAfterTheResponse) {
  Start();
  Send("GET /items/z HTTP/1.0\r\n\r\n");
  EXPECT_EQ(Received().rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << Received();
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, AGuardRefusesBeforeTheBodyIsRead) {
  Start();
  // A head announcing a body the client never sends: the refusal must not
  // wait for it, and must close the connection instead of reading it.
  Send("POST /guarded HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nonly-some");
  EXPECT_EQ(Received().rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << Received();
  EXPECT_NE(Received().find("Connection: close\r\n"), std::string::npos) << Received();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(guard_saw_body_bytes_, 0u);
  EXPECT_EQ(guarded_handled_, 0);
}

TEST_F(ConnectionTest, AGuardThatAgreesLetsTheBodyBeRead) {
  Start();
  Send("POST /guarded HTTP/1.1\r\nHost: x\r\nAuthorization: yes\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ(Received(), "");  // waiting for the body
  Send("body");
  EXPECT_EQ(Received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << Received();
  EXPECT_EQ(guarded_handled_, 1);
  EXPECT_FALSE(finished_);
}

TEST_F(ConnectionTest, LimitsAndMalformedRequestsGetAClearAnswerAndClose) {
  Start();
  Send("POST /items/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
  EXPECT_EQ(Received().rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << Received();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(host_.counted.back(), (std::pair<std::string, int>{"rejected", 413}));
}

TEST_F(ConnectionTest, OversizedHeadsGet431) {
  Start();
  Send("GET /items/a HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(400, 'y') + "\r\n\r\n");
  EXPECT_EQ(Received().rfind("HTTP/1.1 431 ", 0), 0u) << Received();
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, MalformedTargetsGet400) {
  Start();
  Send("GET /items/%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Received().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << Received();
  EXPECT_EQ(host_.counted.back(), (std::pair<std::string, int>{"bad_target", 400}));
}

TEST_F(ConnectionTest, OtherMethodsGet405AndUnknownPathsTheFallback) {
  Start();
  Send("DELETE /items/a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Received().rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << Received();
  EXPECT_NE(Received().find("\r\nAllow: "), std::string::npos) << Received();
  client_.clear();
  Send("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(Received().find("fallback"), std::string::npos) << Received();
  EXPECT_EQ(host_.counted, (std::vector<std::pair<std::string, int>>{
                               {"method_not_allowed", 405}, {"fallback", 404}}));
}

// Nobody's body is held for an answer that does not need it: a 405, and a
// fallback that answers from the head, are sent without reading the body
// the head announced, and the connection closes.
TEST_F(ConnectionTest, A405IsAnsweredWithoutReadingTheBody) {
  Start();
  Send("DELETE /items/a HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nonly-some");
  EXPECT_EQ(Received().rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << Received();
  EXPECT_NE(Received().find("Connection: close\r\n"), std::string::npos) << Received();
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, AHeadOnlyFallbackAnswersWithoutReadingTheBody) {
  router_.SetFallback(
      [](RequestContext& ctx) -> net::awaitable<Response> {
        co_return ErrorResponse(ctx.request, http::status::not_found, "not_found", "fallback");
      },
      /*reads_body=*/false);
  Start();
  Send("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\nonly-some");
  EXPECT_EQ(Received().rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << Received();
  EXPECT_NE(Received().find("Connection: close\r\n"), std::string::npos) << Received();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(host_.counted.back(), (std::pair<std::string, int>{"fallback", 404}));
}

TEST_F(ConnectionTest, AFallbackGuardRefusesBeforeTheBodyIsRead) {
  router_.SetFallback(
      [](RequestContext& ctx) -> net::awaitable<Response> {
        co_return JsonResponse(ctx.request, http::status::ok, "{}");
      },
      /*reads_body=*/true,
      [](RequestContext& ctx) -> net::awaitable<std::optional<Response>> {
        if (ctx.request["Authorization"] == "yes") co_return std::nullopt;
        co_return ErrorResponse(ctx.request, http::status::unauthorized, "unauthenticated", "no");
      });
  Start();
  Send("POST /nowhere HTTP/1.1\r\nHost: x\r\nAuthorization: yes\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ(Received(), "");  // allowed: waiting for the body
  Send("body");
  EXPECT_EQ(Received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << Received();
  client_.clear();
  Send("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\nonly-some");
  EXPECT_EQ(Received().rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << Received();
  EXPECT_TRUE(finished_);
  EXPECT_EQ(host_.counted.back(), (std::pair<std::string, int>{"fallback", 401}));
}

// A route for small bodies from anyone (a webhook, sign-in) refuses a larger
// one by its Content-Length before reading it, and a chunked one as it comes.
TEST_F(ConnectionTest, ARoutesOwnBodyLimitIsBelowTheServers) {
  Start();
  Send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n12345678");
  EXPECT_NE(Received().find("{\"bytes\":8}"), std::string::npos) << Received();
  client_.clear();
  Send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\nonly-some");
  EXPECT_EQ(Received().rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << Received();
  EXPECT_NE(Received().find("larger than 8 bytes"), std::string::npos) << Received();
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, ARoutesOwnBodyLimitHoldsForChunkedBodies) {
  Start();
  Send("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "6\r\n123456\r\n6\r\n789012\r\n0\r\n\r\n");
  EXPECT_EQ(Received().rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << Received();
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, StreamsWriteChunksThenClose) {
  Start();
  Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string got = Received();
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Type: text/event-stream\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("data: one\n\n"), std::string::npos) << got;
  EXPECT_NE(got.find("data: two\n\n"), std::string::npos) << got;
  // The body ends with the last chunk, not just the close.
  EXPECT_TRUE(got.ends_with("\r\n0\r\n\r\n")) << got;
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, AHeadOnAStreamGetsTheHeadAlone) {
  Start();
  Send("HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string got = Received();
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Type: text/event-stream\r\n"), std::string::npos) << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\n")) << got;
  EXPECT_EQ(got.find("data:"), std::string::npos) << got;
  EXPECT_EQ(streams_served_, 0);  // no stream, so no viewer either
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, AnHttp10StreamIsNotChunkedAndEndsWithTheClose) {
  Start();
  Send("GET /events HTTP/1.0\r\n\r\n");
  const std::string got = Received();
  EXPECT_EQ(got.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << got;
  EXPECT_EQ(got.find("Transfer-Encoding"), std::string::npos) << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\ndata: one\n\ndata: two\n\n")) << got;
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, Expect100ContinueIsAnsweredOnceTheGuardAgrees) {
  Start();
  Send("POST /guarded HTTP/1.1\r\nHost: x\r\nAuthorization: yes\r\nExpect: 100-continue\r\n"
       "Content-Length: 4\r\n\r\n");
  EXPECT_EQ(Received(), "HTTP/1.1 100 Continue\r\n\r\n");
  client_.clear();
  Send("body");
  EXPECT_EQ(Received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << Received();
  EXPECT_EQ(guarded_handled_, 1);
  client_.clear();
  // Refused: the refusal is the answer, and no body is asked for.
  Send("POST /guarded HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ(Received().rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << Received();
  EXPECT_EQ(guarded_handled_, 1);
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, DrainingAnswersTheRequestInProgressThenCloses) {
  Start();
  host_.draining_ = true;
  Send("GET /items/a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(Received().find("Connection: close\r\n"), std::string::npos) << Received();
  EXPECT_TRUE(finished_);
}

TEST_F(ConnectionTest, StateSaysWhetherTheConnectionIsBusy) {
  Start();
  EXPECT_FALSE(state_.busy);  // waiting for a request: may be closed to make room
  Send("POST /guarded HTTP/1.1\r\nHost: x\r\nAuthorization: yes\r\nContent-Length: 4\r\n\r\n");
  EXPECT_TRUE(state_.busy);  // reading a body it agreed to
  Send("body");
  EXPECT_FALSE(state_.busy);
}

}  // namespace
}  // namespace sbx::http_server
