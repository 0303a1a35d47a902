#include "e2b/json.h"

#include <gtest/gtest.h>

namespace sbx::e2b {
namespace {

namespace json = boost::json;

json::object Parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v.is_object() ? v.as_object() : json::object{};
}

std::string ErrorOf(const Status& s) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  return s.message();
}

TEST(JsonTest, KindNamesAreOpenApiTypeNames) {
  EXPECT_EQ(KindName(json::kind::null), "null");
  EXPECT_EQ(KindName(json::kind::bool_), "boolean");
  EXPECT_EQ(KindName(json::kind::int64), "number");
  EXPECT_EQ(KindName(json::kind::uint64), "number");
  EXPECT_EQ(KindName(json::kind::double_), "number");
  EXPECT_EQ(KindName(json::kind::string), "string");
  EXPECT_EQ(KindName(json::kind::array), "array");
  EXPECT_EQ(KindName(json::kind::object), "object");
}

TEST(JsonTest, AbsentAndNullAreTheSame) {
  for (const char* text : {"{}", R"({"k":null})"}) {
    const json::object o = Parse(text);
    EXPECT_EQ(*OptionalInt(o, "k"), std::nullopt) << text;
    EXPECT_EQ(*OptionalBool(o, "k"), std::nullopt) << text;
    EXPECT_EQ(*OptionalString(o, "k"), std::nullopt) << text;
    EXPECT_EQ(*OptionalTime(o, "k"), std::nullopt) << text;
    EXPECT_EQ(*OptionalObject(o, "k"), nullptr) << text;
    EXPECT_EQ(*OptionalStringMap(o, "k"), std::nullopt) << text;
    EXPECT_EQ(*OptionalStringArray(o, "k"), std::nullopt) << text;
    EXPECT_EQ(ErrorOf(RequiredString(o, "k").status()), "Field 'k' is required") << text;
  }
}

TEST(JsonTest, ReadsValuesOfTheirType) {
  const json::object o = Parse(R"({"i":-7,"u":9223372036854775807,"d":30.0,"b":false,"s":"x",
      "t":"2026-01-01T00:00:00.250Z","o":{"a":"1"},"l":["p","q"]})");
  EXPECT_EQ(*OptionalInt(o, "i"), -7);
  EXPECT_EQ(*OptionalInt(o, "u"), INT64_MAX);
  EXPECT_EQ(*OptionalInt(o, "d"), 30);
  EXPECT_EQ(*OptionalBool(o, "b"), false);
  EXPECT_EQ(*OptionalString(o, "s"), "x");
  EXPECT_EQ(*RequiredString(o, "s"), "x");
  EXPECT_EQ(*OptionalTime(o, "t"), FromUnixMillis(1'767'225'600'250));
  EXPECT_EQ((*OptionalObject(o, "o"))->at("a"), "1");
  EXPECT_EQ(*OptionalStringMap(o, "o"), (core::Metadata{{"a", "1"}}));
  EXPECT_EQ(*OptionalStringArray(o, "l"), (std::vector<std::string>{"p", "q"}));
}

TEST(JsonTest, WrongTypesNameTheFieldAndWhatCame) {
  const json::object o = Parse(R"({"n":1.5,"big":18446744073709551615,"s":"x","b":true,
      "t":"yesterday","m":{"a":1},"l":["p",2],"e":""})");
  EXPECT_EQ(ErrorOf(OptionalInt(o, "n").status()), "Field 'n' must be an integer, got number");
  EXPECT_EQ(ErrorOf(OptionalInt(o, "s").status()), "Field 's' must be an integer, got string");
  EXPECT_EQ(ErrorOf(OptionalInt(o, "big").status()), "Field 'big' is out of range");
  EXPECT_EQ(ErrorOf(OptionalBool(o, "s").status()), "Field 's' must be a boolean, got string");
  EXPECT_EQ(ErrorOf(OptionalString(o, "b").status()), "Field 'b' must be a string, got boolean");
  EXPECT_EQ(ErrorOf(RequiredString(o, "e").status()), "Field 'e' is required");
  EXPECT_EQ(ErrorOf(OptionalTime(o, "t").status()), "Field 't' must be an RFC 3339 date-time");
  EXPECT_EQ(ErrorOf(OptionalObject(o, "l").status()), "Field 'l' must be an object, got array");
  EXPECT_EQ(ErrorOf(OptionalStringMap(o, "m").status()),
            "Field 'm.a' must be a string, got number");
  EXPECT_EQ(ErrorOf(OptionalStringArray(o, "l").status()),
            "Field 'l' must be an array of strings, got number");
  EXPECT_EQ(ErrorOf(OptionalStringArray(o, "m").status()),
            "Field 'm' must be an array of strings, got object");
}

// A whole number too large for int64 is refused, not converted: the
// conversion of an out-of-range double is undefined (UBSan, make
// test-sanitize, and the wire fuzzer's seed timeout_huge_double catch it).
TEST(JsonTest, DoublesBeyondTheIntegerRangeAreRefused) {
  const json::object o = Parse(R"({"a":4.5e57,"b":-4.5e57,"c":1e300,"d":9.3e18,"e":8e15})");
  for (const char* k : {"a", "b", "c", "d"}) {
    EXPECT_EQ(ErrorOf(OptionalInt(o, k).status()),
              std::string("Field '") + k + "' must be an integer, got number");
  }
  EXPECT_EQ(*OptionalInt(o, "e"), 8'000'000'000'000'000);
}

TEST(JsonTest, StringMapJsonWritesEveryPair) {
  EXPECT_EQ(StringMapJson({{"a", "1"}, {"b", ""}}), (json::object{{"a", "1"}, {"b", ""}}));
  EXPECT_TRUE(StringMapJson({}).empty());
}

}  // namespace
}  // namespace sbx::e2b
