// FakeProvider: an in-memory Provider for unit tests. Records every call,
// can be told to fail the next calls of an operation. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "provider/provider.h"

namespace sbx::provider {

class FakeProvider final : public Provider {
 public:
  // Provider
  Result<ProviderSandbox> Create(const CreateRequest& request) override;
  Status Pause(const std::string& sandbox_id) override;
  Result<ProviderSandbox> Resume(const std::string& sandbox_id) override;
  Status Kill(const std::string& sandbox_id) override;
  Status SetTimeout(const std::string& sandbox_id, std::chrono::seconds timeout) override;
  Result<ListResult> List() override;
  Result<ProviderSandbox> Get(const std::string& sandbox_id) override;
  // Rejects the template named "missing".
  Status CheckTemplate(const std::string& template_name) override;
  // The lines AppendOutput gave the sandbox (cursor: how many were read), or
  // the default kFailedPrecondition for a sandbox that was given none.
  Result<OutputChunk> ReadOutput(const std::string& sandbox_id, const OutputQuery& query) override;

  // Gives the sandbox a line of output.
  void AppendOutput(const std::string& sandbox_id, std::string line);

  // Makes the next `times` calls of `op` ("create", "pause", …) fail with `error`.
  void FailNext(const std::string& op, Status error, int times = 1);
  // Adds (or replaces) a sandbox as the provider lists it, e.g. one a create
  // made without sandboxd hearing of it.
  void Put(const ProviderSandbox& sandbox);
  // Removes a sandbox behind sandboxd's back (drift).
  void Vanish(const std::string& sandbox_id);
  void SetState(const std::string& sandbox_id, ProviderState state);
  // Runs `hook` once, at the start of the next call of `op` ("create",
  // "resume", "pause" or "kill"), on the caller's thread and outside the
  // lock: a test can hold a call in flight while other things happen. For
  // "list", after the listing is taken, so that it misses what the hook does.
  void OnNextCall(const std::string& op, std::function<void()> hook);

  // The request of the latest successful Create (default when none).
  CreateRequest last_create() const;
  int calls(const std::string& op) const;
  int pause_calls() const { return calls("pause"); }
  std::vector<std::string> log() const;
  size_t size() const;
  // Every create request, in order.
  std::vector<CreateRequest> creates() const;

 private:
  Status MaybeFail(const std::string& op);
  void RunHook(const std::string& op);
  mutable std::mutex mu_;
  int next_id_ = 1;
  std::map<std::string, ProviderSandbox> sandboxes_;
  CreateRequest last_create_;
  std::map<std::string, int> calls_;
  std::map<std::string, std::pair<Status, int>> failures_;
  std::vector<std::string> log_;
  std::vector<CreateRequest> creates_;
  std::map<std::string, std::function<void()>> hooks_;
  std::map<std::string, std::vector<std::string>> output_;
};

}  // namespace sbx::provider
