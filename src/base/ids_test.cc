#include "base/ids.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace sbx {
namespace {

TEST(IdGeneratorTest, UnseededGeneratorsNeverRepeatEachOther) {
  IdGenerator a;
  IdGenerator b;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(seen.insert(a.NewAlnum(25)).second);
    EXPECT_TRUE(seen.insert(b.NewAlnum(25)).second);
  }
}

TEST(IdGeneratorTest, SeededGeneratorsRepeatForTests) {
  IdGenerator a(7);
  IdGenerator b(7);
  EXPECT_EQ(a.NewAlnum(20), b.NewAlnum(20));
  EXPECT_EQ(a.NewUuid(), b.NewUuid());
  IdGenerator c(8);
  EXPECT_NE(IdGenerator(7).NewHex(32), c.NewHex(32));
}

TEST(IdGeneratorTest, AlphabetsAndLengths) {
  IdGenerator ids;
  for (size_t n : {0u, 1u, 7u, 25u, 100u}) {
    const std::string alnum = ids.NewAlnum(n);
    ASSERT_EQ(alnum.size(), n);
    for (char c : alnum) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) << c;
    const std::string hex = ids.NewHex(n);
    ASSERT_EQ(hex.size(), n);
    for (char c : hex) EXPECT_TRUE((c >= 'a' && c <= 'f') || (c >= '0' && c <= '9')) << c;
  }
  const std::string uuid = ids.NewUuid();
  ASSERT_EQ(uuid.size(), 36u);
  EXPECT_EQ(uuid[14], '4');
  EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos) << uuid;
}

TEST(IdGeneratorTest, AlnumCharactersAreRoughlyUniform) {
  // 36,000 draws: each character is expected 1,000 times; a modulo-biased
  // draw (256 % 36 = 4) would give the first four ~1,110. Bounds are ~6 sigma.
  IdGenerator ids;
  std::map<char, int> counts;
  for (char c : ids.NewAlnum(36000)) ++counts[c];
  ASSERT_EQ(counts.size(), 36u);
  for (const auto& [c, n] : counts) {
    EXPECT_GT(n, 810) << c;
    EXPECT_LT(n, 1190) << c;
  }
}

}  // namespace
}  // namespace sbx
