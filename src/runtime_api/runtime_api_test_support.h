// Shared by the RuntimeApi unit tests: the RuntimeApiTest fixture on
// testing::Harness. Included only by this directory's *_test.cc files.
#pragma once

#include "runtime_api/runtime_api.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "e2b/signature.h"
#include "e2b/webhook_event.h"
#include "runtime_api/limits.h"
#include "runtime_api/testing/harness.h"
#include "runtime_api/wire.h"

namespace sbx::runtime_api {

using namespace std::chrono_literals;

using testing::Harness;
using V = http::verb;
namespace json = boost::json;

inline std::string Str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : ""; }

class RuntimeApiTest : public ::testing::Test {
 protected:
  http_server::Response Call(V method, const std::string& target, std::string body = "",
                             bool auth = true,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    return h_.Call(method, target, std::move(body), auth, std::move(headers));
  }
  static json::value Json(const http_server::Response& r) { return Harness::Json(r); }
  std::string Create(const std::string& body = R"({"templateID":"hello"})") {
    return h_.Create(body);
  }
  // Registers a webhook for every event type; returns its id.
  std::string Subscribe(const std::string& events = "[]") {
    auto r = Call(V::post, "/events/webhooks",
                  R"({"name":"sink","url":"http://127.0.0.1:9999/hook","events":)" + events +
                      R"(,"signatureSecret":"shh"})");
    EXPECT_EQ(r.result(), http::status::created) << r.body();
    return std::string(Json(r).at("id").as_string());
  }
  // Bodies of the webhook deliveries so far, parsed.
  std::vector<json::object> Deliveries() {
    std::vector<json::object> out;
    for (const auto& s : h_.client.sent()) {
      if (s.port == 9999) out.push_back(json::parse(s.request.body()).as_object());
    }
    return out;
  }
  std::string MessageOf(const http_server::Response& r) {
    return std::string(Json(r).at("message").as_string());
  }

  Harness h_;
};

}  // namespace sbx::runtime_api
