// SBX_CHECK(cond) << "why": aborts in every build when a programming invariant
// is broken. Never use it on data from the network, the DB, config or a child.
#pragma once

#include <cstdlib>
#include <iostream>
#include <sstream>

namespace sbx::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond) {
    os_ << file << ":" << line << ": check failed: " << cond << " ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << os_.str() << std::endl;
    std::abort();
  }
  template <typename T>
  CheckFailure& operator<<(const T& v) {
    os_ << v;
    return *this;
  }

 private:
  std::ostringstream os_;
};

}  // namespace sbx::internal

#define SBX_CHECK(cond) \
  if (cond) {           \
  } else                \
    ::sbx::internal::CheckFailure(__FILE__, __LINE__, #cond)
