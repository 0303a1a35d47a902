// sandboxctl: the command-line client of sandboxd. Talks only to the public
// HTTP API (DESIGN.md §7). On a terminal it prints aligned fields and tables
// (cli/render.h); otherwise, or with `-o json`, the JSON the API answered,
// one document per command. Exit codes: 0 success, 1 API or connection
// error, 2 usage or configuration error; `hold … -- command` exits with the
// command's code.
#include <CLI/CLI.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "base/time.h"
#include "cli/render.h"
#include "core/validation.h"
#include "version.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace cli = sbx::cli;

struct Client {
  std::string host;
  std::string port;
  std::string token;

  // Sends one request; returns status and body, or throws nothing: errors come
  // back as status 0 with the message in the body.
  std::pair<int, std::string> Call(http::verb verb, const std::string& target,
                                   const std::string& body = "") const {
    try {
      net::io_context io;
      net::ip::tcp::resolver resolver(io);
      beast::tcp_stream stream(io);
      stream.expires_after(std::chrono::seconds(120));
      stream.connect(resolver.resolve(host, port));
      http::request<http::string_body> req{verb, target, 11};
      req.set(http::field::host, host);
      req.set(http::field::authorization, "Bearer " + token);
      if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
      }
      req.prepare_payload();
      http::write(stream, req);
      beast::flat_buffer buf;
      http::response<http::string_body> res;
      http::read(stream, buf, res);
      beast::error_code ec;
      stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
      return {res.result_int(), res.body()};
    } catch (const boost::system::system_error& e) {
      // The error's own words, without Boost's file and line.
      std::string why = "cannot reach sandboxd at " + host + ":" + port + ": " + e.code().message();
      if (e.code() == net::error::connection_refused) {
        why += " (is `sandboxd serve` running there? --url or SANDBOXD_URL names another)";
      }
      return {0, why};
    } catch (const std::exception& e) {
      return {0, std::string("cannot reach sandboxd at ") + host + ":" + port + ": " + e.what()};
    }
  }
};

// How answers are printed: JSON as the API sent it, or text for people.
struct Output {
  bool json = true;
  cli::Style style;
};
Output g_output;

using Renderer = std::string (*)(const json::value&, const cli::Style&);

// Prints an answer: errors on stderr (exit 1); a body as JSON or rendered
// (`done` is the text-mode line for an answer without a body).
int Report(const std::pair<int, std::string>& r, Renderer render = nullptr,
           const std::string& done = "") {
  if (r.first == 0) {
    std::cerr << "sandboxctl: " << r.second << "\n";
    return 1;
  }
  if (r.first >= 400) {
    boost::system::error_code ec;
    auto v = json::parse(r.second, ec);
    if (!ec && v.is_object() && v.as_object().contains("error")) {
      const auto& e = v.at("error");
      std::cerr << "sandboxctl: " << r.first << " " << json::value_to<std::string>(e.at("code"))
                << ": " << json::value_to<std::string>(e.at("message")) << "\n";
    } else {
      std::cerr << "sandboxctl: HTTP " << r.first << ": " << r.second << "\n";
    }
    return 1;
  }
  if (g_output.json || !render) {
    if (!r.second.empty()) {
      std::cout << r.second << "\n";
    } else if (!g_output.json && !done.empty()) {
      std::cout << done << "\n";
    }
    return 0;
  }
  boost::system::error_code ec;
  auto v = json::parse(r.second, ec);
  if (ec || !v.is_object()) {
    std::cout << r.second << "\n";
    return 0;
  }
  std::cout << render(v, g_output.style);
  return 0;
}

// The token in <data_dir>/api-token, or why there is none.
sbx::Result<std::string> ReadToken(const std::string& data_dir) {
  const std::string path = data_dir + "/api-token";
  std::ifstream in(path);
  std::string t;
  if (!in || !std::getline(in, t) || t.empty()) {
    return sbx::NotFound(
        "no API token: " + path + " " + (in ? "is empty" : "cannot be read") +
        "; give --token or SANDBOXD_TOKEN, or --data-dir (SANDBOXD_DATA_DIR) naming the data "
        "directory of `sandboxd serve`, which writes api-token there at its first start");
  }
  return t;
}

