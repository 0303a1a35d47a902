// The disk's side of a durable ack, for bench/webhooks.sh: while the daemon
// takes webhooks, this writes 8 kB at the next offset of a preallocated
// 16 MB file (as PostgreSQL appends to a WAL segment) and fdatasyncs it,
// every INTERVAL_MS, and times each write + flush. It asks for real-time
// scheduling (SCHED_FIFO) so that what it times is the disk, not its wait
// for a CPU that the daemon, the database and the client keep busy; whether
// it got it is in its output. Writes only its own file, which it removes.
//
// Usage: fsync_probe DIR SECONDS [INTERVAL_MS]
// Prints "RESULT flushes p50_ms p99_ms max_ms realtime(0|1)".
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "percentile.h"

namespace {

using Clock = std::chrono::steady_clock;

bool WriteAll(int fd, const std::vector<char>& buf, off_t offset) {
  return pwrite(fd, buf.data(), buf.size(), offset) == static_cast<ssize_t>(buf.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fsync_probe DIR SECONDS [INTERVAL_MS]\n");
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/fsync_probe.dat";
  const auto run_for = std::chrono::duration<double>(std::atof(argv[2]));
  const auto interval = std::chrono::milliseconds(argc > 3 ? std::atoi(argv[3]) : 10);
  if (run_for.count() <= 0 || interval.count() <= 0) {
    std::fprintf(stderr, "fsync_probe: SECONDS and INTERVAL_MS must be positive\n");
    return 2;
  }
  constexpr off_t kFileSize = 16 << 20;
  const std::vector<char> block(8192, 0);

  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror("open");
    return 1;
  }
  auto fail = [&](const char* what) {
    std::perror(what);
    close(fd);
    unlink(path.c_str());
    return 1;
  };
  // Written out and flushed first, so that the flushes timed below have no
  // block allocation to commit (a recycled WAL segment has none either).
  for (off_t at = 0; at < kFileSize; at += static_cast<off_t>(block.size())) {
    if (!WriteAll(fd, block, at)) return fail("write");
  }
  if (fsync(fd) != 0) return fail("fsync");
  const sched_param fifo{.sched_priority = 10};
  const bool realtime = sched_setscheduler(0, SCHED_FIFO, &fifo) == 0;

  std::vector<double> flushes;
  off_t offset = 0;
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(run_for);
  for (auto next = Clock::now(); next < end; next += interval) {
    std::this_thread::sleep_until(next);
    const auto start = Clock::now();
    if (!WriteAll(fd, block, offset) || fdatasync(fd) != 0) return fail("write/fdatasync");
    flushes.push_back(sbx::bench::Ms(Clock::now() - start));
    offset = (offset + static_cast<off_t>(block.size())) % kFileSize;
  }
  close(fd);
  unlink(path.c_str());
  std::printf("RESULT %zu %.3f %.3f %.3f %d\n", flushes.size(),
              sbx::bench::Percentile(flushes, 50), sbx::bench::Percentile(flushes, 99),
              sbx::bench::Percentile(flushes, 100), realtime ? 1 : 0);
  return 0;
}
