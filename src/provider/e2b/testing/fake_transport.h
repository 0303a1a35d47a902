// Test doubles for the E2B provider: FakeTransport answers requests from a
// script and records them; FakeSleeper records backoff waits. Both can move a
// FakeClock, so deadline logic runs without real time. Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "base/fake_clock.h"
#include "provider/e2b/transport.h"

namespace sbx::provider::e2b {

class FakeTransport final : public HttpTransport {
 public:
  // `clock`, when given, is advanced by each scripted latency.
  explicit FakeTransport(FakeClock* clock = nullptr) : clock_(clock) {}

  // Queues the answer to the next unanswered request, to be given after
  // `latency` of (fake) time.
  void Push(Result<HttpResponse> answer, std::chrono::milliseconds latency = {});
  // Shorthand for Push(HttpResponse{status, headers, body}).
  void PushResponse(int status, std::string body = "", HttpHeaders headers = {});

  // HttpTransport. Answers from the script in order; kInternal (never
  // retried) once it is exhausted.
  Result<HttpResponse> Send(const HttpRequest& request) override;

  std::vector<HttpRequest> requests() const;
  size_t pending() const;  // scripted answers not yet given

 private:
  struct Scripted {
    Result<HttpResponse> answer;
    std::chrono::milliseconds latency;
  };
  FakeClock* clock_;
  mutable std::mutex mu_;
  std::deque<Scripted> script_;
  std::vector<HttpRequest> requests_;
};

class FakeSleeper final : public Sleeper {
 public:
  // `clock`, when given, is advanced by each sleep.
  explicit FakeSleeper(FakeClock* clock = nullptr) : clock_(clock) {}

  // Sleeper
  void Sleep(std::chrono::milliseconds d) override;

  std::vector<std::chrono::milliseconds> sleeps() const;
  void Clear();

 private:
  FakeClock* clock_;
  mutable std::mutex mu_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace sbx::provider::e2b
