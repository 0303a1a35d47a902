// sweep_bench: times Store::ListIdleDue (the enforcer's sweep query) on a
// store already filled with synthetic rows by bench/sweep.sh.
//   sweep_bench init <store-url>          opens the store (applies migrations)
//   sweep_bench time <store-url> <now_ms> <runs>
// prints one line: "<median_ms> <p90_ms> <due_rows>".
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

#include "percentile.h"

namespace {

sbx::Result<std::unique_ptr<sbx::store::Store>> OpenStore(const std::string& url) {
  if (url.rfind("sqlite://", 0) == 0) {
    auto s = sbx::store::SqliteStore::Open(url.substr(9));
    if (!s.ok()) return s.error();
    return std::unique_ptr<sbx::store::Store>(std::move(*s));
  }
  auto s = sbx::store::PostgresStore::Open(url);
  if (!s.ok()) return s.error();
  return std::unique_ptr<sbx::store::Store>(std::move(*s));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: sweep_bench init|time <store-url> [now_ms runs]\n");
    return 2;
  }
  auto store = OpenStore(argv[2]);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.error().ToString().c_str());
    return 1;
  }
  if (std::string(argv[1]) == "init") return 0;
  const auto now = sbx::FromUnixMillis(std::stoll(argv[3]));
  const int runs = std::stoi(argv[4]);
  std::vector<double> ms;
  size_t due = 0;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto rows = (*store)->ListIdleDue(now, 10000);
    const auto t1 = std::chrono::steady_clock::now();
    if (!rows.ok()) {
      std::fprintf(stderr, "query: %s\n", rows.error().ToString().c_str());
      return 1;
    }
    due = rows->size();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::printf("%.3f %.3f %zu\n", sbx::bench::Percentile(ms, 50), sbx::bench::Percentile(ms, 90),
              due);
  return 0;
}
