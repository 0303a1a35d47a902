// ForwardingStore: a Store that sends every call to another one; a test
// overrides the calls it breaks (a slow commit, a store that cannot answer).
// Test-only; header-only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace sbx::store::testing {

// Every call goes to the inner store; tests override what they break.
class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}
  Result<std::vector<core::Sandbox>> LoadSandboxes() override { return inner_.LoadSandboxes(); }
  Result<core::Sandbox> GetSandbox(const std::string& p) override { return inner_.GetSandbox(p); }
  Result<std::vector<core::Sandbox>> ListSandboxes(const ListOptions& o) override {
    return inner_.ListSandboxes(o);
  }
  Result<std::vector<core::Sandbox>> ListIdleDue(SystemTime now, int limit) override {
    return inner_.ListIdleDue(now, limit);
  }
  Status CommitTransition(const core::Sandbox& next, int64_t expected, const std::string& id,
                          const std::optional<HistoryRow>& h) override {
    return inner_.CommitTransition(next, expected, id, h);
  }
  Status RecordEvent(const std::string& id, const HistoryRow& h) override {
    return inner_.RecordEvent(id, h);
  }
  Status AppendHistory(const HistoryRow& h) override { return inner_.AppendHistory(h); }
  Result<bool> IsEventProcessed(const std::string& id) override {
    return inner_.IsEventProcessed(id);
  }
  Status Batch(const std::function<Status()>& body) override { return inner_.Batch(body); }
  using Store::ListHistory;
  Result<std::vector<HistoryRow>> ListHistory(const std::string& p, int limit,
                                                     int64_t before_seq) override {
    return inner_.ListHistory(p, limit, before_seq);
  }
  Result<int64_t> RecordJobRun(const JobRun& run) override {
    return inner_.RecordJobRun(run);
  }
  using Store::ListJobRuns;
  Result<std::vector<JobRun>> ListJobRuns(const std::string& job, int limit,
                                                 int64_t before_id) override {
    return inner_.ListJobRuns(job, limit, before_id);
  }
  Result<std::vector<HistoryCount>> CountHistory(SystemTime since, SystemTime until,
                                                        Millis width) override {
    return inner_.CountHistory(since, until, width);
  }
  Result<std::vector<HistoryRow>> ListTransitions(SystemTime since, int limit) override {
    return inner_.ListTransitions(since, limit);
  }
  Result<DeliverySummary> SummarizeDelivery() override { return inner_.SummarizeDelivery(); }
  Result<std::map<std::string, std::string>> StatusesBefore(std::span<const std::string> projects,
                                                            int64_t before_seq) override {
    return inner_.StatusesBefore(projects, before_seq);
  }
  Result<int64_t> ForgetSandbox(const std::string& project_id, int64_t expected_version,
                                const HistoryRow& forgotten, bool remove_history) override {
    return inner_.ForgetSandbox(project_id, expected_version, forgotten, remove_history);
  }
  Status CreateSession(const std::string& h, SystemTime created, SystemTime expires) override {
    return inner_.CreateSession(h, created, expires);
  }
  Result<SessionRecord> GetSession(const std::string& h) override {
    return inner_.GetSession(h);
  }
  Status DeleteSession(const std::string& h) override { return inner_.DeleteSession(h); }
  Result<int64_t> PruneHistory(SystemTime before, int limit) override {
    return inner_.PruneHistory(before, limit);
  }
  Result<int64_t> PruneProcessedEvents(SystemTime before, int limit) override {
    return inner_.PruneProcessedEvents(before, limit);
  }
  Result<int64_t> PruneJobRuns(SystemTime before, int limit) override {
    return inner_.PruneJobRuns(before, limit);
  }
  Result<int64_t> PruneExpiredSessions(SystemTime now, int limit) override {
    return inner_.PruneExpiredSessions(now, limit);
  }
  Status Ping() override { return inner_.Ping(); }

 protected:
  Store& inner_;
};

}  // namespace sbx::store::testing
