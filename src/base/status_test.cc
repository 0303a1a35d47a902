#include "base/status.h"

#include <gtest/gtest.h>

namespace sbx {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  SBX_ASSIGN_OR_RETURN(int h, Half(x));
  SBX_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusTest, PropagatesErrorsWithContext) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.error().WithContext("quarter 6").message(), "quarter 6: odd");
  EXPECT_EQ(NotFound("x").ToString(), "not_found: x");
  EXPECT_EQ(StatusCodeName(StatusCode::kFailedPrecondition), "failed_precondition");
}

}  // namespace
}  // namespace sbx
