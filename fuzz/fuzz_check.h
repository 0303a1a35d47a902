// FUZZ_CHECK: an invariant a fuzz target asserts about the code under test
// (a round trip, a bound). A broken one aborts with the condition, which
// libFuzzer reports as a crash and saves the input. Fuzz targets only.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (false)
