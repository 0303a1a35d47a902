#include "provider/local/posix_process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "base/fd.h"

extern char** environ;  // NOLINT: the POSIX way to read the whole environment

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

// How often the child's liveness is checked when pidfd_open is unavailable.
constexpr auto kFallbackPollInterval = 10ms;

std::string Errno(int err) { return std::strerror(err); }

// Owns one file descriptor.
struct Pipe {
  Fd read;
  Fd write;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Internal("pipe: " + Errno(errno));
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// One captured output stream of the child.
struct Capture {
  Fd fd;
  std::string* text = nullptr;
  bool* truncated = nullptr;
};

// Reads what is available from `c` into its text (up to `max_bytes`; the rest
// is dropped). Closes the fd at EOF or on error. REQUIRES: the fd is
// non-blocking.
void ReadAvailable(Capture& c, size_t max_bytes) {
  char buf[16 * 1024];
  // Bounded so that a child flooding its output cannot starve the timeout.
  for (int reads = 0; c.fd.valid() && reads < 64; ++reads) {
    ssize_t n = ::read(c.fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      c.fd.Reset();
      return;
    }
    size_t got = static_cast<size_t>(n);
    size_t room = max_bytes > c.text->size() ? max_bytes - c.text->size() : 0;
    if (got > room) *c.truncated = true;
    c.text->append(buf, std::min(got, room));
  }
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// The parent's environment with `extra` added or replaced, as KEY=VALUE strings.
std::vector<std::string> BuildEnv(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view key = entry.substr(0, entry.find('='));
    if (extra.contains(std::string(key))) continue;
    env.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int ExitCodeOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 255;
}

// Owns posix_spawn's two attribute objects.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // stdin from /dev/null, stdout/stderr onto the given fds, nothing else
  // inherited; own process group; default signal dispositions and an empty
  // mask, whatever the parent ignores or blocks (SIGPIPE, say).
  Status Configure(int out_fd, int err_fd) {
    int rc = posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions_, out_fd, 1);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions_, err_fd, 2);
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
    if (rc != 0) return Internal("posix_spawn file actions: " + Errno(rc));
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    rc = posix_spawnattr_setflags(
        &attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (rc == 0) rc = posix_spawnattr_setpgroup(&attr_, 0);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr_, &all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr_, &none);
    if (rc != 0) return Internal("posix_spawn attributes: " + Errno(rc));
    return OkStatus();
  }

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

// Where the child's stdout and stderr go: both to `options.output_file` when
// set, else to pipes whose read ends become `out.fd` and `err.fd`.
struct ChildOutputs {
  Fd out;
  Fd err;
};

