// Sandboxes: the runtime's record of every sandbox and its E2B lifecycle
// (create, pause, resume, connect, set-timeout, refresh, kill) over a
// provider::Provider (LocalProvider in `sandboxd runtime`), plus the timeout
// enforcer: a sandbox whose endAt passes is killed (kill_reason "timeout") or,
// with autoPause, paused. Every change it makes is reported to the EventSink as
// an E2B v2 event. Operations on one sandbox are serialized; provider calls run
// on the BlockingPool. Not thread-safe: REQUIRES every call on the one I/O
// thread of `executor`.
//
// State lives in memory. Load() rebuilds it from Provider::List(): metadata,
// template and autoPause/timeout (kept as reserved metadata keys) survive a
// restart; startedAt comes from the provider; endAt restarts at now + timeout
// and a paused sandbox's pause time becomes the load time.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/net.h"
#include "base/status.h"
#include "e2b/rest.h"
#include "e2b/webhook_event.h"
#include "provider/provider.h"
#include "runtime_api/keyed_mutex.h"
#include "runtime_api/types.h"

namespace sbx::runtime_api {

// Metadata keys the runtime adds to CreateRequest::metadata so that a restart
// recovers them; never shown to clients.
inline constexpr char kReservedMetadataPrefix[] = "sandboxd-runtime.";
inline constexpr char kAutoPauseKey[] = "sandboxd-runtime.autoPause";
inline constexpr char kTimeoutKey[] = "sandboxd-runtime.timeout";
inline constexpr char kAliasKey[] = "sandboxd-runtime.alias";
inline constexpr char kAutoResumeKey[] = "sandboxd-runtime.autoResume";
inline constexpr char kInternetKey[] = "sandboxd-runtime.allowInternetAccess";

// Which generation of E2B's routes a request came by: v2 (POST /v2/sandboxes,
// POST /v2/sandboxes/{id}/connect) has other defaults.
enum class ApiVersion { kV1, kV2 };

struct SandboxesOptions {
  std::chrono::seconds default_timeout{15};  // create/resume without `timeout` (E2B default)
  std::chrono::seconds default_timeout_v2{300};  // v2 create/connect without `timeout`
  // A sandbox resumed by preview traffic (autoResume) lives at least this
  // long, else its create timeout (E2B's rule), capped at max_timeout.
  std::chrono::seconds auto_resume_min_timeout{300};
  std::chrono::seconds max_timeout = std::chrono::hours(24);  // longest timeout and sandbox life
  // Directory of the local templates: a templateID is checked against it
  // (unknown: 404) and memoryMB comes from the template. Empty: every
  // templateID goes to the provider, memoryMB = default_memory_mb.
  std::filesystem::path templates_dir;
  // templateID aliases: the SDKs create "base" by default.
  std::map<std::string, std::string> template_aliases = {{"base", "hello"}};
  std::string team_id = "00000000-0000-4000-8000-000000000000";  // sandbox_team_id of events
  int64_t cpu_count = 1;            // cpuCount shown (local sandboxes have no CPU limit)
  int64_t default_memory_mb = 512;  // memoryMB when no template file says
  int64_t disk_size_mb = 0;         // diskSizeMB shown (no disk quota locally)
  // After a failed timeout kill/pause, the next try comes this much later, ms.
  std::chrono::milliseconds expire_retry{5000};
};

// Receives every lifecycle event the runtime makes, in order, on the I/O thread.
using EventSink = std::function<void(const e2b::WebhookEvent&)>;

// GET /v2/sandboxes parameters.
struct ListQuery {
  std::set<SandboxState> states = {SandboxState::kRunning, SandboxState::kPaused};
  core::Metadata metadata;                  // every pair must match
  std::optional<std::string> template_id;   // templateID or alias
  std::optional<SystemTime> started_after;  // inclusive
  bool ascending = false;                   // by startedAt (then id); default newest first
  size_t limit = 100;
  std::optional<ListCursor> cursor;
};

struct ListPage {
  std::vector<SandboxRecord> sandboxes;
  std::optional<ListCursor> next;  // set only when more sandboxes follow
  size_t total_running = 0;        // running matches before paging
};

// Filters, orders and pages `all`. kInvalidArgument when the cursor was made
// for the other order.
Result<ListPage> ListSandboxes(std::vector<SandboxRecord> all, const ListQuery& query);

class Sandboxes {
 public:
  // References must outlive this object.
  Sandboxes(net::any_io_executor executor, Clock& clock, BlockingPool& pool,
            provider::Provider& provider, IdGenerator& ids, EventSink sink,
            SandboxesOptions options);

  // Rebuilds the records from Provider::List(). Blocks: call it before the
  // I/O thread runs. Errors of the provider are returned; records are
  // replaced only on success.
  Status Load();
  // Starts the timeout enforcer on the executor. Stop() ends it.
  void Start();
  void Stop();

