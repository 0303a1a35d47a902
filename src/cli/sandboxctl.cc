// sandboxctl: the command-line client of sandboxd. Talks only to the public
// HTTP API (DESIGN.md §7) and prints the JSON it gets back, one document per
// line. Exit codes: 0 success, 1 API or connection error, 2 usage error;
// `hold … -- command` exits with the command's code.
#include <CLI/CLI.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "base/time.h"
#include "core/validation.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;

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
    } catch (const std::exception& e) {
      return {0, std::string("cannot reach sandboxd at ") + host + ":" + port + ": " + e.what()};
    }
  }
};

int Report(const std::pair<int, std::string>& r) {
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
  if (!r.second.empty()) std::cout << r.second << "\n";
  return 0;
}

std::string ReadToken(const std::string& data_dir) {
  std::ifstream in(data_dir + "/api-token");
  std::string t;
  std::getline(in, t);
  return t;
}

// Everything the command line sets.
struct Args {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  std::string data_dir = "data";
  std::string project, tmpl, timeout, status_filter;
  std::string hold_name, hold_for = "60s";
  std::vector<std::string> command;  // after `--` (hold … -- command)
  bool wait = false;
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
  CLI::App* activity;
  CLI::App* set_timeout;
  CLI::App* history;
  CLI::App* explain;
  CLI::App* list;
  CLI::App* runs;
  CLI::App* hold;
  CLI::App* unhold;
  CLI::App* holds;
  CLI::App* logs;
};

// Defines the global options and the subcommands, writing into `a`.
Commands AddCommands(CLI::App& app, Args& a) {
  app.add_option("--url", a.url, "sandboxd base URL")
      ->envname("SANDBOXD_URL")
      ->capture_default_str();
  app.add_option("--token", a.token, "API token (default: <data-dir>/api-token)")
      ->envname("SANDBOXD_API_TOKEN");
  app.add_option("--data-dir", a.data_dir, "where to find api-token")
      ->envname("SANDBOXD_DATA_DIR")
      ->capture_default_str();

  auto add_project = [&](CLI::App* c) {
    c->add_option("project", a.project, "project id")->required();
  };
  Commands c{};
  c.create = app.add_subcommand("create", "create the project's sandbox (waits until it serves)");
  add_project(c.create);
  c.create->add_option("--template", a.tmpl, "template name");
  c.create->add_option("--idle-timeout", a.timeout, "idle timeout (30s, 3m)");
  c.status = app.add_subcommand("status", "show the project's sandbox");
  add_project(c.status);
  c.wake = app.add_subcommand("wake", "resume (or re-create) the project's sandbox");
  add_project(c.wake);
  c.wake->add_flag("--wait", a.wait, "wait until it is RUNNING");
  c.pause = app.add_subcommand("pause", "pause the project's sandbox now");
  add_project(c.pause);
  c.kill = app.add_subcommand("kill", "kill the project's sandbox");
  add_project(c.kill);
  c.activity = app.add_subcommand("activity", "record activity (pushes pauseAt forward)");
  add_project(c.activity);
  c.set_timeout = app.add_subcommand("set-idle-timeout", "change the idle timeout");
  add_project(c.set_timeout);
  c.set_timeout->add_option("timeout", a.timeout, "new idle timeout (30s, 3m)")->required();
  c.history = app.add_subcommand("history", "the project's lifecycle events");
  add_project(c.history);
  c.explain = app.add_subcommand("explain", "why the sandbox is awake or paused, and what is next");
  add_project(c.explain);
  c.list = app.add_subcommand("list", "list sandboxes");
  c.list->add_option("--status", a.status_filter, "only this status");
  c.list->add_option("--limit", a.limit, "page size");
  c.runs = app.add_subcommand("runs", "idle enforcer runs");
  c.runs->add_option("--limit", a.limit, "how many");
  c.hold = app.add_subcommand(
      "hold",
      "keep the sandbox awake: `hold demo build --for 10m`, or `hold demo -- make build` for as "
      "long as the command runs (renewing the hold, released when it ends)");
  add_project(c.hold);
  c.hold->add_option("name", a.hold_name, "hold name (default with a command: sandboxctl-<pid>)");
  c.hold->add_option("--for", a.hold_for, "how long (30s, 10m); with a command, renewed")
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
  return c;
}

// `d` (30s, 3m) in whole seconds; prints why and returns nothing when invalid.
std::optional<int64_t> Seconds(const std::string& d) {
  auto r = sbx::ParseDuration(d);
  if (!r.ok()) {
    std::cerr << "sandboxctl: " << r.error().message() << "\n";
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*r).count();
}

