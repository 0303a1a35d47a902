#include "provider/testing/fake_provider.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace sbx::provider {

Status FakeProvider::MaybeFail(const std::string& op) {
  ++calls_[op];
  auto it = failures_.find(op);
  if (it == failures_.end() || it->second.second <= 0) return OkStatus();
  --it->second.second;
  return it->second.first;
}

void FakeProvider::RunHook(const std::string& op) {
  std::function<void()> hook;
  {
    std::lock_guard lock(mu_);
    auto it = hooks_.find(op);
    if (it == hooks_.end()) return;
    hook = std::move(it->second);
    hooks_.erase(it);
  }
  hook();
}

void FakeProvider::OnNextCall(const std::string& op, std::function<void()> hook) {
  std::lock_guard lock(mu_);
  hooks_[op] = std::move(hook);
}

Result<ProviderSandbox> FakeProvider::Create(const CreateRequest& request) {
  RunHook("create");
  std::lock_guard lock(mu_);
  log_.push_back("create " + request.project_id);
  creates_.push_back(request);
  SBX_RETURN_IF_ERROR(MaybeFail("create"));
  ProviderSandbox s;
  s.sandbox_id = fmt::format("fake{}", next_id_++);
  s.state = ProviderState::kRunning;
  s.url = fmt::format("http://127.0.0.1:9/{}", s.sandbox_id);
  s.template_name = request.template_name;
  s.metadata = request.metadata;
  sandboxes_[s.sandbox_id] = s;
  last_create_ = request;
  return s;
}

CreateRequest FakeProvider::last_create() const {
  std::lock_guard lock(mu_);
  return last_create_;
}

void FakeProvider::Put(const ProviderSandbox& sandbox) {
  std::lock_guard lock(mu_);
  sandboxes_[sandbox.sandbox_id] = sandbox;
}

Status FakeProvider::Pause(const std::string& id) {
  RunHook("pause");
  std::lock_guard lock(mu_);
  log_.push_back("pause " + id);
  SBX_RETURN_IF_ERROR(MaybeFail("pause"));
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) return NotFound("no sandbox " + id);
  it->second.state = ProviderState::kPaused;
  return OkStatus();
}

Result<ProviderSandbox> FakeProvider::Resume(const std::string& id) {
  RunHook("resume");
  std::lock_guard lock(mu_);
  log_.push_back("resume " + id);
  SBX_RETURN_IF_ERROR(MaybeFail("resume"));
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) return NotFound("no sandbox " + id);
  it->second.state = ProviderState::kRunning;
  return it->second;
}

Status FakeProvider::Kill(const std::string& id) {
  RunHook("kill");
  std::lock_guard lock(mu_);
  log_.push_back("kill " + id);
  SBX_RETURN_IF_ERROR(MaybeFail("kill"));
  sandboxes_.erase(id);
  return OkStatus();
}

Status FakeProvider::SetTimeout(const std::string& id, std::chrono::seconds timeout) {
  std::lock_guard lock(mu_);
  log_.push_back(fmt::format("timeout {} {}", id, timeout.count()));
  return MaybeFail("timeout");
}

Result<ListResult> FakeProvider::List() {
  ListResult r;
  {
    std::lock_guard lock(mu_);
    SBX_RETURN_IF_ERROR(MaybeFail("list"));
    for (const auto& [id, s] : sandboxes_) r.sandboxes.push_back(s);
    r.complete = true;
  }
  RunHook("list");  // after the listing is taken: what the hook changes, it does not show
  return r;
}

Result<ProviderSandbox> FakeProvider::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  SBX_RETURN_IF_ERROR(MaybeFail("get"));
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) return NotFound("no sandbox " + id);
  return it->second;
}

Status FakeProvider::CheckTemplate(const std::string& template_name) {
  if (template_name == "missing") return InvalidArgument("unknown template missing");
  return OkStatus();
}

void FakeProvider::FailNext(const std::string& op, Status error, int times) {
  std::lock_guard lock(mu_);
  failures_[op] = {std::move(error), times};
}

void FakeProvider::Vanish(const std::string& id) {
  std::lock_guard lock(mu_);
  sandboxes_.erase(id);
}

void FakeProvider::SetState(const std::string& id, ProviderState state) {
  std::lock_guard lock(mu_);
  sandboxes_[id].state = state;
}

int FakeProvider::calls(const std::string& op) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

std::vector<std::string> FakeProvider::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

size_t FakeProvider::size() const {
  std::lock_guard lock(mu_);
  return sandboxes_.size();
}

std::vector<CreateRequest> FakeProvider::creates() const {
  std::lock_guard lock(mu_);
  return creates_;
}

Result<OutputChunk> FakeProvider::ReadOutput(const std::string& sandbox_id,
                                             const OutputQuery& query) {
  std::lock_guard lock(mu_);
  auto it = output_.find(sandbox_id);
  if (it == output_.end()) return Provider::ReadOutput(sandbox_id, query);
  const std::vector<std::string>& lines = it->second;
  size_t from = lines.size() - std::min(lines.size(), static_cast<size_t>(query.tail));
  if (!query.after.empty()) {
    size_t after = 0;
    auto [p, ec] = std::from_chars(query.after.data(), query.after.data() + query.after.size(),
                                   after);
    if (ec != std::errc() || p != query.after.data() + query.after.size() ||
        after > lines.size()) {
      return InvalidArgument("\"after\" must be a cursor a read returned");
    }
    from = after;
  }
  OutputChunk out;
  out.lines.assign(lines.begin() + static_cast<std::ptrdiff_t>(from), lines.end());
  out.cursor = std::to_string(lines.size());
  return out;
}

void FakeProvider::AppendOutput(const std::string& sandbox_id, std::string line) {
  std::lock_guard lock(mu_);
  output_[sandbox_id].push_back(std::move(line));
}

}  // namespace sbx::provider
