// FakeProvider: an in-memory Provider for unit tests. Records every call,
// can be told to fail the next calls of an operation. Thread-safe.
#pragma once

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

  // Makes the next `times` calls of `op` ("create", "pause", …) fail with `error`.
  void FailNext(const std::string& op, Status error, int times = 1);
  // Removes a sandbox behind sandboxd's back (drift).
  void Vanish(const std::string& sandbox_id);
  void SetState(const std::string& sandbox_id, ProviderState state);

  int calls(const std::string& op) const;
  int pause_calls() const { return calls("pause"); }
  std::vector<std::string> log() const;
  size_t size() const;

 private:
  Status MaybeFail(const std::string& op);
  mutable std::mutex mu_;
  int next_id_ = 1;
  std::map<std::string, ProviderSandbox> sandboxes_;
  std::map<std::string, int> calls_;
  std::map<std::string, std::pair<Status, int>> failures_;
  std::vector<std::string> log_;
};

}  // namespace sbx::provider