// After a wake answered 202: polls `base` until the wake settles (RUNNING, or
// back to PAUSED/KILLED on failure).
int WaitForWake(const Client& client, const std::string& base) {
  for (int i = 0; i < 600; ++i) {
    auto s = client.Call(http::verb::get, base);
    if (s.first != 200) return Report(s);
    boost::system::error_code ec;
    auto v = json::parse(s.second, ec);
    const std::string st = ec ? "" : json::value_to<std::string>(v.at("status"));
    if (st != "STARTING") {
      // A wake that settles anywhere but RUNNING (resume failed) is a failure.
      const int rc = Report(s);
      if (st != "RUNNING") {
        std::cerr << "sandboxctl: wake ended " << st << "\n";
        return 1;
      }
      return rc;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cerr << "sandboxctl: still STARTING after 60s\n";
  return 1;
}

std::string HoldBody(const std::string& name, int64_t seconds) {
  json::object body;
  body["name"] = name;
  body["ttlSeconds"] = seconds;
  return json::serialize(body);
}

// `hold … -- command`: places the hold, runs the command with this process's
// stdio, renews the hold every third of its ttl while the command runs, then
// releases it. Returns the command's exit code (128 + signal if killed).
int HoldWhileRunning(const Client& client, const std::string& base, const std::string& name,
                     int64_t seconds, const std::vector<std::string>& command) {
  auto placed = client.Call(http::verb::post, base + "/holds", HoldBody(name, seconds));
  if (placed.first != 200) return Report(placed);
  std::vector<char*> argv;
  for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t child = fork();
  if (child < 0) {
    std::cerr << "sandboxctl: fork: " << std::strerror(errno) << "\n";
    (void)client.Call(http::verb::delete_, base + "/holds/" + name);
    return 1;
  }
  if (child == 0) {
    execvp(argv[0], argv.data());
    std::cerr << "sandboxctl: " << command[0] << ": " << std::strerror(errno) << "\n";
    _exit(127);
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread renew([&] {
    const auto every = std::chrono::milliseconds(std::max<int64_t>(seconds * 1000 / 3, 200));
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, every, [&] { return done; })) {
      lock.unlock();
      auto r = client.Call(http::verb::post, base + "/holds", HoldBody(name, seconds));
      if (r.first != 200) {
        std::cerr << "sandboxctl: renewing hold " << name << " failed (will retry): HTTP "
                  << r.first << " " << r.second << "\n";
      }
      lock.lock();
    }
  });
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
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
    return Report(client.Call(http::verb::post, base, json::serialize(body)));
  }
  if (c.status->parsed()) return Report(client.Call(http::verb::get, base));
  if (c.pause->parsed()) return Report(client.Call(http::verb::post, base + "/pause"));
  if (c.kill->parsed()) return Report(client.Call(http::verb::delete_, base));
  if (c.activity->parsed()) return Report(client.Call(http::verb::post, base + "/activity"));
  if (c.history->parsed()) return Report(client.Call(http::verb::get, base + "/history"));
  if (c.explain->parsed()) return Report(client.Call(http::verb::get, base + "/explain"));
  if (c.set_timeout->parsed()) {
    auto s = Seconds(a.timeout);
    if (!s) return 2;
    json::object body;
    body["idleTimeoutSeconds"] = *s;
    return Report(client.Call(http::verb::patch, base, json::serialize(body)));
  }
  if (c.wake->parsed()) {
    auto r = client.Call(http::verb::post, base + "/wake");
    if (!a.wait || r.first != 202) return Report(r);
    return WaitForWake(client, base);
  }
  if (c.list->parsed()) {
    std::string q = "/api/sandboxes?";
    if (!a.status_filter.empty()) q += "status=" + a.status_filter + "&";
    if (a.limit > 0) q += "limit=" + std::to_string(a.limit);
    return Report(client.Call(http::verb::get, q));
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
    return Report(client.Call(http::verb::post, base + "/holds", HoldBody(a.hold_name, *seconds)));
  }
  if (c.unhold->parsed()) {
    // The name goes into the path: only what the API accepts anyway (its
    // own rule).
    if (sbx::Status s = sbx::core::ValidateHoldName(a.hold_name); !s.ok()) {
      std::cerr << "sandboxctl: " << s.message() << "\n";
      return 2;
    }
    return Report(client.Call(http::verb::delete_, base + "/holds/" + a.hold_name));
  }
  if (c.holds->parsed()) return Report(client.Call(http::verb::get, base + "/holds"));
  if (c.logs->parsed()) return Logs(client, base, a.tail, a.follow);
  if (c.runs->parsed()) {
    std::string q = "/api/jobs/idle-enforcer/runs";
    if (a.limit > 0) q += "?limit=" + std::to_string(a.limit);
    return Report(client.Call(http::verb::get, q));
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sandboxctl: drive sandboxd from the command line"};
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
    return app.exit(e);
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
  Client client{std::string(parsed->host()),
                parsed->has_port() ? std::string(parsed->port()) : "80",
                args.token.empty() ? ReadToken(args.data_dir) : args.token};
  return Dispatch(commands, args, client);
}
