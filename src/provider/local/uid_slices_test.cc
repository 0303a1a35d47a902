#include "provider/local/uid_slices.h"

#include <gtest/gtest.h>

namespace sbx::provider::local {
namespace {

class UidSlicesTest : public ::testing::Test {
 protected:
  UidSlicesTest() : dir_(std::filesystem::path(::testing::TempDir()) / "uid_slices_test") {
    std::filesystem::remove_all(dir_);
  }
  ~UidSlicesTest() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(UidSlicesTest, ClaimsDisjointSlicesAcrossInstancesUntilFull) {
  const UidRange range{.first = 1'000'000, .count = 3 * 65536, .slice_size = 65536};
  UidSlices a(dir_, range);
  UidSlices b(dir_, range);  // another instance sharing the claims dir
  auto one = a.Claim("sbx-a-1");
  auto two = b.Claim("sbx-b-1");
  auto three = a.Claim("sbx-a-2");
  ASSERT_TRUE(one.has_value() && two.has_value() && three.has_value());
  std::set<uint32_t> bases = {one->host_id, two->host_id, three->host_id};
  EXPECT_EQ(bases, (std::set<uint32_t>{1'000'000, 1'065'536, 1'131'072}));
  EXPECT_EQ(one->size, 65536u);
  EXPECT_EQ(b.Claim("sbx-b-2").status().code(), StatusCode::kUnavailable);

  ASSERT_TRUE(b.Release("sbx-b-1").ok());
  ASSERT_TRUE(b.Release("sbx-b-1").ok()) << "releasing twice is fine";
  auto again = b.Claim("sbx-b-2");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->host_id, two->host_id);
  auto claims = a.Claims();
  ASSERT_TRUE(claims.has_value());
  std::set<std::string> tokens;
  for (const auto& [slice, token] : *claims) tokens.insert(token);
  EXPECT_EQ(tokens, (std::set<std::string>{"sbx-a-1", "sbx-a-2", "sbx-b-2"}));
}

TEST(CheckUidRangeTest, RefusesRangesThatCannotIsolate) {
  EXPECT_TRUE(CheckUidRange({.first = 0x70000000, .count = 0x10000000, .slice_size = 65536}).ok());
  EXPECT_FALSE(CheckUidRange({.first = 0, .count = 65536 * 4, .slice_size = 65536}).ok())
      << "host ids";
  EXPECT_FALSE(CheckUidRange({.first = 100000, .count = 65536, .slice_size = 1000}).ok())
      << "a slice smaller than 16 bits cannot map uid 1000 and nobody";
  EXPECT_FALSE(CheckUidRange({.first = 100000, .count = 1000, .slice_size = 65536}).ok());
  EXPECT_FALSE(CheckUidRange({.first = 0xFFFF0000, .count = 65536, .slice_size = 65536}).ok());
}

}  // namespace
}  // namespace sbx::provider::local
