#include "base/ids.h"

namespace sbx {

std::string IdGenerator::NewHex(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::lock_guard lock(mu_);
  std::string out(n, '0');
  for (auto& c : out) c = kHex[rng_() % 16];
  return out;
}

std::string IdGenerator::NewAlnum(size_t n) {
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::lock_guard lock(mu_);
  std::string out(n, 'a');
  for (auto& c : out) c = kAlnum[rng_() % 36];
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