// Everything the command line sets.
struct Args {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  std::string data_dir = "data";
  std::string project, tmpl, timeout, status_filter, idle_policy;
  std::string hold_name, hold_for = "60s";
  std::string login_url;
  std::vector<std::string> command;  // after `--` (hold … -- command)
  std::string output;  // json or text; "" = text on a terminal, else json
  bool json = false;   // --json: -o json
  bool wait = false;   // --wait: the default, kept for scripts
  bool no_wait = false;
  std::string wait_for = "60s";
  bool if_missing = false;
  bool remove_history = false;
  int64_t before = 0;
  std::string cursor;
  bool follow = false;
  int tail = 100;
  int limit = 0;
};

// The subcommands, to tell which one was given.
struct Commands {
  CLI::App* create;
  CLI::App* status;
  CLI::App* wake;
  CLI::App* pause;
  CLI::App* kill;
  CLI::App* forget;
  CLI::App* activity;
  CLI::App* set_timeout;
  CLI::App* set_policy;
  CLI::App* history;
  CLI::App* explain;
  CLI::App* list;
  CLI::App* runs;
  CLI::App* hold;
  CLI::App* unhold;
  CLI::App* holds;
  CLI::App* logs;
  CLI::App* completion;
  CLI::App* login;
};

// Defines the global options and the subcommands, writing into `a`.
Commands AddCommands(CLI::App& app, Args& a) {
  // The global options may also follow the subcommand (`status demo --json`).
  app.fallthrough();
  app.add_option("--url", a.url, "sandboxd base URL")
      ->envname("SANDBOXD_URL")
      ->capture_default_str();
  app.add_option("--token", a.token, "API token (default: <data-dir>/api-token)")
      ->envname("SANDBOXD_TOKEN");
  app.add_option("--data-dir", a.data_dir, "where to find api-token")
      ->envname("SANDBOXD_DATA_DIR")
      ->capture_default_str();
  app.add_option("-o,--output", a.output,
                 "json (the API's answers) or text (for people); default: text on a terminal")
      ->check(CLI::IsMember({"json", "text"}));
  app.add_flag("--json", a.json, "same as -o json");

  auto add_project = [&](CLI::App* c) {
    c->add_option("project", a.project, "project id")->required();
  };
  Commands c{};
  c.create = app.add_subcommand("create", "create the project's sandbox (waits until it serves)");
  add_project(c.create);
  c.create->add_option("--template", a.tmpl, "template name");
  c.create->add_option("--idle-timeout", a.timeout, "idle timeout (30s, 3m)");
  c.create->add_flag("--if-missing", a.if_missing,
                     "a live sandbox already there is fine (otherwise an error)");
  c.status = app.add_subcommand("status", "show the project's sandbox");
  add_project(c.status);
  c.wake = app.add_subcommand("wake", "resume (or re-create) the project's sandbox");
  add_project(c.wake);
  c.wake->add_flag("--wait", a.wait, "wait until it is RUNNING (the default)");
  c.wake->add_flag("--no-wait", a.no_wait, "return once the wake has started");
  c.wake->add_option("--timeout", a.wait_for, "how long to wait (60s)")->capture_default_str();
  c.pause = app.add_subcommand("pause", "pause the project's sandbox now");
  add_project(c.pause);
  c.kill = app.add_subcommand("kill", "kill the project's sandbox");
  add_project(c.kill);
  c.forget = app.add_subcommand(
      "forget", "forget a killed project's record (it leaves the list; its history stays unless "
                "--remove-history)");
  add_project(c.forget);
  c.forget->add_flag("--remove-history", a.remove_history, "remove its history too");
  c.activity = app.add_subcommand("activity", "record activity (pushes pauseAt forward)");
  add_project(c.activity);
  c.set_timeout = app.add_subcommand("set-idle-timeout", "change the idle timeout");
  add_project(c.set_timeout);
  c.set_timeout->add_option("timeout", a.timeout, "new idle timeout (30s, 3m)")->required();
  c.set_policy = app.add_subcommand("set-idle-policy", "choose the project's idle policy");
  add_project(c.set_policy);
  c.set_policy->add_option("policy", a.idle_policy,
                           "fixed, adaptive, warmup, or default (the deployment's)")
      ->required()
      ->check(CLI::IsMember({"fixed", "adaptive", "warmup", "default"}));
  c.history = app.add_subcommand("history", "the project's lifecycle events");
  add_project(c.history);
  c.explain = app.add_subcommand("explain", "why the sandbox is awake or paused, and what is next");
  add_project(c.explain);
  c.list = app.add_subcommand("list", "list sandboxes");
  c.list->add_option("--status", a.status_filter, "only this status");
  c.list->add_option("--limit", a.limit, "page size");
  c.list->add_option("--cursor", a.cursor, "start after this project (the `more:` of a page)");
  c.runs = app.add_subcommand("runs", "idle enforcer runs");
  c.runs->add_option("--limit", a.limit, "how many");
  c.runs->add_option("--before", a.before, "older than this run id (the `more:` of a page)");
  c.hold = app.add_subcommand(
      "hold",
      "keep the sandbox awake: `hold demo build --for 10m`, or `hold demo -- make build` for as "
      "long as the command runs (renewing the hold, released when it ends)");
  add_project(c.hold);
  c.hold->add_option("name", a.hold_name, "hold name (default with a command: sandboxctl-<pid>)");
  c.hold->add_option("--for", a.hold_for,
                     "how long (30s, 10m); with a command, renewed every third of it (placed for "
                     "at least 2m)")
      ->capture_default_str();
  c.unhold = app.add_subcommand("unhold", "release a hold");
  add_project(c.unhold);
  c.unhold->add_option("name", a.hold_name, "hold name")->required();
  c.holds = app.add_subcommand("holds", "list the sandbox's unexpired holds");
  add_project(c.holds);
  c.logs = app.add_subcommand("logs", "the sandbox's output (local runtime), as text");
  add_project(c.logs);
  c.logs->add_option("--tail", a.tail, "how many of the last lines")->capture_default_str();
  c.logs->add_flag("-f,--follow", a.follow, "keep printing new output (Ctrl-C ends)");
  c.login = app.add_subcommand(
      "login", "check a sandboxd URL and token and keep them for the next commands (config file)");
  c.login->add_option("url", a.login_url, "sandboxd base URL, http://host:port")->required();
  c.completion = app.add_subcommand("completion", "print a shell completion script: completion bash");
  c.completion->add_option("shell", a.project, "bash")->required()->check(CLI::IsMember({"bash"}));
  return c;
}

