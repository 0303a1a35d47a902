// IdGenerator makes sandbox ids, event ids, request ids and tokens. By default
// every character comes from the kernel's CSPRNG (getrandom(2)), so ids are
// unguessable: a preview URL is reachable by whoever knows its sandbox id.
// Tests that need repeatable ids construct it with a seed instead (a
// deterministic, non-secret sequence; never used by the binaries).
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>

namespace sbx {

class IdGenerator {
 public:
  // Draws from getrandom(2). Each character carries log2(alphabet) bits:
  // NewHex 4, NewAlnum ~5.17, NewUuid 122 bits in all.
  IdGenerator();
  // Repeatable ids for tests: the same seed gives the same sequence.
  explicit IdGenerator(uint64_t seed);
  ~IdGenerator();

  // Random UUID v4 text: "3f2a…-…".
  std::string NewUuid();
  // `n` random lowercase hex characters.
  std::string NewHex(size_t n);
  // `n` characters from [a-z0-9], uniformly (no modulo bias).
  std::string NewAlnum(size_t n);

 private:
  // Fills `out` with random bytes.
  void Fill(unsigned char* out, size_t n);

  std::mutex mu_;
  std::unique_ptr<std::mt19937_64> seeded_;  // tests only; null: getrandom
};

}  // namespace sbx
