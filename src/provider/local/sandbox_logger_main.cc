// sandbox-logger: keeps a local sandbox's output (the stdout and stderr of its
// container) to a bounded size. LocalProvider starts one per sandbox,
// detached (setsid -f), before `runc run`, whose stdio is a FIFO this program
// reads. It appends to <dir>/output.log; once that holds half of --max-bytes
// it becomes <dir>/output.log.1 (replacing the older half) and a new
// output.log starts, so the newest output is kept and the two files never
// hold more than --max-bytes (and up to kLineFinish more each: a half is
// rotated at the end of a line, so that no line is split between the two
// files; a longer line is split there). It opens the FIFO for reading and writing, so
// it never sees end-of-file: it lives until LocalProvider kills it with the
// sandbox (its last argument, the sandbox's token, is how it is found). After
// opening its files it runs as --uid/--gid (the sandbox's unprivileged
// mapped root), never as host root.
//   sandbox-logger --uid U --gid G --max-bytes N <fifo> <dir> <token>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

constexpr int64_t kMinMaxBytes = 4096;
// How far past its half a file may grow to end at a line's end.
constexpr int64_t kLineFinish = 64 * 1024;

struct Args {
  long uid = -1;
  long gid = -1;
  int64_t max_bytes = 8 << 20;
  std::string fifo;
  std::string dir;
};

bool ParseNumber(const char* text, int64_t& out) {
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(text, &end, 10);
  if (errno != 0 || *end != '\0' || n < 0) return false;
  out = n;
  return true;
}

bool Parse(int argc, char** argv, Args& args) {
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    int64_t n = 0;
    if ((a == "--uid" || a == "--gid" || a == "--max-bytes") && i + 1 < argc) {
      if (!ParseNumber(argv[++i], n)) return false;
      if (a == "--uid") args.uid = static_cast<long>(n);
      if (a == "--gid") args.gid = static_cast<long>(n);
      if (a == "--max-bytes") args.max_bytes = n;
    } else if (positional == 0) {
      args.fifo = argv[i];
      ++positional;
    } else if (positional == 1) {
      args.dir = argv[i];
      ++positional;
    } else {
      ++positional;  // the token: only there to be found by
    }
  }
  return positional == 3 && args.max_bytes >= kMinMaxBytes;
}

int OpenLog(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!Parse(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: sandbox-logger [--uid U] [--gid G] [--max-bytes N>=%lld] <fifo> <dir> "
                 "<token>\n",
                 static_cast<long long>(kMinMaxBytes));
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  // Read and write: the FIFO never reports end-of-file, whoever closes it.
  const int in = ::open(args.fifo.c_str(), O_RDWR | O_CLOEXEC);
  if (in < 0) {
    std::fprintf(stderr, "sandbox-logger: open %s: %s\n", args.fifo.c_str(), std::strerror(errno));
    return 1;
  }
  if (::chdir(args.dir.c_str()) != 0) {
    std::fprintf(stderr, "sandbox-logger: chdir %s: %s\n", args.dir.c_str(), std::strerror(errno));
    return 1;
  }
  if (args.gid >= 0 && (::setgroups(0, nullptr) != 0 || ::setgid(static_cast<gid_t>(args.gid)) != 0)) {
    std::fprintf(stderr, "sandbox-logger: setgid %ld: %s\n", args.gid, std::strerror(errno));
    return 1;
  }
  if (args.uid >= 0 && ::setuid(static_cast<uid_t>(args.uid)) != 0) {
    std::fprintf(stderr, "sandbox-logger: setuid %ld: %s\n", args.uid, std::strerror(errno));
    return 1;
  }
  const int64_t half = args.max_bytes / 2;
  int out = OpenLog("output.log");
  if (out < 0) {
    std::fprintf(stderr, "sandbox-logger: open output.log: %s\n", std::strerror(errno));
    return 1;
  }
  struct stat st {};
  int64_t size = ::fstat(out, &st) == 0 ? st.st_size : 0;
  // Whether the file ends inside a line (its last byte is no newline).
  bool mid_line = false;
  if (size > 0) {
    char last = '\n';
    mid_line = ::pread(out, &last, 1, size - 1) == 1 && last != '\n';
  }
  static char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0 ? 0 : 1;
    const char* data = buf;
    auto left = static_cast<int64_t>(n);
    while (left > 0) {
      int64_t chunk = 0;
      if (size < half) {
        chunk = left < half - size ? left : half - size;
      } else if (mid_line && size < half + kLineFinish) {
        // Full, inside a line: finish the line before the rotation.
        const void* nl = std::memchr(data, '\n', static_cast<size_t>(left));
        chunk = nl ? static_cast<const char*>(nl) - data + 1 : left;
        if (chunk > half + kLineFinish - size) chunk = half + kLineFinish - size;
      } else {
        ::close(out);
        ::rename("output.log", "output.log.1");
        out = OpenLog("output.log");
        if (out < 0) return 1;
        size = 0;
        mid_line = false;
        continue;
      }
      if (!WriteAll(out, data, static_cast<size_t>(chunk))) return 1;
      mid_line = data[chunk - 1] != '\n';
      data += chunk;
      left -= chunk;
      size += chunk;
    }
  }
}
