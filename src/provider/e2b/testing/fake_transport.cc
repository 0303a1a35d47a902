#include "provider/e2b/testing/fake_transport.h"

#include <utility>

namespace sbx::provider::e2b {

void FakeTransport::Push(Result<HttpResponse> answer, std::chrono::milliseconds latency) {
  std::lock_guard lock(mu_);
  script_.push_back(Scripted{std::move(answer), latency, nullptr});
}

void FakeTransport::PushResponder(Responder responder) {
  std::lock_guard lock(mu_);
  script_.push_back(Scripted{Internal("responder"), {}, std::move(responder)});
}

void FakeTransport::PushResponse(int status, std::string body, HttpHeaders headers) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  Push(std::move(r));
}

Result<HttpResponse> FakeTransport::Send(const HttpRequest& request) {
  Scripted next{
      Internal("fake transport: no answer scripted for " + request.method + " " + request.url), {},
      nullptr};
  std::vector<HttpRequest> sent;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    if (!script_.empty()) {
      next = std::move(script_.front());
      script_.pop_front();
    }
    if (next.responder) sent = requests_;
  }
  if (next.responder) next.answer = next.responder(sent);
  if (clock_ != nullptr && next.latency.count() > 0) clock_->Advance(next.latency);
  return std::move(next.answer);
}

std::vector<HttpRequest> FakeTransport::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t FakeTransport::pending() const {
  std::lock_guard lock(mu_);
  return script_.size();
}

}  // namespace sbx::provider::e2b
