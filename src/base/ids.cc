#include "base/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace sbx {

IdGenerator::IdGenerator() = default;
IdGenerator::IdGenerator(uint64_t seed) : seeded_(std::make_unique<std::mt19937_64>(seed)) {}
IdGenerator::~IdGenerator() = default;

void IdGenerator::Fill(unsigned char* out, size_t n) {
  if (seeded_) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>((*seeded_)() & 0xff);
    return;
  }
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::getrandom(out + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // Without the kernel's CSPRNG no id or token can be made safely, and
      // nothing sensible can continue: this is not an error to return.
      std::fprintf(stderr, "getrandom failed (errno %d)\n", errno);
      std::abort();
    }
    done += static_cast<size_t>(got);
  }
}

std::string IdGenerator::NewHex(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string raw((n + 1) / 2, '\0');
  Fill(reinterpret_cast<unsigned char*>(raw.data()), raw.size());
  std::string out(n, '0');
  for (size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<unsigned char>(raw[i / 2]);
    out[i] = kHex[i % 2 == 0 ? byte >> 4 : byte & 15];
  }
  return out;
}

std::string IdGenerator::NewAlnum(size_t n) {
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  // Bytes >= 252 (= 7 * 36) are rejected, so every character is uniform.
  constexpr unsigned kLimit = 252;
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    Fill(buf, sizeof(buf));
    for (unsigned char b : buf) {
      if (b >= kLimit) continue;
      out += kAlnum[b % 36];
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string IdGenerator::NewUuid() {
  std::string h = NewHex(32);
  h[12] = '4';
  h[16] = "89ab"[(h[16] - '0') & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

}  // namespace sbx
