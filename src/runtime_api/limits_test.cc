#include "runtime_api/limits.h"

#include <gtest/gtest.h>

#include <string>

namespace sbx::runtime_api {
namespace {

namespace json = boost::json;

TEST(LimitsTest, TemplateIds) {
  for (const char* id : {"hello", "base", "team/hello:v2", "a.b_c-d"}) {
    EXPECT_TRUE(ValidateTemplateId(id).ok()) << id;
  }
  for (const std::string& id : {std::string(), std::string(129, 'a'), std::string("a b"),
                                std::string("a\nb"), std::string("x?y"), std::string("é")}) {
    EXPECT_EQ(ValidateTemplateId(id).code(), StatusCode::kInvalidArgument) << id;
  }
}

TEST(LimitsTest, E2bMetadataKeysAreTextWithinCoresLimits) {
  // E2B keys are arbitrary text.
  EXPECT_TRUE(ValidateE2bMetadata({{"userId", "1"},
                                   {"user id", "2"},
                                   {"app/owner", "3"},
                                   {"ключ", "4"},
                                   {"projectId", ""}})
                  .ok());
  EXPECT_FALSE(ValidateE2bMetadata({{"", "x"}}).ok());
  EXPECT_FALSE(ValidateE2bMetadata({{std::string(65, 'k'), "x"}}).ok());
  EXPECT_FALSE(ValidateE2bMetadata({{"a\tb\n", "x"}}).ok());
  EXPECT_FALSE(ValidateE2bMetadata({{"\xff", "x"}}).ok());
  // Values and sizes as core::ValidateMetadata.
  EXPECT_TRUE(ValidateE2bMetadata({{"k", std::string(1024, 'v')}}).ok());
  EXPECT_FALSE(ValidateE2bMetadata({{"k", std::string(1025, 'v')}}).ok());
  EXPECT_FALSE(ValidateE2bMetadata({{"k", "a\x01"}}).ok());
  core::Metadata many;
  for (int i = 0; i < 33; ++i) many["k" + std::to_string(i)] = "v";
  EXPECT_EQ(ValidateE2bMetadata(many).message(), "metadata has 33 entries; at most 32 are allowed");
  core::Metadata large;
  for (int i = 0; i < 9; ++i) large["k" + std::to_string(i)] = std::string(1000, 'v');
  EXPECT_FALSE(ValidateE2bMetadata(large).ok());
}

e2b::NewSandbox Body(const char* text) {
  return *e2b::ParseNewSandbox(json::parse(text));
}

TEST(LimitsTest, WhatTheLocalRuntimeHonours) {
  for (const char* ok : {
           R"({"templateID":"t"})",
           R"({"templateID":"t","secure":true,"allow_internet_access":true})",
           R"({"templateID":"t","autoPause":true,"autoResume":{"enabled":true}})",
           R"({"templateID":"t","autoPause":true,"autoPauseMemory":true})",
           R"({"templateID":"t","envVars":{},"volumeMounts":[],"mcp":null})",
           R"({"templateID":"t","iam":{"tokens":{}}})",
           R"({"templateID":"t","network":{"allowPublicTraffic":true,"denyOut":["0.0.0.0/0"]}})",
       }) {
    EXPECT_TRUE(CheckCreateSupported(Body(ok)).ok()) << ok << ": "
                                                     << CheckCreateSupported(Body(ok)).message();
  }
  for (const char* refused : {
           R"({"templateID":"t","envVars":{"A":"1"}})",
           R"({"templateID":"t","volumeMounts":[{"name":"v","path":"/v"}]})",
           R"({"templateID":"t","mcp":{}})",
           R"({"templateID":"t","iam":{"tokens":{"a":{"audience":"x","tokenType":"JWT-SVID"}}}})",
           R"({"templateID":"t","autoPause":true,"autoPauseMemory":false})",
           R"({"templateID":"t","autoResume":{"enabled":true}})",
           R"({"templateID":"t","autoPause":false,"autoResume":{"enabled":true}})",
           R"({"templateID":"t","network":{"allowPublicTraffic":false}})",
           R"({"templateID":"t","network":{"allowOut":["1.1.1.1"]}})",
           R"({"templateID":"t","network":{"denyOut":["10.0.0.0/8"]}})",
           R"({"templateID":"t","network":{"maskRequestHost":"x"}})",
           R"({"templateID":"t","network":{"egressProxy":{"address":"p:1"}}})",
           R"({"templateID":"t","network":{"rules":{}}})",
           R"({"templateID":"t","network":{"httpsPorts":[443]}})",
           R"({"templateID":"t","allow_internet_access":true,"network":{"denyOut":["0.0.0.0/0"]}})",
       }) {
    EXPECT_EQ(CheckCreateSupported(Body(refused)).code(), StatusCode::kInvalidArgument) << refused;
  }
}

TEST(LimitsTest, RequestedInternetAccess) {
  EXPECT_EQ(RequestedInternetAccess(Body(R"({"templateID":"t"})")), std::nullopt);
  EXPECT_EQ(RequestedInternetAccess(Body(R"({"templateID":"t","allow_internet_access":true})")),
            true);
  EXPECT_EQ(RequestedInternetAccess(Body(R"({"templateID":"t","allow_internet_access":false})")),
            false);
  EXPECT_EQ(RequestedInternetAccess(Body(R"({"templateID":"t","network":{"denyOut":["0.0.0.0/0"]}})")),
            false);
}

}  // namespace
}  // namespace sbx::runtime_api
