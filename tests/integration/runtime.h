// Runtime runs the real `build/sandboxd runtime` (the local E2B-compatible
// runtime: real runc containers behind E2B's REST API, signed webhooks) for
// one integration test: a fresh temp data dir (mkdtemp under /tmp), its own
// sandbox port range. It knows the API URL and key, registers webhooks,
// switches delivery and reads its request counters. The destructor leaves
// nothing behind: it stops the runtime, kills and deletes every container in
// its runc root (<data>/runc) and removes the temp dir; when the test failed
// it prints the runtime's stderr first.
// Not thread-safe except where noted.
#pragma once

#include <gtest/gtest.h>

#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "integration/http_client.h"
#include "integration/process.h"

namespace sbx::integration {

struct RuntimeOptions {
  int first_port = 0;  // sandbox ports first_port .. last_port
  int last_port = 0;
  std::string webhook_backoff = "200ms";
  std::string log_level = "info";
  size_t log_lines_on_failure = 200;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Spawns `sandboxd runtime` on 127.0.0.1:0 and waits up to 30 s for its
  // "listening on" and "API key" lines.
  ::testing::AssertionResult Start();

  // The E2B API with X-API-Key. Thread-safe once started.
  HttpResponse Call(boost::beast::http::verb method, const std::string& target,
                    const std::string& body = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  // POST /events/webhooks for every sandbox.lifecycle.* event, signed with `secret`.
  ::testing::AssertionResult RegisterWebhook(const std::string& url, const std::string& secret);

  // sandboxd_runtime_requests_total by status code for one route template
  // (e.g. "/sandboxes/{sandboxID}/pause"). Empty and `*why` set when /metrics
  // did not answer. Thread-safe once started.
  std::map<std::string, int64_t> RequestsByCode(const std::string& route,
                                                std::string* why = nullptr) const;
  // Counter `metric` from /metrics, summed by the value of label `group_by`
  // over the series whose labels match `where`.
  std::map<std::string, int64_t> Counter(const std::string& metric, const std::string& group_by,
                                         const std::map<std::string, std::string>& where = {},
                                         std::string* why = nullptr) const;
  // The sum over codes of RequestsByCode(route), or -1 when /metrics failed.
  int64_t RequestCount(const std::string& route) const;

  // Container ids in the runtime's runc root.
  std::vector<std::string> RuncList() const;

  const std::string& url() const { return url_; }  // "http://127.0.0.1:<port>" (no slash)
  uint16_t port() const { return port_; }
  const std::string& api_key() const { return api_key_; }
  std::filesystem::path runc_root() const { return data_dir_ / "runc"; }
  std::string LogTail(size_t lines) const;

 private:
  void CleanUp();

  RuntimeOptions options_;
  std::filesystem::path root_;
  std::filesystem::path data_dir_;
  std::filesystem::path log_;
  std::filesystem::path stdout_path_;
  ChildProcess process_;
  std::string url_;
  uint16_t port_ = 0;
  std::string api_key_;
};

// "{a:1, b:2}" of a counter map, for failure messages.
std::string ShowCounts(const std::map<std::string, int64_t>& counts);

}  // namespace sbx::integration