  // Each operation answers with the E2B message in the status:
  // kInvalidArgument (400) bad timeout, kNotFound (404) unknown sandbox or
  // template, kFailedPrecondition (409) wrong state, kUnavailable (503),
  // kDeadlineExceeded (504) or kInternal (500) for provider failures. On
  // failure the record is unchanged (a sandbox the provider no longer knows is
  // dropped, with a `killed` event).

  // POST /sandboxes (v1) or POST /v2/sandboxes, with `params` not yet
  // checked: limits.h's template id, metadata and capability checks (400
  // naming the field), then the timeout (default 15 s, v2 300 s). Emits
  // `created`.
  net::awaitable<Result<SandboxRecord>> Create(const e2b::NewSandbox& params,
                                               ApiVersion version = ApiVersion::kV1);
  // POST /sandboxes/{id}/pause. 409 when already paused. Emits `paused`.
  net::awaitable<Status> Pause(const std::string& id);
  // POST /sandboxes/{id}/resume: timeout default 15 s; `auto_pause` overrides
  // the stored one. 409 when running. Emits `resumed`.
  net::awaitable<Result<SandboxRecord>> Resume(const std::string& id,
                                               std::optional<int64_t> timeout_s,
                                               std::optional<bool> auto_pause);
  struct Connected {
    SandboxRecord sandbox;
    bool resumed = false;  // true: it was paused and is now resumed (201)
  };
  // POST /sandboxes/{id}/connect: running → endAt = max(endAt, now+timeout)
  // (emits `updated` if it moved); paused → resume (emits `resumed`).
  net::awaitable<Result<Connected>> Connect(const std::string& id, int64_t timeout_s);
  // Preview traffic for sandbox `id` (autoResume): a paused sandbox with
  // autoResume is resumed (timeout: max(its create timeout,
  // auto_resume_min_timeout), capped; emits `resumed`); a running one is
  // returned as it is. Concurrent calls make one provider resume: they queue
  // on the sandbox's lock and the later ones find it running.
  // kFailedPrecondition when it is paused without autoResume, kNotFound, or
  // the provider's failure as for Resume.
  net::awaitable<Result<SandboxRecord>> WakeForTraffic(const std::string& id);
  // POST /sandboxes/{id}/timeout: endAt = now + max(timeout, 0), capped at
  // startedAt + max_timeout (400 if that already passed); may shorten. 409 when
  // paused. Emits `updated`.
  net::awaitable<Status> SetTimeout(const std::string& id, int64_t timeout_s);
  // POST /sandboxes/{id}/refreshes: extends to now + duration (absent or
  // < 15 s: 15 s; > 3600: 400); never shortens. 409 when paused. Emits
  // `updated` if endAt moved.
  net::awaitable<Status> Refresh(const std::string& id, std::optional<int64_t> duration_s);
  // DELETE /sandboxes/{id}: kills a running or paused sandbox. Emits `killed`
  // (kill_reason "request"), also for a paused one.
  net::awaitable<Status> Kill(const std::string& id);

  // Reads: no provider call.
  std::optional<SandboxRecord> Get(const std::string& id) const;
  std::vector<SandboxRecord> All() const;

 private:
  struct Entry {
    SandboxRecord record;
    bool expiring = false;               // a timeout kill/pause is in flight
    std::optional<SystemTime> retry_at;  // after a failed one
  };

  net::awaitable<void> ExpiryLoop();
  net::awaitable<void> Expire(std::string id);
  void Replan();
  // Resume of a paused entry; the caller holds the lock.
  net::awaitable<Result<SandboxRecord>> DoResume(const std::string& id,
                                                 std::chrono::seconds timeout);
  // Drops a sandbox the provider no longer knows and reports it killed.
  Status Forget(const std::string& id);
  Result<std::chrono::seconds> CheckTimeout(int64_t timeout_s) const;
  SystemTime LifeLimit(const SandboxRecord& r) const;
  void Emit(core::EventType type, const SandboxRecord& r,
            std::optional<SystemTime> set_timeout = std::nullopt,
            std::optional<std::string> kill_reason = std::nullopt);
  SandboxRecord FromProvider(const provider::ProviderSandbox& p, SystemTime now) const;
  SystemTime Now() const;
  Entry* Find(const std::string& id);

  net::any_io_executor executor_;
  Clock& clock_;
  BlockingPool& pool_;
  provider::Provider& provider_;
  IdGenerator& ids_;
  EventSink sink_;
  const SandboxesOptions options_;
  KeyedMutex locks_;
  std::map<std::string, Entry> entries_;
  std::unique_ptr<Timer> timer_;
  bool stopping_ = false;
};

}  // namespace sbx::runtime_api
