// Test doubles for the E2B provider: FakeTransport answers requests from a
// script and records them, and can move a FakeClock by each answer's latency,
// so deadline logic runs without real time (backoff waits are the FakeClock's
// blocking sleeps). Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/testing/fake_clock.h"
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
  // Queues an answer computed from the requests sent so far (the one being
  // answered last), for answers that depend on what the provider sent.
  using Responder = std::function<Result<HttpResponse>(const std::vector<HttpRequest>&)>;
  void PushResponder(Responder responder);

  // HttpTransport. Answers from the script in order; kInternal (never
  // retried) once it is exhausted.
  Result<HttpResponse> Send(const HttpRequest& request) override;

  std::vector<HttpRequest> requests() const;
  size_t pending() const;  // scripted answers not yet given

 private:
  struct Scripted {
    Result<HttpResponse> answer;
    std::chrono::milliseconds latency;
    Responder responder;  // when set, computes the answer
  };
  FakeClock* clock_;
  mutable std::mutex mu_;
  std::deque<Scripted> script_;
  std::vector<HttpRequest> requests_;
};

}  // namespace sbx::provider::e2b
