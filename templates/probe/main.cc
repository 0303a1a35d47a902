// sandbox-probe: the program of the `probe` template, which the escape suite
// of the local runtime (src/provider/local/escape_test.cc) runs in a real
// sandbox. It serves HTTP on 0.0.0.0:$PORT:
//   GET /          {"ok":true}  (readiness)
//   GET /attempts?secret=<path>&connect=<ip:port,ip:port…>&fill=<MiB>
//                  tries every escape below, each in the probe's own process
//                  (or a child it forks), and answers a JSON array of
//                  {"name","escaped","detail"}: escaped is true when the
//                  attempt succeeded, i.e. the sandbox failed to contain it.
// Each attempt is contained on its own: a fork bomb is reaped, the memory hog
// is a child the OOM killer may take, the disk filler's file is deleted.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct Attempt {
  std::string name;
  bool escaped = false;
  std::string detail;
};

// "ENOSPC No space left on device".
std::string Errno(int err) {
  const char* name = strerrorname_np(err);
  return std::string(name != nullptr ? name : "?") + " " + std::strerror(err);
}

// A call that must fail: escaped when it returns >= 0.
Attempt Call(std::string name, long rc, int err) {
  return Attempt{std::move(name), rc >= 0, rc >= 0 ? "succeeded" : Errno(err)};
}

// Runs `call` (a system call returning < 0 on failure) and judges it with
// the errno it left.
template <typename F>
Attempt Try(std::string name, F call) {
  errno = 0;
  const long rc = static_cast<long>(call());
  const int err = errno;
  return Call(std::move(name), rc, err);
}

Attempt ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const int err = errno;
  if (fd >= 0) ::close(fd);
  return Call("read " + path, fd, err);
}

