// IdGenerator makes event ids, request ids and tokens. Randomness comes in
// through the seed, so tests are repeatable. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace sbx {

class IdGenerator {
 public:
  explicit IdGenerator(uint64_t seed) : rng_(seed) {}
  // Random UUID v4 text: "3f2a…-…".
  std::string NewUuid();
  // `n` random lowercase hex characters.
  std::string NewHex(size_t n);
  // `n` characters from [a-z0-9].
  std::string NewAlnum(size_t n);

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;
};

}  // namespace sbx
