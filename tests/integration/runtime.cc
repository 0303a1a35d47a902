#include "integration/runtime.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "integration/daemon.h"
#include "integration/support.h"

namespace sbx::integration {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

constexpr char kBuildDir[] = SBX_BUILD_DIR;
constexpr char kTemplatesDir[] = SBX_TEMPLATES_DIR;
constexpr char kUrlPrefix[] = "sandboxd runtime listening on ";
constexpr char kKeyPrefix[] = "API key: ";
constexpr char kRequestsMetric[] = "sandboxd_runtime_requests_total";

// The value of label `name` in a Prometheus label set `{a="x",b="y"}`.
std::string Label(const std::string& labels, const std::string& name) {
  const std::string key = name + "=\"";
  size_t at = labels.find(key);
  while (at != std::string::npos && at > 0 && labels[at - 1] != '{' && labels[at - 1] != ',') {
    at = labels.find(key, at + 1);
  }
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size();
  const size_t end = labels.find('"', begin);
  return end == std::string::npos ? "" : labels.substr(begin, end - begin);
}

}  // namespace

std::string ShowCounts(const std::map<std::string, int64_t>& counts) {
  std::string out = "{";
  for (const auto& [k, v] : counts) {
    if (out.size() > 1) out += ", ";
    out += k + ": " + std::to_string(v);
  }
  return out + "}";
}

Runtime::Runtime(RuntimeOptions options) : options_(std::move(options)) {}

Runtime::~Runtime() { CleanUp(); }

::testing::AssertionResult Runtime::Start() {
  if (process_.running()) return ::testing::AssertionFailure() << "the runtime is already running";
  std::string dir = "/tmp/sbx-rt-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    return ::testing::AssertionFailure() << "mkdtemp " << dir << ": " << std::strerror(errno);
  }
  // Local sandboxes run as unprivileged users that must traverse it.
  ::chmod(dir.c_str(), 0711);
  root_ = dir;
  data_dir_ = root_ / "data";
  log_ = root_ / "runtime.log";
  stdout_path_ = root_ / "stdout.txt";
  const std::vector<std::string> argv = {
      (fs::path(kBuildDir) / "sandboxd").string(),
      "runtime",
      "--listen",
      "127.0.0.1:0",
      "--data-dir",
      data_dir_.string(),
      "--templates-dir",
      kTemplatesDir,
      "--port-range",
      std::to_string(options_.first_port) + "-" + std::to_string(options_.last_port),
      "--domain",
      "localhost",
      // serve, the webhook receiver, listens on 127.0.0.1.
      "--webhook-allow-private",
      "--webhook-backoff",
      options_.webhook_backoff,
      "--log-level",
      options_.log_level};
  {
    std::ofstream log(log_, std::ios::app);
    log << "=== test harness: " << JoinArgv(argv) << "\n";
  }
  if (std::string err = process_.Spawn(argv, stdout_path_.string(), log_.string()); !err.empty()) {
    return ::testing::AssertionFailure() << err;
  }
  std::string out, url_line, key_line;
  auto find_lines = [&] {
    out = ReadFile(stdout_path_);
    std::istringstream lines(out);
    std::string first, second;
    if (!std::getline(lines, first) || lines.eof()) return false;
    if (!std::getline(lines, second) || lines.eof()) return false;
    url_line = first;
    key_line = second;
    return true;
  };
  WaitFor([&] { return find_lines() || !process_.Poll(); }, 30s, 20ms);
  auto fail = [&](const std::string& why) {
    return ::testing::AssertionFailure()
           << "sandboxd runtime did not start: " << why << "\nstdout so far:\n"
           << out << "\nstderr:\n"
           << LogTail(40);
  };
  if (url_line.rfind(kUrlPrefix, 0) != 0 || key_line.rfind(kKeyPrefix, 0) != 0) {
    return fail("no \"sandboxd runtime listening on …\" and \"API key: …\" lines within 30 s");
  }
  std::string url = url_line.substr(sizeof(kUrlPrefix) - 1);
  auto hp = ParseHttpUrl(url);
  if (!hp || hp->host != "127.0.0.1") return fail("bad URL \"" + url + "\"");
  port_ = hp->port;
  url_ = "http://127.0.0.1:" + std::to_string(port_);
  api_key_ = key_line.substr(sizeof(kKeyPrefix) - 1);
  if (api_key_.empty()) return fail("empty API key");
  return ::testing::AssertionSuccess();
}

