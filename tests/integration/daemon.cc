#include "integration/daemon.h"

#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/clock.h"
#include "base/ids.h"
#include "provider/local/linux_sandbox_host.h"
#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"

namespace sbx::integration {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

constexpr char kBuildDir[] = SBX_BUILD_DIR;
constexpr char kTemplatesDir[] = SBX_TEMPLATES_DIR;
constexpr char kUrlPrefix[] = "sandboxd listening on ";
constexpr char kTokenPrefix[] = "API token: ";
constexpr char kPreviewPrefix[] = "Previews on ";

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string DescribeWaitStatus(int status) {
  if (status == -1) return "still running";
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

std::string Executable(const char* name) { return (fs::path(kBuildDir) / name).string(); }

}  // namespace

::testing::AssertionResult CheckPrerequisites() {
  if (::geteuid() != 0) {
    return ::testing::AssertionFailure()
           << "sbx_integration_tests run real runc containers and must run as root "
              "(exclude them with `ctest -LE runc`)";
  }
  CommandResult version = RunCommand({"runc", "--version"}, 10s);
  if (version.exit_code != 0) {
    return ::testing::AssertionFailure()
           << "runc is not installed or does not work (apt-get install runc): " << version.err;
  }
  for (const char* binary : {"sandboxd", "sandboxctl", "sandbox-hello"}) {
    if (::access(Executable(binary).c_str(), X_OK) != 0) {
      return ::testing::AssertionFailure()
             << Executable(binary) << " is not built (cmake --build <dir> --target " << binary
             << ")";
    }
  }
  if (!fs::exists(fs::path(kTemplatesDir) / "hello.json")) {
    return ::testing::AssertionFailure() << "no hello template in " << kTemplatesDir;
  }
  return ::testing::AssertionSuccess();
}

CommandResult Runc(const fs::path& root, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"runc", "--root", root.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, 30s);
}

