#include "core/validation.h"

#include <gtest/gtest.h>

#include <string>

namespace sbx::core {
namespace {

TEST(ValidationTest, ProjectIds) {
  for (const std::string& good : {std::string("a"), std::string("demo"), std::string("A-b_c.d"),
                                  std::string("x.y"), std::string("..a"), std::string(128, 'p')}) {
    EXPECT_TRUE(ValidateProjectId(good).ok()) << good;
  }
  for (const std::string& bad :
       {std::string(), std::string(129, 'p'), std::string("."), std::string(".."),
        std::string("a/b"), std::string("a b"), std::string("ü"), std::string("a\nb")}) {
    auto s = ValidateProjectId(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ValidationTest, TemplateIds) {
  for (const std::string& good : {std::string("hello"), std::string("team/hello:v2"),
                                  std::string("a-b_c.d"), std::string(128, 't')}) {
    EXPECT_TRUE(ValidateTemplateId("template", good).ok()) << good;
  }
  for (const std::string& bad : {std::string(), std::string(129, 't'), std::string("a b"),
                                 std::string("a\nb"), std::string("ü")}) {
    auto s = ValidateTemplateId("template", bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("template"), std::string::npos) << s.message();
  }
}

TEST(ValidationTest, MetadataWithinTheLimits) {
  Metadata m{{"userId", "42"}, {"note", "héllo\tworld"}, {"empty", ""}};
  EXPECT_TRUE(ValidateMetadata(m).ok());
  EXPECT_TRUE(ValidateMetadata({}).ok());
  Metadata full;
  for (int i = 0; i < 32; ++i) full["k" + std::to_string(i)] = std::string(200, 'v');
  EXPECT_TRUE(ValidateMetadata(full).ok());
}

TEST(ValidationTest, MetadataPastTheLimits) {
  Metadata many;
  for (int i = 0; i < 33; ++i) many["k" + std::to_string(i)] = "v";
  EXPECT_NE(ValidateMetadata(many).message().find("at most 32"), std::string::npos);
  EXPECT_FALSE(ValidateMetadata({{std::string(65, 'k'), "v"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"", "v"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"bad key", "v"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"k", std::string(1025, 'v')}}).ok());
  Metadata big;
  for (int i = 0; i < 10; ++i) big["k" + std::to_string(i)] = std::string(1000, 'v');
  EXPECT_NE(ValidateMetadata(big).message().find("in all"), std::string::npos);
}

// A client's full metadata comes back from the provider (webhooks, the
// runtime API) with sandboxd's keys added: those are checked but not counted.
TEST(ValidationTest, SandboxdsOwnKeysDoNotCountAgainstTheClientsLimits) {
  Metadata full;
  for (int i = 0; i < 32; ++i) full["k" + std::to_string(i)] = std::string(250, 'v');
  ASSERT_TRUE(ValidateMetadata(full).ok());  // 32 entries, 8,128 bytes
  full[kProjectIdMetadataKey] = std::string(128, 'p');
  full[kCreateRequestIdMetadataKey] = "6f1c2a7e-3b7d-4c1e-9a55-0d3c8e2b9f10";
  EXPECT_TRUE(ValidateMetadata(full).ok());
  EXPECT_TRUE(ValidateMetadata(full, MetadataKeys::kText).ok());
  // Checked all the same: not any size, not any text.
  full[kCreateRequestIdMetadataKey] = std::string(1025, 'r');
  EXPECT_FALSE(ValidateMetadata(full).ok());
  full[kCreateRequestIdMetadataKey] = "ok";
  full["k32"] = "one more of the client's own";
  EXPECT_NE(ValidateMetadata(full).message().find("33 entries"), std::string::npos);
}

TEST(ValidationTest, MetadataValuesAreCleanUtf8) {
  for (const std::string& bad : {std::string("a\nb"), std::string("nul\0x", 5), std::string("\x7f"),
                                std::string("\xc3"), std::string("\xc0\xaf"),
                                std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                                std::string("\xff")}) {
    EXPECT_EQ(ValidateMetadata({{"k", bad}}).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ValidateMetadata({{"k", "\xf0\x9f\x98\x80 \xe2\x82\xac"}}).ok());
}

}  // namespace
}  // namespace sbx::core