HttpResponse Runtime::Call(http::verb method, const std::string& target, const std::string& body,
                           std::chrono::milliseconds timeout) const {
  return HttpCall({.port = port_,
                   .method = method,
                   .target = target,
                   .body = body,
                   .headers = {{"X-API-Key", api_key_}},
                   .timeout = timeout});
}

::testing::AssertionResult Runtime::RegisterWebhook(const std::string& url,
                                                    const std::string& secret) {
  const std::string body =
      R"({"name":"sandboxd","url":")" + url + R"(","enabled":true,"signatureSecret":")" + secret +
      R"(","events":["sandbox.lifecycle.created","sandbox.lifecycle.resumed",)"
      R"("sandbox.lifecycle.updated","sandbox.lifecycle.paused","sandbox.lifecycle.killed"]})";
  HttpResponse r = Call(http::verb::post, "/events/webhooks", body);
  if (!r.answered || r.status != 201) {
    return ::testing::AssertionFailure() << "POST /events/webhooks: " << r.Describe();
  }
  return ::testing::AssertionSuccess();
}

std::map<std::string, int64_t> Runtime::Counter(const std::string& metric,
                                                const std::string& group_by,
                                                const std::map<std::string, std::string>& where,
                                                std::string* why) const {
  std::map<std::string, int64_t> out;
  HttpResponse r = Call(http::verb::get, "/metrics", "", 5s);
  if (!r.answered || r.status != 200) {
    if (why) *why = "GET runtime /metrics: " + r.Describe();
    return out;
  }
  const std::string prefix = metric + "{";
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t close = line.find("} ");
    if (close == std::string::npos) continue;
    const size_t open = metric.size();  // the '{'
    const std::string labels = line.substr(open, close - open + 1);
    bool match = true;
    for (const auto& [name, value] : where) match = match && Label(labels, name) == value;
    if (!match) continue;
    out[Label(labels, group_by)] +=
        static_cast<int64_t>(std::strtod(line.c_str() + close + 2, nullptr));
  }
  return out;
}

std::map<std::string, int64_t> Runtime::RequestsByCode(const std::string& route,
                                                       std::string* why) const {
  return Counter(kRequestsMetric, "code", {{"route", route}}, why);
}

int64_t Runtime::RequestCount(const std::string& route) const {
  std::string why;
  auto counts = RequestsByCode(route, &why);
  if (!why.empty()) return -1;
  int64_t sum = 0;
  for (const auto& [code, n] : counts) sum += n;
  return sum;
}

std::vector<std::string> Runtime::RuncList() const {
  if (data_dir_.empty()) return {};
  return RuncIds(runc_root());
}

std::string Runtime::LogTail(size_t lines) const { return TailOfFile(log_, lines); }

void Runtime::CleanUp() {
  if (process_.running()) {
    if (process_.SignalAndWait(SIGTERM, 20s) == -1) (void)process_.SignalAndWait(SIGKILL, 10s);
  }
  if (root_.empty()) return;
  RemoveAllContainers(runc_root());
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- sandboxd runtime stdout ----\n"
              << ReadFile(stdout_path_) << "---- sandboxd runtime stderr (last lines) ----\n"
              << LogTail(options_.log_lines_on_failure)
              << "---- end of sandboxd runtime output ----\n";
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
  if (ec) ADD_FAILURE() << "cleanup: remove " << root_ << ": " << ec.message();
}

}  // namespace sbx::integration
