// Test harness for the runtime API: FakeClock, an inline BlockingPool,
// FakeProvider, FakeHttpClient and FakeResolver wired into a RuntimeServer, plus Call() to
// run one request through the router like the Server does. Test-only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "base/testing/fake_clock.h"
#include "base/testing/run_sync.h"
#include "http/router.h"
#include "http/testing/call_route.h"
#include "provider/testing/fake_provider.h"
#include "runtime_api/runtime_api.h"
#include "runtime_api/testing/fake_http_client.h"
#include "base/testing/fake_resolver.h"

namespace sbx::runtime_api::testing {

inline constexpr char kApiKey[] = "e2b_0123456789abcdef";

using sbx::testing::RunSync;

struct Harness {
  explicit Harness(RuntimeOptions options = DefaultOptions()) {
    server = std::make_unique<RuntimeServer>(io.get_executor(), clock, pool, provider, client,
                                             resolver, ids, metrics, std::move(options));
    Status loaded = server->Load();
    if (!loaded.ok()) std::abort();
    server->Register(router);
    server->Start();
    Drain();
  }
  ~Harness() {
    server->Stop();
    Drain();
  }

  static RuntimeOptions DefaultOptions() {
    RuntimeOptions o;
    o.api_key = kApiKey;
    o.delivery.backoff = std::chrono::milliseconds(100);
    o.webhook_targets.allow_private = true;  // the tests' receivers are on 127.0.0.1
    return o;
  }

  void Drain() {
    io.restart();
    io.poll();
  }

  // One request through the router (or its fallback), with the API key unless
  // `auth` is false. Extra headers as name/value pairs.
  http_server::Response Call(http::verb method, const std::string& target, std::string body = "",
                             bool auth = true,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    http_server::Request req{method, target, 11};
    req.set(http::field::host, "127.0.0.1:3000");
    if (auth) req.set("X-API-Key", kApiKey);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    auto res = RunSync(io, http_server::testing::CallRoute(router, req));
    Drain();
    return res;
  }

  static boost::json::value Json(const http_server::Response& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body(), ec);
    return ec ? boost::json::value() : v;
  }

  // Creates a sandbox through the API and returns its id.
  std::string Create(const std::string& body = R"({"templateID":"hello"})") {
    auto r = Call(http::verb::post, "/sandboxes", body);
    if (r.result() != http::status::created) return "";
    return std::string(Json(r).at("sandboxID").as_string());
  }

  net::io_context io;
  FakeClock clock;
  BlockingPool pool{{.threads = 0}};
  provider::FakeProvider provider;
  FakeHttpClient client;
  FakeResolver resolver;
  IdGenerator ids{7};
  Metrics metrics;
  http_server::Router router;
  std::unique_ptr<RuntimeServer> server;
};

}  // namespace sbx::runtime_api::testing
