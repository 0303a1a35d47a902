#include "integration/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>

extern char** environ;

namespace sbx::integration {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::vector<char*> CArgv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// Our environment minus SANDBOXD_*: the flags the tests pass are the whole
// configuration of the daemon and the CLI. `extra` ("NAME=value") is added
// last and replaces a variable of the same name.
class CleanEnv {
 public:
  explicit CleanEnv(const std::vector<std::string>& extra = {}) {
    auto name_of = [](std::string_view v) { return v.substr(0, v.find('=')); };
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view var(*e);
      if (var.rfind("SANDBOXD_", 0) == 0) continue;
      bool replaced = false;
      for (const auto& x : extra) replaced = replaced || name_of(x) == name_of(var);
      if (!replaced) vars_.emplace_back(var);
    }
    vars_.insert(vars_.end(), extra.begin(), extra.end());
    for (auto& v : vars_) ptrs_.push_back(v.data());
    ptrs_.push_back(nullptr);
  }
  char** get() { return ptrs_.data(); }

 private:
  std::vector<std::string> vars_;
  std::vector<char*> ptrs_;
};

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Appends what `fd` has to `out`. Returns false at end of file or on error.
bool Drain(int fd, std::string& out) {
  char buf[8192];
  const ssize_t n = ::read(fd, buf, sizeof(buf));
  if (n > 0) {
    out.append(buf, static_cast<size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

int RemainingMs(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits for `pid` until `deadline`; returns the wait status or -1.
int WaitUntil(pid_t pid, SteadyClock::time_point deadline) {
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (SteadyClock::now() >= deadline) return -1;
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  CommandResult result;
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + std::strerror(errno);
    CloseFd(out_pipe[0]);
    CloseFd(out_pipe[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  pid_t pid = -1;
  auto args = CArgv(argv);
  CleanEnv env;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.get());
  posix_spawn_file_actions_destroy(&actions);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  if (rc != 0) {
    result.err = "cannot start " + argv[0] + ": " + std::strerror(rc);
    CloseFd(out_pipe[0]);
    CloseFd(err_pipe[0]);
    return result;
  }
  const auto deadline = SteadyClock::now() + timeout;
  bool out_open = true;
  bool err_open = true;
  while ((out_open || err_open) && SteadyClock::now() < deadline) {
    pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0},
                     {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    const int n = ::poll(fds, 2, std::min(RemainingMs(deadline), 100));
    if (n < 0 && errno != EINTR) break;
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
      out_open = Drain(out_pipe[0], result.out);
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
      err_open = Drain(err_pipe[0], result.err);
  }
  CloseFd(out_pipe[0]);
  CloseFd(err_pipe[0]);
  int status = WaitUntil(pid, deadline);
  if (status == -1) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    result.timed_out = true;
    result.err += "\n(killed: still running after " + std::to_string(timeout.count()) + " ms)";
    return result;
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) (void)SignalAndWait(SIGKILL, 10s);
}

std::string ChildProcess::Spawn(const std::vector<std::string>& argv,
                                const std::string& stdout_path, const std::string& stderr_path,
                                const std::vector<std::string>& extra_env) {
  if (pid_ > 0) return "already running";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  auto args = CArgv(argv);
  CleanEnv env(extra_env);
  const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), env.get());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return "cannot start " + argv[0] + ": " + std::strerror(rc);
  }
  exit_status_ = -1;
  return "";
}

bool ChildProcess::Poll() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    exit_status_ = status;
  }
  return pid_ > 0;
}

int ChildProcess::SignalAndWait(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  const int status = WaitUntil(pid_, SteadyClock::now() + timeout);
  if (status != -1) {
    pid_ = -1;
    exit_status_ = status;
  }
  return status;
}

}  // namespace sbx::integration
