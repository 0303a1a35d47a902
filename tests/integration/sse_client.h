// A Server-Sent Events client for the integration tests: one GET on
// 127.0.0.1:<port> with a Bearer token, read on its own thread (Boost.Beast,
// chunked body), every `event:`/`id:`/`data:` frame kept with the steady time
// it arrived. Thread-safe: the test thread waits for frames while the reader
// thread appends them.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sbx::integration {

struct SseFrame {
  std::chrono::steady_clock::time_point received;
  std::string event;
  int64_t id = -1;  // the `id:` line as a number, -1 when absent
  std::string data;
};

class SseClient {
 public:
  SseClient(uint16_t port, std::string target, std::string token);
  ~SseClient();  // Stop()
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // Connects, sends the request and waits up to `timeout` for a 200
  // text/event-stream response head.
  ::testing::AssertionResult Start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The first frame whose id is >= `id`, waiting up to `timeout` for it.
  std::optional<SseFrame> WaitForId(int64_t id, std::chrono::milliseconds timeout) const;
  std::vector<SseFrame> Frames() const;
  // Closes the connection and joins the reader thread.
  void Stop();
  // Why the stream ended, "" while it is open.
  std::string Error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace sbx::integration
