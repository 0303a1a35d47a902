#include "base/bounded_map.h"

#include <string>

#include <gtest/gtest.h>

namespace sbx {
namespace {

TEST(BoundedMapTest, KeepsTheNewestKeys) {
  BoundedMap<std::string, int> m(3);
  EXPECT_TRUE(m.Put("a", 1));
  EXPECT_TRUE(m.Put("b", 2));
  EXPECT_TRUE(m.Put("c", 3));
  EXPECT_TRUE(m.Put("d", 4));  // forgets "a"
  EXPECT_EQ(m.size(), 3u);
  EXPECT_FALSE(m.Contains("a"));
  ASSERT_NE(m.Find("d"), nullptr);
  EXPECT_EQ(*m.Find("d"), 4);
}

TEST(BoundedMapTest, AKnownKeyTakesTheNewValueAndKeepsItsPlace) {
  BoundedMap<std::string, int> m(2);
  m.Put("a", 1);
  m.Put("b", 2);
  EXPECT_FALSE(m.Put("a", 10));
  EXPECT_EQ(*m.Find("a"), 10);
  m.Put("c", 3);  // "a" is still the oldest
  EXPECT_FALSE(m.Contains("a"));
  EXPECT_TRUE(m.Contains("b"));
  EXPECT_TRUE(m.Contains("c"));
}

}  // namespace
}  // namespace sbx