// A line on stderr that a terminal redraws in place every 100 ms, from a
// thread of its own: a spinner frame, a label and the time waited so far.
// Destroying it clears the line. Off a terminal, or with -o json, it draws
// nothing (the caller says what happened in plain lines instead).
class Spinner {
 public:
  explicit Spinner(std::string label)
      : label_(std::move(label)), on_(!g_output.json && isatty(STDERR_FILENO) == 1) {
    if (on_) thread_ = std::thread([this] { Draw(); });
  }
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;
  ~Spinner() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (on_) std::cerr << "\r\033[K" << std::flush;
  }
  bool on() const { return on_; }
  void Set(std::string label) {
    std::lock_guard lock(mu_);
    label_ = std::move(label);
  }

 private:
  void Draw() {
    static constexpr std::string_view kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼",
                                                   "⠴", "⠦", "⠧", "⠇", "⠏"};
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    // The first frame is drawn even when the wait is over at once.
    for (size_t i = 0; i == 0 || !stop_; ++i) {
      const auto tenths = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count() /
                          100;
      std::cerr << "\r\033[K" << kFrames[i % std::size(kFrames)] << " " << label_ << " ("
                << tenths / 10 << "." << tenths % 10 << "s)" << std::flush;
      cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::string label_;
  bool stop_ = false;
  const bool on_;
  std::thread thread_;
};

// `d` (30s, 3m) in whole seconds; prints why and returns nothing when invalid.
std::optional<int64_t> Seconds(const std::string& d) {
  auto r = sbx::ParseDuration(d);
  if (!r.ok()) {
    std::cerr << "sandboxctl: " << r.error().message() << "\n";
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*r).count();
}

