// Provider is the seam between sandboxd and whatever runs sandboxes: the local
// runc runtime (provider/local) or E2B's REST API (provider/e2b). lifecycle
// calls it; nothing else does. Every call blocks and has its own deadline:
// run it on a BlockingPool, never on an I/O thread. Implementations are
// thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/time.h"
#include "core/sandbox.h"
#include "core/validation.h"

namespace sbx::provider {

enum class ProviderState { kRunning, kPaused };

struct CreateRequest {
  std::string project_id;
  std::string template_name;  // "hello" for the local runtime; E2B template id/alias
  core::Metadata metadata;    // always carries {"projectId": project_id}
  // Whether the sandbox may reach public internet addresses. Unset: the
  // template decides (local: its "egress"; E2B: its own default).
  std::optional<bool> allow_internet_access;
};

// Metadata key under which a provider that can tag its sandboxes (provider/e2b)
// stores the id of the create request that made each one. With `projectId`
// it marks a sandbox as sandboxd's: the reconciler kills marked sandboxes that
// no record names (lifecycle/reconcile.h PlanOrphans).
inline constexpr const char* kCreateRequestIdKey = core::kCreateRequestIdMetadataKey;

struct ProviderSandbox {
  std::string sandbox_id;
  ProviderState state = ProviderState::kRunning;
  std::optional<std::string> url;  // preview URL, if it serves one
  std::string template_name;
  SystemTime started_at{};
  std::optional<SystemTime> end_at;  // provider-side timeout, if any
  core::Metadata metadata;
};

struct ListResult {
  std::vector<ProviderSandbox> sandboxes;
  // True only when every page was read successfully: drift repair may treat
  // absence as "killed" only then.
  bool complete = false;
};

// A read of a sandbox's output (stdout and stderr): whole lines, oldest
// first, and the cursor to read on from.
struct OutputQuery {
  int tail = 100;      // without `after`: the last this many lines
  std::string after;   // a cursor from an earlier read: the lines written since
};
struct OutputChunk {
  std::vector<std::string> lines;
  std::string cursor;  // opaque; pass as `after` to read on
  bool skipped = false;  // output between `after` and these lines was already discarded
};

class Provider {
 public:
  virtual ~Provider() = default;

  // Starts a new sandbox and returns once it serves (readiness passed).
  // kInvalidArgument: unknown template. kUnavailable/kDeadlineExceeded:
  // provider trouble; nothing is left running on failure where avoidable.
  virtual Result<ProviderSandbox> Create(const CreateRequest& request) = 0;
  // Pauses (freezes) a running sandbox. OK if it is already paused.
  // kNotFound if it does not exist.
  virtual Status Pause(const std::string& sandbox_id) = 0;
  // Resumes a paused sandbox and returns once it serves again. OK (and the
  // current state) if it is already running. kNotFound if it does not exist.
  virtual Result<ProviderSandbox> Resume(const std::string& sandbox_id) = 0;
  // Kills a sandbox and removes its files. OK if it does not exist.
  virtual Status Kill(const std::string& sandbox_id) = 0;
  // Sets the provider-side time to live (E2B's timeout). Providers without
  // one answer OK.
  virtual Status SetTimeout(const std::string& sandbox_id, std::chrono::seconds timeout) = 0;
  // Every sandbox the provider knows, running or paused.
  virtual Result<ListResult> List() = 0;
  // One sandbox, or kNotFound.
  virtual Result<ProviderSandbox> Get(const std::string& sandbox_id) = 0;
  // kInvalidArgument if `template_name` cannot be created here; OK when it
  // can or when the provider cannot tell without creating (E2B).
  virtual Status CheckTemplate(const std::string& template_name) {
    (void)template_name;
    return OkStatus();
  }
  // The sandbox's output. kNotFound without one; kFailedPrecondition where
  // the provider keeps none (E2B); kInvalidArgument for a bad cursor.
  virtual Result<OutputChunk> ReadOutput(const std::string& sandbox_id, const OutputQuery& query) {
    (void)sandbox_id;
    (void)query;
    return FailedPrecondition("sandbox output is kept only by the local runtime");
  }
};

}  // namespace sbx::provider