Result<ChildOutputs> OpenOutputs(const RunOptions& options, const std::string& command,
                                 Capture& out, Capture& err) {
  ChildOutputs child;
  if (options.output_file.has_value()) {
    Fd file(::open(options.output_file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!file.valid()) {
      return Internal(
          fmt::format("{}: open {}: {}", command, options.output_file->string(), Errno(errno)));
    }
    child.err.Reset(::dup(file.get()));
    if (!child.err.valid()) return Internal(command + ": dup: " + Errno(errno));
    ::fcntl(child.err.get(), F_SETFD, FD_CLOEXEC);
    child.out = std::move(file);
  } else {
    SBX_ASSIGN_OR_RETURN(Pipe out_pipe, MakePipe());
    SBX_ASSIGN_OR_RETURN(Pipe err_pipe, MakePipe());
    out.fd = std::move(out_pipe.read);
    err.fd = std::move(err_pipe.read);
    SetNonBlocking(out.fd.get());
    SetNonBlocking(err.fd.get());
    child.out = std::move(out_pipe.write);
    child.err = std::move(err_pipe.write);
  }
  return child;
}

// How the child ended: its wait status, and whether it overran its timeout.
struct ChildExit {
  int wstatus = 0;
  bool timed_out = false;
};

// Reads the child's output while waiting for it to exit; past the timeout sends
// its process group SIGTERM, then SIGKILL after the grace. Reaps the child on
// every path.
Result<ChildExit> WaitForExit(pid_t pid, const RunOptions& options, const std::string& command,
                              Capture& out, Capture& err) {
  // Readable once the child exits, so poll() wakes at once. Via syscall():
  // glibc 2.36's <sys/pidfd.h> lacks C linkage for C++.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  std::optional<std::chrono::steady_clock::time_point> kill_at;  // set once SIGTERM was sent
  bool killed = false;
  ChildExit ended;
  for (;;) {
    pollfd fds[3];
    nfds_t n = 0;
    if (pidfd.valid()) fds[n++] = {.fd = pidfd.get(), .events = POLLIN, .revents = 0};
    if (out.fd.valid()) fds[n++] = {.fd = out.fd.get(), .events = POLLIN, .revents = 0};
    if (err.fd.valid()) fds[n++] = {.fd = err.fd.get(), .events = POLLIN, .revents = 0};
    auto now = std::chrono::steady_clock::now();
    auto next_event = kill_at.has_value() ? *kill_at : deadline;
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_event - now);
    if (!pidfd.valid()) wait = std::min<std::chrono::milliseconds>(wait, kFallbackPollInterval);
    int poll_rc = ::poll(fds, n, static_cast<int>(std::max<int64_t>(wait.count(), 0)));
    if (poll_rc < 0 && errno != EINTR) {
      // Nothing sensible left but to end the child and report.
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &ended.wstatus, 0);
      return Internal(command + ": poll: " + Errno(errno));
    }
    if (out.fd.valid()) ReadAvailable(out, options.max_output_bytes);
    if (err.fd.valid()) ReadAvailable(err, options.max_output_bytes);

    pid_t waited = ::waitpid(pid, &ended.wstatus, WNOHANG);
    if (waited == pid) break;
    if (waited < 0 && errno != EINTR) return Internal(command + ": waitpid: " + Errno(errno));

    now = std::chrono::steady_clock::now();
    if (!kill_at.has_value() && now >= deadline) {
      ended.timed_out = true;
      ::kill(-pid, SIGTERM);
      kill_at = now + options.kill_grace;
    } else if (kill_at.has_value() && !killed && now >= *kill_at) {
      ::kill(-pid, SIGKILL);
      killed = true;
      kill_at = now + 24h;  // nothing more to do but wait for the exit
    }
  }
  return ended;
}

}  // namespace

Result<ProcessResult> PosixProcessRunner::Run(const std::vector<std::string>& argv,
                                              const RunOptions& options) {
  if (argv.empty() || argv[0].empty()) return InvalidArgument("run: empty argv");
  const std::string command = FormatCommand(argv);

  ProcessResult result;
  Capture out{.text = &result.out, .truncated = &result.out_truncated};
  Capture err{.text = &result.err, .truncated = &result.err_truncated};
  SBX_ASSIGN_OR_RETURN(ChildOutputs outputs, OpenOutputs(options, command, out, err));
  Fd child_out = std::move(outputs.out);
  Fd child_err = std::move(outputs.err);

  SpawnSetup setup;
  SBX_RETURN_IF_ERROR(setup.Configure(child_out.get(), child_err.get()).WithContext(command));
  std::vector<std::string> args = argv;
  std::vector<std::string> env = BuildEnv(options.env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  pid_t pid = -1;
  int rc =
      ::posix_spawnp(&pid, c_args[0], setup.actions(), setup.attr(), c_args.data(), c_env.data());
  child_out.Reset();
  child_err.Reset();
  if (rc == ENOENT || rc == EACCES || rc == ENOEXEC || rc == ENOTDIR) {
    return NotFound(fmt::format("{}: cannot execute {}: {}", command, argv[0], Errno(rc)));
  }
  if (rc != 0) return Internal(fmt::format("{}: posix_spawn: {}", command, Errno(rc)));

  // From here on the child exists and must be reaped on every path.
  SBX_ASSIGN_OR_RETURN(ChildExit ended, WaitForExit(pid, options, command, out, err));

  // The child is gone; take what is already in the pipes, but do not wait for
  // descendants that may still hold them open.
  ReadAvailable(out, options.max_output_bytes);
  ReadAvailable(err, options.max_output_bytes);
  if (ended.timed_out) {
    return DeadlineExceeded(
        fmt::format("{}: timed out after {}ms", command, options.timeout.count()));
  }
  result.exit_code = ExitCodeOf(ended.wstatus);
  return result;
}

}  // namespace sbx::provider::local