// After a wake answered 202: polls `base` until the wake settles (RUNNING,
// or back to PAUSED/KILLED on failure) or `timeout` passes; in text mode says
// each status it sees on stderr as it changes.
int WaitForWake(const Client& client, const std::string& base, std::chrono::seconds timeout) {
  std::string last;
  std::string path;  // every status seen, in order: "PAUSED → STARTING → RUNNING"
  std::optional<Spinner> spinner;
  spinner.emplace("waking");
  const auto polls = std::max<int64_t>(1, timeout.count() * 10);
  for (int64_t i = 0; i < polls; ++i) {
    auto s = client.Call(http::verb::get, base);
    if (s.first != 200) {
      spinner.reset();
      return Report(s);
    }
    boost::system::error_code ec;
    auto v = json::parse(s.second, ec);
    const std::string st =
        !ec && v.is_object() && v.at("status").is_string() ? std::string(v.at("status").as_string())
                                                           : "";
    if (!g_output.json && st != last) {
      path += (last.empty() ? "" : " → ") + st;
      last = st;
      // On a terminal the spinner's line shows the path; elsewhere each
      // status is written as it comes.
      if (spinner->on()) {
        spinner->Set(path);
      } else {
        std::cerr << (path == st ? "" : " → ") << st << std::flush;
      }
    }
    if (st != "STARTING") {
      const bool drawn = spinner->on();
      spinner.reset();
      if (drawn) std::cerr << path;
      if (!g_output.json) std::cerr << "\n";
      // A wake that settles anywhere but RUNNING (resume failed) is a failure.
      const int rc = Report(s, cli::RenderSandbox);
      if (st != "RUNNING") {
        std::cerr << "sandboxctl: the wake ended " << st << " (see `sandboxctl explain`)\n";
        return 1;
      }
      return rc;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const bool drawn = spinner->on();
  spinner.reset();
  if (drawn) std::cerr << path;
  if (!g_output.json) std::cerr << "\n";
  std::cerr << "sandboxctl: still STARTING after " << cli::Seconds(timeout.count()) << "\n";
  return 1;
}

std::string HoldBody(const std::string& name, int64_t seconds) {
  json::object body;
  body["name"] = name;
  body["ttlSeconds"] = seconds;
  return json::serialize(body);
}

// The command of `hold … --` while it runs, for ForwardToHeldCommand.
volatile sig_atomic_t g_held_child = 0;

// A signal sent to sandboxctl alone (kill, a supervisor stopping it) goes on
// to the command, and the command's end releases the hold. One from the
// terminal (Ctrl-C; si_code SI_KERNEL) reached the whole foreground group,
// the command included: it is not sent twice. Either way sandboxctl stays to
// release the hold.
void ForwardToHeldCommand(int sig, siginfo_t* info, void*) {
  const pid_t child = g_held_child;
  if (child > 0 && (info == nullptr || info->si_code != SI_KERNEL)) kill(child, sig);
}

// The least a hold of `hold … -- command` is placed for: renewed every third
// of --for, it stays this far from expiring, outside the server's pause
// warning (--pause-warning, 30 s by default), so a renewal never brings on a
// "Pausing in …" for a sandbox that is busy. If sandboxctl dies without
// releasing it, the hold lasts this long at most. A server whose
// --max-hold-ttl is lower gets --for as it is.
constexpr int64_t kMinCommandHoldSeconds = 120;

// `hold … -- command`: places the hold, runs the command with this process's
// stdio, renews the hold every third of `seconds` while the command runs,
// then releases it. Returns the command's exit code (128 + signal if killed).
int HoldWhileRunning(const Client& client, const std::string& base, const std::string& name,
                     int64_t seconds, const std::vector<std::string>& command) {
  int64_t ttl = std::max(seconds, kMinCommandHoldSeconds);
  std::vector<char*> argv;
  for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  // Signals that would end sandboxctl end the command instead (above); they
  // wait until the child's pid is known. The command gets the default
  // dispositions back at exec (caught signals are reset, the mask restored).
  constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  struct sigaction forward {};
  forward.sa_sigaction = ForwardToHeldCommand;
  forward.sa_flags = SA_SIGINFO;
  sigemptyset(&forward.sa_mask);
  struct sigaction previous[std::size(kForwarded)] = {};
  sigset_t forwarded;
  sigset_t mask;
  sigemptyset(&forwarded);
  for (int sig : kForwarded) sigaddset(&forwarded, sig);
  sigprocmask(SIG_BLOCK, &forwarded, &mask);
  for (size_t i = 0; i < std::size(kForwarded); ++i) {
    sigaction(kForwarded[i], &forward, &previous[i]);
  }
  auto restore_signals = [&] {
    g_held_child = 0;
    for (size_t i = 0; i < std::size(kForwarded); ++i) {
      sigaction(kForwarded[i], &previous[i], nullptr);
    }
    sigprocmask(SIG_SETMASK, &mask, nullptr);
  };
  // Placed with the signals held back, so that none ends sandboxctl between
  // placing the hold and releasing it.
  auto placed = client.Call(http::verb::post, base + "/holds", HoldBody(name, ttl));
  if (placed.first == 400 && ttl != seconds) {
    // The server's --max-hold-ttl is below the minimum: --for as it is.
    ttl = seconds;
    placed = client.Call(http::verb::post, base + "/holds", HoldBody(name, ttl));
  }
  if (placed.first != 200) {
    restore_signals();
    return Report(placed);
  }
  // One that came meanwhile (Ctrl-C while the hold was being placed) is
  // for a command that has not started: release the hold and end as the
  // signal would have ended sandboxctl.
  sigset_t pending;
  sigpending(&pending);
  for (int sig : kForwarded) {
    if (sigismember(&pending, sig) != 1) continue;
    (void)client.Call(http::verb::delete_, base + "/holds/" + name);
    restore_signals();  // the pending signal acts now, as it would have
    return 128 + sig;
  }
  const pid_t child = fork();
  if (child < 0) {
    std::cerr << "sandboxctl: fork: " << std::strerror(errno) << "\n";
    restore_signals();
    (void)client.Call(http::verb::delete_, base + "/holds/" + name);
    return 1;
  }
  if (child == 0) {
    // The default dispositions before the signals are unblocked: one the
    // parent forwarded before this exec (its pid is known to the parent
    // first) ends this child, as it would the command, instead of reaching
    // the inherited handler, which has no child to pass it to.
    for (int sig : kForwarded) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &mask, nullptr);
    execvp(argv[0], argv.data());
    std::cerr << "sandboxctl: " << command[0] << ": " << std::strerror(errno) << "\n";
    _exit(127);
  }
  g_held_child = child;
  sigprocmask(SIG_SETMASK, &mask, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread renew([&] {
    const auto every = std::chrono::milliseconds(std::max<int64_t>(seconds * 1000 / 3, 200));
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, every, [&] { return done; })) {
      lock.unlock();
      auto r = client.Call(http::verb::post, base + "/holds", HoldBody(name, ttl));
      if (r.first == 404 || r.first == 409) {
        // The sandbox is no longer RUNNING (paused or killed from elsewhere)
        // or gone: no renewal can succeed until someone wakes it. Said once;
        // the command goes on, unheld.
        std::cerr << "sandboxctl: hold " << name << " ended: ";
        (void)Report(r);
        std::cerr << "sandboxctl: the command goes on without a hold\n";
        lock.lock();
        break;
      }
      if (r.first != 200) {
        std::cerr << "sandboxctl: renewing hold " << name << " failed (will retry): ";
        (void)Report(r);
      }
      lock.lock();
    }
  });
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  restore_signals();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  renew.join();
  auto released = client.Call(http::verb::delete_, base + "/holds/" + name);
  if (released.first != 204 && released.first != 404) (void)Report(released);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// `logs`: prints the last `tail` lines, then with `follow` polls for the
// lines written since (the cursor each read returns) every half second.
int Logs(const Client& client, const std::string& base, int tail, bool follow) {
  std::string target = base + "/logs?tail=" + std::to_string(tail);
  for (;;) {
    auto r = client.Call(http::verb::get, target);
    if (r.first != 200) return Report(r);
    boost::system::error_code ec;
    auto v = json::parse(r.second, ec);
    if (ec || !v.is_object()) {
      std::cerr << "sandboxctl: unexpected answer: " << r.second << "\n";
      return 1;
    }
    if (v.at("skipped").as_bool()) std::cerr << "sandboxctl: (older output was discarded)\n";
    for (const auto& line : v.at("lines").as_array()) std::cout << line.as_string().c_str() << "\n";
    std::cout.flush();
    if (!follow) return 0;
    target = base + "/logs?after=" + std::string(v.at("cursor").as_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// `completion bash`: completes the subcommands, then global options.
std::string BashCompletion(const CLI::App& app) {
  std::string commands;
  for (const CLI::App* sub : app.get_subcommands({})) {
    commands += (commands.empty() ? "" : " ") + sub->get_name();
  }
  return "# sandboxctl completion for bash: source <(sandboxctl completion bash)\n"
         "_sandboxctl() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]}\n"
         "  if [ \"$COMP_CWORD\" -eq 1 ] || [[ \"${COMP_WORDS[COMP_CWORD-1]}\" == --* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"" + commands +
         " --url --token --data-dir --output --json --version --help\" -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -F _sandboxctl sandboxctl\n";
}

// Where `login` keeps the URL and token: $XDG_CONFIG_HOME/sandboxd/sandboxctl.json
// (~/.config when XDG_CONFIG_HOME is unset); "" when neither is known.
std::string ConfigPath() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/sandboxd/sandboxctl.json";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.config/sandboxd/sandboxctl.json";
  }
  return "";
}

struct Config {
  std::string url;
  std::string token;
};

// The config file's URL and token; empty when there is none (or it is not
// the JSON login wrote).
Config ReadConfig() {
  const std::string path = ConfigPath();
  if (path.empty()) return {};
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  Config c;
  if (auto* u = v.as_object().if_contains("url"); u && u->is_string()) c.url = u->as_string();
  if (auto* t = v.as_object().if_contains("token"); t && t->is_string()) c.token = t->as_string();
  return c;
}

// Writes the config file readable by its owner only (0600, its directory
// 0700).
sbx::Status WriteConfig(const Config& c) {
  const std::string path = ConfigPath();
  if (path.empty()) return sbx::FailedPrecondition("neither XDG_CONFIG_HOME nor HOME is set");
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) return sbx::Internal("cannot create " + dir.string() + ": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return sbx::Internal("cannot write " + path + ": " + std::strerror(errno));
  (void)::fchmod(fd, 0600);  // an existing file keeps its old mode otherwise
  json::object o{{"url", c.url}, {"token", c.token}};
  const std::string text = json::serialize(o) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return sbx::Internal("cannot write " + path);
  return sbx::OkStatus();
}

// The first word of the command line that is neither an option nor the value
// of a global option that takes one: the command.
std::optional<std::string> CommandWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--url" || arg == "--token" || arg == "--data-dir" || arg == "-o" ||
        arg == "--output") {
      ++i;
      continue;
    }
    if (!arg.starts_with("-")) return std::string(arg);
  }
  return std::nullopt;
}