std::vector<std::string> RuncIds(const fs::path& root) {
  std::vector<std::string> ids;
  CommandResult r = Runc(root, {"list", "-q"});
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

void RemoveAllContainers(const fs::path& root) {
  for (const std::string& id : RuncIds(root)) {
    (void)Runc(root, {"kill", id, "KILL"});
    CommandResult deleted = Runc(root, {"delete", "--force", id});
    if (deleted.exit_code != 0) {
      ADD_FAILURE() << "cleanup: runc delete --force " << id << ": " << deleted.err;
    }
  }
  if (auto left = RuncIds(root); !left.empty()) {
    ADD_FAILURE() << "cleanup: containers left in " << root << ": " << JoinArgv(left);
  }
  // What the sandboxes had besides their containers (network namespaces, home
  // mounts, loggers, uid claims): a local provider on the same data dir sweeps it.
  SystemClock clock;
  IdGenerator ids(1);
  provider::local::PosixProcessRunner runner;
  provider::local::LinuxSandboxHost host(clock);
  provider::local::LocalProviderOptions options;
  options.runc_root = root;
  options.sandboxes_dir = root.parent_path() / "sandboxes";
  provider::local::LocalProvider sweeper(clock, ids, runner, host, options);
  if (Status swept = sweeper.Sweep(); !swept.ok()) {
    ADD_FAILURE() << "cleanup: sweep " << root << ": " << swept.ToString();
  }
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string TailOfFile(const fs::path& path, size_t lines) {
  std::vector<std::string> all;
  std::istringstream in(ReadFile(path));
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += all[i] + "\n";
  }
  return out;
}

std::optional<HelloState> GetHelloState(const std::string& url, std::string* why,
                                        std::chrono::milliseconds timeout) {
  HttpResponse r;
  if (ParsePreviewUrl(url)) {
    r = PreviewCall(url, {.target = "/state", .timeout = timeout});
  } else if (auto hp = ParseHttpUrl(url)) {
    r = HttpCall({.host = hp->host, .port = hp->port, .target = "/state", .timeout = timeout});
  } else {
    if (why) *why = "not an http://host:port/ URL: \"" + url + "\"";
    return std::nullopt;
  }
  if (!r.answered || r.status != 200) {
    if (why) *why = "GET " + url + "state: " + r.Describe();
    return std::nullopt;
  }
  return ParseHelloState(r.body, why);
}

HttpResponse ProbeSandbox(const std::string& url, std::chrono::milliseconds timeout) {
  if (auto preview = ParsePreviewUrl(url)) {
    // Straight to the sandbox, past the gateway: from inside its namespace.
    const std::string netns = SandboxNetns(preview->sandbox_id);
    if (netns.empty()) {
      HttpResponse r;
      r.error = "no network namespace for sandbox " + preview->sandbox_id;
      return r;
    }
    return HttpCall({.port = preview->sandbox_port,
                     .target = "/state",
                     .timeout = timeout,
                     .netns = netns});
  }
  auto hp = ParseHttpUrl(url);
  if (!hp) {
    HttpResponse r;
    r.error = "not an http://host:port/ URL: \"" + url + "\"";
    return r;
  }
  return HttpCall({.host = hp->host, .port = hp->port, .target = "/state", .timeout = timeout});
}

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() { CleanUp(); }

::testing::AssertionResult Daemon::Start() {
  if (process_.running()) return ::testing::AssertionFailure() << "sandboxd is already running";
  if (root_.empty()) {
    std::string dir = "/tmp/sbx-it-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
      return ::testing::AssertionFailure() << "mkdtemp " << dir << ": " << std::strerror(errno);
    }
    // Local sandboxes run as unprivileged users that must traverse it.
    ::chmod(dir.c_str(), 0711);
    root_ = dir;
    data_dir_ = root_ / "data";
    log_ = root_ / "sandboxd.log";
  }
  std::vector<std::string> argv = {Executable("sandboxd"),
                                   "serve",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--data-dir",
                                   data_dir_.string(),
                                   "--idle-timeout",
                                   options_.idle_timeout,
                                   "--enforcer-schedule",
                                   options_.enforcer_schedule,
                                   "--port-range",
                                   std::to_string(first_port()) + "-" + std::to_string(last_port()),
                                   "--templates-dir",
                                   kTemplatesDir};
  if (!options_.api_token.empty()) {
    argv.push_back("--api-token");
    argv.push_back(options_.api_token);
  }
  if (std::find(options_.extra_args.begin(), options_.extra_args.end(), "--preview-listen") ==
      options_.extra_args.end()) {
    argv.push_back("--preview-listen");
    argv.push_back("127.0.0.1:0");  // tests run side by side: never the fixed default port
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  if (options_.file_limit > 0) {
    // prlimit execs sandboxd in its own process: the pid stays the daemon's.
    const std::string n = std::to_string(options_.file_limit);
    argv.insert(argv.begin(), {"/usr/bin/prlimit", "--nofile=" + n + ":" + n, "--"});
  }
  {
    std::ofstream log(log_, std::ios::app);
    log << "=== test harness: " << JoinArgv(argv) << "\n";
  }
  ++starts_;
  stdout_path_ = root_ / ("stdout-" + std::to_string(starts_) + ".txt");
  if (std::string err = process_.Spawn(argv, stdout_path_.string(), log_.string(), options_.env);
      !err.empty()) {
    return ::testing::AssertionFailure() << err;
  }
  // The URL line, then the token line; and the preview line. Other lines are
  // tolerated here (the StartupOutput test holds sandboxd to printing only these).
  std::string out, url_line, token_line, preview_line;
  auto find_lines = [&] {
    out = ReadFile(stdout_path_);
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line) && !lines.eof();) {
      if (line.rfind(kUrlPrefix, 0) == 0) {
        url_line = line;
        std::string next;
        if (std::getline(lines, next) && !lines.eof()) token_line = next;
      } else if (line.rfind(kPreviewPrefix, 0) == 0) {
        preview_line = line;
      }
    }
    return !token_line.empty() && !preview_line.empty();
  };
  WaitFor([&] { return find_lines() || !process_.Poll(); }, 30s, 20ms);
  auto fail = [&](const std::string& why) {
    return ::testing::AssertionFailure()
           << "sandboxd did not start: " << why << "\nstdout so far:\n"
           << out << "\nprocess: "
           << (process_.running() ? "running" : DescribeWaitStatus(process_.exit_status()))
           << "\nstderr:\n"
           << LogTail(40);
  };
  if (url_line.empty() || token_line.rfind(kTokenPrefix, 0) != 0 || preview_line.empty()) {
    return fail(
        "no \"sandboxd listening on …\" line followed by \"API token: …\", and \"Previews on …\", "
        "within 30 s");
  }
  url_ = url_line.substr(sizeof(kUrlPrefix) - 1);
  auto hp = ParseHttpUrl(url_);
  if (!hp || hp->host != "127.0.0.1" || url_.back() != '/') return fail("bad URL \"" + url_ + "\"");
  port_ = hp->port;
  // The token itself only when this start generated it; otherwise where it is
  // ("in <data-dir>/api-token", "from --api-token …").
  const std::string shown_token = token_line.substr(sizeof(kTokenPrefix) - 1);
  const bool token_shown = shown_token.find(' ') == std::string::npos;
  if (token_shown) {
    token_ = shown_token;
  } else if (!options_.api_token.empty()) {
    token_ = options_.api_token;
  } else {
    token_ = FirstLine(ReadFile(data_dir_ / "api-token"));
  }
  if (token_.empty()) return fail("empty API token");
  if (token_shown == (!options_.api_token.empty() || shown_token.rfind("in ", 0) == 0)) {
    return fail("bad token line \"" + token_line + "\"");
  }
  // "Previews on 127.0.0.1:41235: http://<port>-<sandboxId>.localhost:41235/"
  {
    const std::string rest = preview_line.substr(sizeof(kPreviewPrefix) - 1);
    const size_t sep = rest.find(": ");
    auto listen = sep == std::string::npos ? std::nullopt : ParseHttpUrl("http://" + rest.substr(0, sep) + "/");
    constexpr std::string_view kTemplate = "http://<port>-<sandboxId>.";
    const std::string shown = sep == std::string::npos ? "" : rest.substr(sep + 2);
    if (!listen || shown.rfind(kTemplate, 0) != 0 || shown.back() != '/') {
      return fail("bad preview line \"" + preview_line + "\"");
    }
    preview_port_ = listen->port;
    preview_domain_ = shown.substr(kTemplate.size(), shown.size() - kTemplate.size() - 1);
  }
  if (!options_.api_token.empty() && token_ != options_.api_token) {
    return fail("printed token differs from --api-token");
  }
  if (options_.api_token.empty() && FirstLine(ReadFile(data_dir_ / "api-token")) != token_) {
    return fail("printed token differs from " + (data_dir_ / "api-token").string());
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Daemon::Stop() {
  if (!process_.running()) return ::testing::AssertionFailure() << "sandboxd is not running";
  const int status = process_.SignalAndWait(SIGTERM, 20s);
  if (status == -1) {
    (void)process_.SignalAndWait(SIGKILL, 10s);
    return ::testing::AssertionFailure()
           << "sandboxd did not exit within 20 s of SIGTERM (killed it)\nstderr:\n"
           << LogTail(40);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ::testing::AssertionFailure()
           << "sandboxd did not stop cleanly on SIGTERM: " << DescribeWaitStatus(status)
           << "\nstderr:\n"
           << LogTail(40);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Daemon::Kill9() {
  if (!process_.running()) return ::testing::AssertionFailure() << "sandboxd is not running";
  const int status = process_.SignalAndWait(SIGKILL, 10s);
  if (status == -1) return ::testing::AssertionFailure() << "sandboxd survived SIGKILL for 10 s";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Daemon::Restart() {
  if (process_.running()) {
    if (auto stopped = Stop(); !stopped) return stopped;
  }
  return Start();
}

HttpResponse Daemon::Call(http::verb method, const std::string& target, const std::string& body,
                          std::chrono::milliseconds timeout) const {
  return HttpCall({.port = port_,
                   .method = method,
                   .target = target,
                   .body = body,
                   .headers = {{"Authorization", "Bearer " + token_}},
                   .timeout = timeout});
}

HttpResponse Daemon::CallWithHeaders(http::verb method, const std::string& target,
                                     std::vector<std::pair<std::string, std::string>> headers,
                                     const std::string& body) const {
  return HttpCall({.port = port_,
                   .method = method,
                   .target = target,
                   .body = body,
                   .headers = std::move(headers)});
}

std::optional<SandboxView> Daemon::Get(const std::string& project, std::string* why) const {
  HttpResponse r = Call(http::verb::get, "/api/projects/" + project + "/sandbox");
  if (!r.answered || r.status != 200) {
    if (why) *why = "GET sandbox of " + project + ": " + r.Describe();
    return std::nullopt;
  }
  return ParseSandbox(r.body, why);
}

std::string Daemon::StatusOf(const std::string& project) const {
  std::string why;
  auto s = Get(project, &why);
  return s ? s->status : "<" + why + ">";
}

std::optional<std::vector<HistoryEvent>> Daemon::History(const std::string& project,
                                                         std::string* why) const {
  HttpResponse r = Call(http::verb::get, "/api/projects/" + project + "/sandbox/history");
  if (!r.answered || r.status != 200) {
    if (why) *why = "GET history of " + project + ": " + r.Describe();
    return std::nullopt;
  }
  return ParseHistory(r.body, why);
}

std::vector<std::string> Daemon::CtlArgv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {Executable("sandboxctl"), "--url",
                                   "http://127.0.0.1:" + std::to_string(port_), "--token", token_};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult Daemon::Ctl(const std::vector<std::string>& args) const {
  return RunCommand(CtlArgv(args), 120s);
}

std::vector<std::string> Daemon::RuncList() const {
  if (data_dir_.empty()) return {};
  return RuncIds(runc_root());
}

std::string Daemon::RuncStatus(const std::string& container_id) const {
  CommandResult r = Runc(runc_root(), {"state", container_id});
  if (r.exit_code != 0) return "";
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.out, ec);
  if (ec || !v.is_object()) return "";
  const boost::json::value* status = v.as_object().if_contains("status");
  return status && status->is_string() ? std::string(status->as_string()) : "";
}

std::string Daemon::Stdout() const { return stdout_path_.empty() ? "" : ReadFile(stdout_path_); }

std::string Daemon::LogTail(size_t lines) const { return TailOfFile(log_, lines); }

void Daemon::CleanUp() {
  if (process_.running()) {
    if (process_.SignalAndWait(SIGTERM, 20s) == -1) (void)process_.SignalAndWait(SIGKILL, 10s);
  }
  if (root_.empty()) return;
  RemoveAllContainers(runc_root());
  if (::testing::Test::HasFailure()) {
    const std::string& name = options_.name;
    for (int run = 1; run <= starts_; ++run) {
      const fs::path out = root_ / ("stdout-" + std::to_string(run) + ".txt");
      std::cerr << "---- " << name << " stdout, run " << run << " ----\n" << ReadFile(out);
    }
    std::cerr << "---- " << name << " stderr, all runs (last lines) ----\n"
              << LogTail(options_.log_lines_on_failure) << "---- end of " << name
              << " output ----\n";
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
  if (ec) ADD_FAILURE() << "cleanup: remove " << root_ << ": " << ec.message();
}

}  // namespace sbx::integration
