// Shared by the E2bProvider tests: canned E2B bodies, request inspectors and
// the E2bProviderTest fixture (FakeTransport, FakeSleeper, FakeClock).
// In the module namespace, not an anonymous one: gtest needs one fixture
// type for a suite across files. Included only by this directory's *_test.cc files.
#pragma once

#include "provider/e2b/e2b_provider.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "base/testing/fake_clock.h"
#include "provider/e2b/testing/fake_transport.h"

namespace sbx::provider::e2b {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kId[] = "i1a2b3c4d5e6f7g8h9j0k";
constexpr char kSandboxBody[] =
    R"({"sandboxID":"i1a2b3c4d5e6f7g8h9j0k","templateID":"rki5dems9wqfm4r03t7g",)"
    R"("clientID":"6532622b","envdVersion":"0.2.0","alias":"base","domain":null})";

inline std::string Detail(const std::string& id, const std::string& state,
                   const std::string& project = "p1") {
  return json::serialize(json::object{{"sandboxID", id},
                                      {"templateID", "rki5dems9wqfm4r03t7g"},
                                      {"alias", "base"},
                                      {"clientID", "6532622b"},
                                      {"startedAt", "2026-01-01T00:00:00.000Z"},
                                      {"endAt", "2026-01-01T01:00:00.000Z"},
                                      {"cpuCount", 2},
                                      {"memoryMB", 512},
                                      {"diskSizeMB", 1024},
                                      {"metadata", json::object{{"projectId", project}}},
                                      {"state", state},
                                      {"envdVersion", "0.2.0"},
                                      {"domain", nullptr}});
}

inline std::string ErrorBody(int code, const std::string& message) {
  return json::serialize(json::object{{"code", code}, {"message", message}});
}

inline json::value BodyOf(const HttpRequest& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  EXPECT_FALSE(ec) << r.body;
  return v;
}

inline std::optional<std::string> HeaderOf(const HttpRequest& r, const std::string& name) {
  for (const auto& [key, value] : r.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

class E2bProviderTest : public ::testing::Test {
 protected:
  E2bProviderTest() : transport_(&clock_) { Reset({}); }

  static E2bOptions DefaultOptions() {
    E2bOptions o;
    o.api_key = "e2b_0123abcd";
    o.api_url = "https://api.e2b.test/";
    o.domain = "e2b.test";
    return o;
  }
  // Rebuilds the provider with DefaultOptions() changed by `edit`.
  void Reset(const std::function<void(E2bOptions&)>& edit) {
    E2bOptions o = DefaultOptions();
    if (edit) edit(o);
    ASSERT_TRUE(ValidateE2bOptions(o).ok()) << ValidateE2bOptions(o).ToString();
    provider_ = std::make_unique<E2bProvider>(clock_, ids_, transport_, o);
  }
  HttpRequest OnlyRequest() {
    auto requests = transport_.requests();
    EXPECT_EQ(requests.size(), 1u);
    return requests.empty() ? HttpRequest{} : requests.front();
  }
  void ExpectCommonHeaders(const HttpRequest& r) {
    EXPECT_EQ(HeaderOf(r, "X-API-Key"), "e2b_0123abcd");
    EXPECT_EQ(HeaderOf(r, "Accept"), "application/json");
    EXPECT_EQ(r.timeout, 10s);
    if (!r.body.empty()) {
      EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
    }
  }

  FakeClock clock_;
  IdGenerator ids_{7};
  FakeTransport transport_;
  std::unique_ptr<E2bProvider> provider_;
};

// The request id Create put in the metadata of `r`, or "".
inline std::string RequestIdOf(const HttpRequest& r) {
  const json::value body = BodyOf(r);
  const json::value* metadata = body.is_object() ? body.as_object().if_contains("metadata") : nullptr;
  if (metadata == nullptr || !metadata->is_object()) return "";
  const json::value* id = metadata->as_object().if_contains(kCreateRequestIdKey);
  return id != nullptr && id->is_string() ? std::string(id->as_string()) : "";
}

}  // namespace sbx::provider::e2b