Attempt Connect(const std::string& target) {
  const size_t colon = target.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(target.substr(colon + 1).c_str())));
  if (colon == std::string::npos || ::inet_pton(AF_INET, target.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return Attempt{"connect " + target, false, "bad address"};
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{.tv_sec = 2, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  const int err = errno;
  ::close(fd);
  return Call("connect " + target, rc, err);
}

// Writes `mib` MiB into $HOME; escaped if it all fits (the limit did not hold)
// or the error is not ENOSPC.
Attempt FillDisk(long mib) {
  const std::string path = std::string(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") + "/fill";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Attempt{"fill disk", true, "open: " + Errno(errno)};
  static char block[1 << 20];
  std::memset(block, 'x', sizeof(block));
  long written = 0;
  int err = 0;
  for (long i = 0; i < mib * 16; ++i) {  // in 64 KiB writes
    ssize_t n = ::write(fd, block, 64 * 1024);
    if (n < 0) {
      err = errno;
      break;
    }
    written += n;
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  ::unlink(path.c_str());
  return Attempt{"fill disk", err != ENOSPC,
                 "wrote " + std::to_string(written >> 20) + " MiB, then " +
                     (err == 0 ? std::string("no error") : Errno(err))};
}

// Forks until fork fails; escaped if it never does within `max` children.
Attempt ForkBomb(int max) {
  std::vector<pid_t> children;
  int err = 0;
  for (int i = 0; i < max; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::pause();
      ::_exit(0);
    }
    if (pid < 0) {
      err = errno;
      break;
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) ::kill(pid, SIGKILL);
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  return Attempt{"fork bomb", err == 0,
                 "forked " + std::to_string(children.size()) + ", then " +
                     (err == 0 ? std::string("no error") : Errno(err))};
}

// A child touches `mib` MiB; escaped if it survives (the limit did not hold).
Attempt MemoryHog(long mib) {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (long i = 0; i < mib; ++i) {
      char* p = static_cast<char*>(std::malloc(1 << 20));
      if (p == nullptr) ::_exit(3);
      std::memset(p, 1, 1 << 20);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  const bool killed = WIFSIGNALED(status);
  return Attempt{"memory hog", !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 killed ? "child killed by signal " + std::to_string(WTERMSIG(status))
                        : "child exited " + std::to_string(WEXITSTATUS(status))};
}

Attempt Ptrace() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  errno = 0;
  const long rc = ::ptrace(PTRACE_ATTACH, pid, nullptr, nullptr);
  const int err = errno;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return Call("ptrace attach", rc, err);
}

// Runs argv; escaped if it exits 0.
Attempt Exec(std::string name, std::vector<std::string> argv) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return Attempt{std::move(name), ok,
                 WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : "signalled"};
}

std::string Param(std::string_view query, std::string_view key) {
  size_t pos = 0;
  while (pos < query.size()) {
    size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    std::string_view kv = query.substr(pos, end - pos);
    if (kv.starts_with(key) && kv.size() > key.size() && kv[key.size()] == '=') {
      return std::string(kv.substr(key.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}

std::vector<Attempt> RunAttempts(std::string_view query) {
  std::vector<Attempt> out;
  out.push_back(ReadFile("/etc/shadow"));
  if (std::string secret = Param(query, "secret"); !secret.empty()) out.push_back(ReadFile(secret));
  std::string targets = Param(query, "connect");
  for (size_t pos = 0; pos < targets.size();) {
    size_t end = targets.find(',', pos);
    if (end == std::string::npos) end = targets.size();
    out.push_back(Connect(targets.substr(pos, end - pos)));
    pos = end + 1;
  }
  if (std::string fill = Param(query, "fill"); !fill.empty()) out.push_back(FillDisk(std::atol(fill.c_str())));
  if (std::string forks = Param(query, "forks"); !forks.empty()) out.push_back(ForkBomb(std::atoi(forks.c_str())));
  if (std::string hog = Param(query, "hog"); !hog.empty()) out.push_back(MemoryHog(std::atol(hog.c_str())));
  ::mkdir("/tmp/m", 0700);
  out.push_back(Try("mount tmpfs", [] { return ::mount("none", "/tmp/m", "tmpfs", 0, nullptr); }));
  out.push_back(Try("unshare(CLONE_NEWUSER)", [] { return ::unshare(CLONE_NEWUSER); }));
  out.push_back(Try("unshare(CLONE_NEWNS)", [] { return ::unshare(CLONE_NEWNS); }));
  out.push_back(Exec("unshare -U -r true", {"/usr/bin/unshare", "-U", "-r", "/bin/true"}));
  out.push_back(Try("clone(CLONE_NEWUSER)", [] {
    const long rc = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (rc == 0) ::_exit(0);
    const int err = errno;
    if (rc > 0) ::waitpid(static_cast<pid_t>(rc), nullptr, 0);
    errno = err;
    return rc;
  }));
  out.push_back(Try("keyctl join session keyring", [] {
    return ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "probe");
  }));
  out.push_back(Try("add_key", [] {
    return ::syscall(SYS_add_key, "user", "probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  }));
  out.push_back(Try("raw socket", [] { return ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP); }));
  out.push_back(Try("packet socket", [] { return ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); }));
  for (const char* dir : {"/usr", "/etc", "/opt/template"}) {
    const std::string file = std::string(dir) + "/probe-was-here";
    out.push_back(Try(std::string("write ") + dir, [&] {
      return ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    }));
  }
  out.push_back(Try("setns", [] {
    const int ns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int rc = ::setns(ns, 0);
    const int err = errno;
    ::close(ns);
    errno = err;
    return rc;
  }));
  out.push_back(Ptrace());
  out.push_back(Try("setuid(0)", [] { return ::setuid(0); }));
  out.push_back(Try("chroot", [] { return ::chroot("/tmp"); }));
  out.push_back(Try("bpf", [] { return ::syscall(SYS_bpf, 0, nullptr, 0); }));
  out.push_back(Try("write /proc/sys", [] {
    return ::open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
  }));
  return out;
}

std::string Json(const std::vector<Attempt>& attempts) {
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      out += c;
    }
    return out + "\"";
  };
  std::string out = "[";
  for (size_t i = 0; i < attempts.size(); ++i) {
    if (i > 0) out += ",";
    out += "{\"name\":" + quote(attempts[i].name) + ",\"escaped\":" +
           (attempts[i].escaped ? "true" : "false") + ",\"detail\":" + quote(attempts[i].detail) + "}";
  }
  return out + "]";
}

void Serve(tcp::socket socket) {
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  beast::error_code ec;
  http::read(socket, buffer, req, ec);
  if (ec) return;
  std::string_view target(req.target().data(), req.target().size());
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  if (target.starts_with("/attempts")) {
    const size_t q = target.find('?');
    res.body() = Json(RunAttempts(q == std::string_view::npos ? "" : target.substr(q + 1)));
  } else {
    res.body() = "{\"ok\":true}";
  }
  res.keep_alive(false);
  res.prepare_payload();
  http::write(socket, res, ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace

int main() {
  const char* port_text = std::getenv("PORT");
  const int port = port_text ? std::atoi(port_text) : 0;
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "sandbox-probe: PORT must be a port number\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  net::io_context io(1);
  boost::system::error_code ec;
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(net::ip::address_v4::any(), static_cast<uint16_t>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(16, ec);
  if (ec) {
    std::fprintf(stderr, "sandbox-probe: listen on %d: %s\n", port, ec.message().c_str());
    return 1;
  }
  std::printf("sandbox-probe listening on 0.0.0.0:%d\n", port);
  std::fflush(stdout);
  for (;;) {
    tcp::socket socket(io);
    acceptor.accept(socket, ec);
    if (ec) continue;
    Serve(std::move(socket));  // one request at a time: attempts must not overlap
  }
}
