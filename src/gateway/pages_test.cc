#include "gateway/pages.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sbx::gateway {
namespace {

TEST(PagesTest, WakingPageRetriesByItselfAndSaysRetryAfter) {
  auto res = MakeAnswer(AnswerKind::kWaking, {.sandbox_id = "sbx1", .message = "sbx1 is PAUSED",
                                              .retry_after = std::chrono::seconds(3)},
                        11, true, false);
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res[http::field::retry_after], "3");
  EXPECT_EQ(res["X-Sandboxd-Preview"], "waking");
  EXPECT_EQ(res[http::field::cache_control], "no-store");
  EXPECT_NE(res[http::field::content_type].find("text/html"), std::string::npos);
  EXPECT_NE(res.body().find("Waking up"), std::string::npos);
  EXPECT_NE(res.body().find("fetch(location.href"), std::string::npos);
  EXPECT_NE(res.body().find("http-equiv=\"refresh\" content=\"3\""), std::string::npos);
  EXPECT_TRUE(res.keep_alive());
}

TEST(PagesTest, JsonErrorsHaveTheApiShape) {
  auto res = MakeAnswer(AnswerKind::kDeadline, {.sandbox_id = "sbx1", .message = "still waking"},
                        11, false, true);
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res[http::field::retry_after], "2");
  EXPECT_FALSE(res.keep_alive());
  auto v = boost::json::parse(res.body());
  EXPECT_EQ(v.at("error").at("code"), "unavailable");
  EXPECT_EQ(v.at("error").at("message"), "still waking");
  EXPECT_EQ(v.at("error").at("sandboxId"), "sbx1");
}

TEST(PagesTest, GonePageSaysHowToStartAgainAndEscapes) {
  auto res = MakeAnswer(AnswerKind::kGone,
                        {.sandbox_id = "sbx1", .project_id = "demo", .message = "<b>killed</b>"},
                        11, true, false);
  EXPECT_EQ(res.result(), http::status::gone);
  EXPECT_EQ(res.count(http::field::retry_after), 0u);
  EXPECT_NE(res.body().find("sandboxctl wake demo"), std::string::npos);
  EXPECT_NE(res.body().find("/api/projects/demo/sandbox/wake"), std::string::npos);
  EXPECT_NE(res.body().find("&lt;b&gt;killed"), std::string::npos);
  EXPECT_EQ(res.body().find("<b>killed"), std::string::npos);
}

TEST(PagesTest, StatusesOfEveryKind) {
  EXPECT_EQ(AnswerStatus(AnswerKind::kNotFound), http::status::not_found);
  EXPECT_EQ(AnswerStatus(AnswerKind::kBadHost), http::status::bad_request);
  EXPECT_EQ(AnswerStatus(AnswerKind::kUnauthorized), http::status::unauthorized);
  EXPECT_EQ(AnswerStatus(AnswerKind::kTooLarge), http::status::payload_too_large);
  EXPECT_EQ(AnswerStatus(AnswerKind::kBadGateway), http::status::bad_gateway);
  EXPECT_EQ(AnswerStatus(AnswerKind::kGatewayTimeout), http::status::gateway_timeout);
  EXPECT_EQ(AnswerStatus(AnswerKind::kWakeFailed), http::status::service_unavailable);
  auto shutdown = MakeAnswer(AnswerKind::kShutdown, {}, 10, false, true);
  EXPECT_EQ(shutdown.version(), 10u);
  EXPECT_EQ(shutdown.count(http::field::retry_after), 0u);
}

}  // namespace
}  // namespace sbx::gateway