// Runs the subcommand that was given.
int Dispatch(const Commands& c, const Args& a, const Client& client) {
  const std::string base = "/api/projects/" + a.project + "/sandbox";
  if (c.create->parsed()) {
    json::object body;
    if (!a.tmpl.empty()) body["template"] = a.tmpl;
    if (!a.timeout.empty()) {
      auto s = Seconds(a.timeout);
      if (!s) return 2;
      body["idleTimeoutSeconds"] = *s;
    }
    std::pair<int, std::string> r;
    {
      Spinner spinner("creating " + a.project + " (it answers once the sandbox serves)");
      r = client.Call(http::verb::post, base, json::serialize(body));
    }
    if (r.first == 200 && !a.if_missing) {
      // 200, not 201: the project already had a live sandbox.
      boost::system::error_code ec;
      auto v = json::parse(r.second, ec);
      const std::string st = !ec && v.is_object() ? std::string(v.at("status").as_string()) : "?";
      std::cerr << "sandboxctl: project " << a.project << " already has a sandbox (" << st
                << "); nothing was created (--if-missing accepts that)\n";
      return 1;
    }
    return Report(r, cli::RenderSandbox);
  }
  if (c.status->parsed()) return Report(client.Call(http::verb::get, base), cli::RenderSandbox);
  if (c.pause->parsed()) {
    return Report(client.Call(http::verb::post, base + "/pause"), cli::RenderSandbox);
  }
  if (c.kill->parsed()) {
    return Report(client.Call(http::verb::delete_, base), nullptr, a.project + ": killed");
  }
  if (c.forget->parsed()) {
    const std::string q = "/api/projects/" + a.project +
                          (a.remove_history ? "?history=remove" : "?history=keep");
    return Report(client.Call(http::verb::delete_, q), cli::RenderForgotten);
  }
  if (c.activity->parsed()) {
    return Report(client.Call(http::verb::post, base + "/activity"), nullptr,
                  a.project + ": activity recorded");
  }
  if (c.history->parsed()) {
    return Report(client.Call(http::verb::get, base + "/history"), cli::RenderHistory);
  }
  if (c.explain->parsed()) {
    return Report(client.Call(http::verb::get, base + "/explain"), cli::RenderExplain);
  }
  if (c.set_timeout->parsed()) {
    auto s = Seconds(a.timeout);
    if (!s) return 2;
    json::object body;
    body["idleTimeoutSeconds"] = *s;
    return Report(client.Call(http::verb::patch, base, json::serialize(body)),
                  cli::RenderSandbox);
  }
  if (c.set_policy->parsed()) {
    json::object body;
    body["idlePolicy"] =
        a.idle_policy == "default" ? json::value(nullptr) : json::value(a.idle_policy);
    return Report(client.Call(http::verb::patch, base, json::serialize(body)),
                  cli::RenderSandbox);
  }
  if (c.wake->parsed()) {
    auto timeout = Seconds(a.wait_for);
    if (!timeout) return 2;
    auto r = client.Call(http::verb::post, base + "/wake");
    if (a.no_wait || r.first != 202) return Report(r, cli::RenderSandbox);
    return WaitForWake(client, base, std::chrono::seconds(*timeout));
  }
  if (c.list->parsed()) {
    std::string q = "/api/sandboxes?";
    if (!a.status_filter.empty()) q += "status=" + a.status_filter + "&";
    if (a.limit > 0) q += "limit=" + std::to_string(a.limit) + "&";
    if (!a.cursor.empty()) {
      q += "cursor=" + boost::urls::encode(a.cursor, boost::urls::unreserved_chars);
    }
    return Report(client.Call(http::verb::get, q), cli::RenderList);
  }
  if (c.hold->parsed()) {
    auto seconds = Seconds(a.hold_for);
    if (!seconds) return 2;
    if (!a.command.empty()) {
      const std::string name =
          a.hold_name.empty() ? "sandboxctl-" + std::to_string(getpid()) : a.hold_name;
      return HoldWhileRunning(client, base, name, *seconds, a.command);
    }
    if (a.hold_name.empty()) {
      std::cerr << "sandboxctl: hold needs a name, or a command after --\n";
      return 2;
    }
    return Report(client.Call(http::verb::post, base + "/holds", HoldBody(a.hold_name, *seconds)),
                  cli::RenderHoldPlaced);
  }
  if (c.unhold->parsed()) {
    // The name goes into the path: only what the API accepts anyway (its
    // own rule).
    if (sbx::Status s = sbx::core::ValidateHoldName(a.hold_name); !s.ok()) {
      std::cerr << "sandboxctl: " << s.message() << "\n";
      return 2;
    }
    return Report(client.Call(http::verb::delete_, base + "/holds/" + a.hold_name), nullptr,
                  a.project + ": hold " + a.hold_name + " released");
  }
  if (c.holds->parsed()) {
    return Report(client.Call(http::verb::get, base + "/holds"), cli::RenderHolds);
  }
  if (c.logs->parsed()) return Logs(client, base, a.tail, a.follow);
  if (c.runs->parsed()) {
    std::string q = "/api/jobs/idle-enforcer/runs?";
    if (a.limit > 0) q += "limit=" + std::to_string(a.limit) + "&";
    if (a.before > 0) q += "before=" + std::to_string(a.before);
    return Report(client.Call(http::verb::get, q), cli::RenderRuns);
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sandboxctl: drive sandboxd from the command line"};
  app.set_version_flag("--version", std::string("sandboxctl ") + SBX_VERSION_LINE);
  app.require_subcommand(1);
  Args args;
  const Commands commands = AddCommands(app, args);
  // Everything after `--` is a command to run (hold … -- command), not
  // arguments for sandboxctl.
  int own = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      own = i;
      args.command.assign(argv + i + 1, argv + argc);
      break;
    }
  }
  if (own < argc && args.command.empty()) {
    std::cerr << "sandboxctl: nothing to run after --\n";
    return 2;
  }
  try {
    app.parse(own, argv);
  } catch (const CLI::ParseError& e) {
    // A first word that is no command: say so plainly.
    if (auto word = CommandWord(own, argv); word && app.get_subcommands().empty()) {
      bool known = false;
      for (const CLI::App* sub : app.get_subcommands({})) known |= sub->get_name() == *word;
      if (!known) {
        std::cerr << "sandboxctl: unknown command \"" << *word
                  << "\" (sandboxctl --help lists them)\n";
        return 2;
      }
    }
    // Help and --version exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (commands.completion->parsed()) {
    std::cout << BashCompletion(app);
    return 0;
  }
  if (!args.project.empty()) {
    // The id goes into request paths: only what the API accepts (its own rule).
    if (sbx::Status s = sbx::core::ValidateProjectId(args.project); !s.ok()) {
      std::cerr << "sandboxctl: " << s.message() << "\n";
      return 2;
    }
  }
  const bool terminal = isatty(STDOUT_FILENO) == 1;
  g_output.json = args.json || args.output == "json" || (args.output.empty() && !terminal);
  const char* term = std::getenv("TERM");
  g_output.style.color = terminal && std::getenv("NO_COLOR") == nullptr && term != nullptr &&
                         std::string_view(term) != "dumb";
  g_output.style.now = std::chrono::system_clock::now();

  // The URL and token: flags, then the environment, then what `login` kept,
  // then (the token) <data-dir>/api-token.
  // (CLI11 counts a non-empty SANDBOXD_URL as given.)
  const bool url_given = app.get_option("--url")->count() > 0;
  const Config config = ReadConfig();
  if (commands.login->parsed()) {
    args.url = args.login_url;
  } else if (!url_given && !config.url.empty()) {
    args.url = config.url;
  }
  auto parsed = boost::urls::parse_uri(args.url);
  if (!parsed || parsed->scheme() != "http") {
    std::cerr << "sandboxctl: --url must be http://host:port\n";
    return 2;
  }
  if (!args.command.empty() && !commands.hold->parsed()) {
    std::cerr << "sandboxctl: only `hold` runs a command after --\n";
    return 2;
  }
  std::string token = args.token;
  if (token.empty()) {
    // The name of earlier releases.
    if (const char* legacy = std::getenv("SANDBOXD_API_TOKEN")) token = legacy;
  }
  if (token.empty() && !config.token.empty() && config.url == args.url) token = config.token;
  if (token.empty()) {
    auto stored = ReadToken(args.data_dir);
    if (!stored.ok()) {
      std::cerr << "sandboxctl: " << stored.error().message() << "\n";
      return 2;
    }
    token = *stored;
  }
  Client client{std::string(parsed->host()),
                parsed->has_port() ? std::string(parsed->port()) : "80", token};
  if (commands.login->parsed()) {
    // Only a URL and token that work are kept.
    auto check = client.Call(http::verb::get, "/api/sandboxes?limit=1");
    if (check.first != 200) return Report(check);
    if (sbx::Status s = WriteConfig({args.url, token}); !s.ok()) {
      std::cerr << "sandboxctl: " << s.message() << "\n";
      return 1;
    }
    std::cout << "logged in to " << args.url << " (kept in " << ConfigPath() << ")\n";
    return 0;
  }
  return Dispatch(commands, args, client);
}
