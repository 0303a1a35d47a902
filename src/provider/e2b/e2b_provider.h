// E2bProvider runs sandboxes in E2B's cloud through its REST control plane
// (shared/reference/e2b-api.md §2), or against any E2B-compatible server such
// as `sandboxd runtime`. app/ builds it for `--provider e2b`. Thread-safe (it
// keeps no mutable state of its own); every call blocks on HTTP for at most
// its deadline (see E2bOptions), so call it from a BlockingPool.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/ids.h"
#include "e2b/rest.h"
#include "provider/e2b/transport.h"
#include "provider/provider.h"

namespace sbx::provider::e2b {

// Deadlines: one E2B exchange makes up to `max_attempts` attempts of at most
// `request_timeout` each, with a wait of at most `backoff_max` between two, so
// every call except List returns within
//   max_attempts × (request_timeout + backoff_max)   (defaults: 4 × 15 s = 60 s).
// List reads all its pages within `list_timeout`.
struct E2bOptions {
  // Team API key (E2B_API_KEY), sent as X-API-Key. Required.
  std::string api_key;
  // Base URL of the REST API (E2B_API_URL), http:// or https://, no path.
  std::string api_url = "https://api.e2b.app";
  // Sandbox host domain (E2B_DOMAIN): preview URLs are
  // https://<preview_port>-<sandboxId>.<domain>/ (http:// when api_url is
  // http://, i.e. a local emulator). A `domain` in E2B's answer wins.
  std::string domain = "e2b.app";
  // Port inside the sandbox that the preview URL points at.
  uint16_t preview_port = 3000;
  // Template id or alias used when CreateRequest::template_name is empty.
  std::string template_id = "base";
  // Time to live E2B gives a sandbox on create and on resume (`timeout`), s.
  // Sandboxes are created with autoPause, so on expiry E2B pauses them.
  std::chrono::seconds sandbox_timeout{3600};
  // Deadline of one HTTP attempt, connect included, ms.
  std::chrono::milliseconds request_timeout{10'000};
  // Attempts per exchange, the first included (>= 1). Only 429, 5xx,
  // connection failures and timeouts are retried.
  int max_attempts = 4;
  // Backoff before retry n (n = 1, 2, …) is uniformly random in
  // [0, min(backoff_base × 2^(n-1), backoff_max)] ("full jitter"), ms. A 429's
  // Retry-After raises it, still capped by backoff_max.
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_max{5'000};
  // Sandboxes per List page (`limit`, 1..100).
  int list_page_size = 100;
  // Deadline of a whole List call, all pages and retries included, ms.
  std::chrono::milliseconds list_timeout{120'000};
};

// The longest any call but List takes: max_attempts × (request_timeout +
// backoff_max). A create or a pause at E2B may run that long, so the
// reconciler leaves records in STARTING/PAUSING alone for at least this.
std::chrono::milliseconds LongestCall(const E2bOptions& options);

// OK if `options` can be used; kInvalidArgument naming the bad field
// otherwise (empty api_key, api_url not http(s)://, non-positive durations or
// attempts, list_page_size outside 1..100, empty domain, port 0). app/ calls it
// before constructing E2bProvider.
Status ValidateE2bOptions(const E2bOptions& options);

// True for ids E2B can hold and that are safe in a URL path: 1..128
// characters from [a-z0-9-]. Calls with any other id fail with
// kInvalidArgument and send nothing.
bool IsValidE2bSandboxId(std::string_view id);

// Beyond the Provider contracts, every call maps E2B's answer the same way,
// after retries: 400 → kInvalidArgument, 401/403 → kPermissionDenied,
// 404 → kNotFound, 409 → kFailedPrecondition, 429 → kResourceExhausted,
// 5xx → kUnavailable, a timed-out attempt → kDeadlineExceeded, a connection
// failure → kUnavailable, a malformed 2xx body → kUnavailable. Messages name
// the operation and sandbox and quote E2B's message. Exceptions to the table:
// Pause answers OK for a 409 when the sandbox is paused (E2B's "already
// paused", else confirmed with a GET); Kill answers OK for 404.
class E2bProvider final : public Provider {
 public:
  // All references must outlive the provider. `clock` gives started_at and
  // call deadlines and, with BlockingSleep, the wait between attempts; `ids`
  // is the randomness of backoff jitter. REQUIRES: ValidateE2bOptions(options).ok().
  E2bProvider(Clock& clock, IdGenerator& ids, HttpTransport& transport, E2bOptions options);

  // Provider.
  // POST /v2/sandboxes {templateID, timeout, autoPause: true, secure: true,
  // allow_internet_access (when set), metadata (projectId and a new
  // kCreateRequestIdKey always set)}: E2B mints an envd access token, which
  // is never kept, logged or shown (quoted answers have it redacted). Returns the
  // sandbox running, with started_at = now and end_at = now +
  // sandbox_timeout. Idempotent: after an attempt that timed out, broke or
  // got a 5xx (it may have created a sandbox anyway), the sandbox carrying
  // this request's id is looked up (GET /v2/sandboxes?metadata=…) and adopted
  // if found, before any retry; if the lookup fails there is no retry, and a
  // sandbox created meanwhile is left to the reconciler's orphan reaper.
  Result<ProviderSandbox> Create(const CreateRequest& request) override;
  // POST /sandboxes/{id}/pause.
  Status Pause(const std::string& sandbox_id) override;
  // POST /v2/sandboxes/{id}/connect {timeout: sandbox_timeout}: resumes a paused
  // sandbox (201) or extends a running one (200). E2B's answer carries no
  // start time or metadata: started_at is now, end_at now + sandbox_timeout,
  // metadata empty.
  Result<ProviderSandbox> Resume(const std::string& sandbox_id) override;
  // DELETE /sandboxes/{id}: also deletes a paused sandbox's snapshot.
  Status Kill(const std::string& sandbox_id) override;
  // POST /sandboxes/{id}/timeout {timeout}: end of life = now + timeout
  // (may shorten it). kFailedPrecondition if the sandbox is not running.
  Status SetTimeout(const std::string& sandbox_id, std::chrono::seconds timeout) override;
  // GET /v2/sandboxes?limit=N[&nextToken=T], following X-Next-Token. Any page
  // failing after retries fails the whole call (never a partial list), as does
  // a server repeating a token (kUnavailable).
  Result<ListResult> List() override;
  // GET /sandboxes/{id}.
  Result<ProviderSandbox> Get(const std::string& sandbox_id) override;

  const E2bOptions& options() const { return options_; }

 private:
  // What one exchange came back with, after retries.
  struct Reply {
    HttpResponse response;
    int attempts = 0;  // how many were sent
  };

  // One E2B exchange with up to `max_attempts` attempts, bounded by
  // `deadline`: returns the last answer whatever its status (callers map
  // non-2xx), or the last transport error with `what` and the attempt count
  // prepended/appended.
  Result<Reply> Exchange(std::string_view what, const std::string& method, const std::string& path,
                         const std::string& body, SteadyTime deadline, int max_attempts);
  // Exchange with the deadline of a single call (see E2bOptions).
  Result<Reply> Exchange(std::string_view what, const std::string& method, const std::string& path,
                         const std::string& body);
  // The deadline of one call started now: max_attempts × (request_timeout + backoff_max).
  SteadyTime CallDeadline();
  // The sandbox whose kCreateRequestIdKey is `request_id`, if E2B lists one.
  Result<std::optional<ProviderSandbox>> FindCreated(const std::string& request_id,
                                                     const std::string& template_name,
                                                     SteadyTime deadline);
  // Wait before retry number `retry` (1-based); `response` is the failed
  // answer, null after a transport error.
  std::chrono::milliseconds Backoff(int retry, const HttpResponse* response);
  // The preview URL on `domain` when E2B named a non-empty one, else on options_.domain.
  std::string PreviewUrl(const std::string& sandbox_id,
                         const std::optional<std::string>& domain) const;
  // A listed or detailed sandbox as the Provider interface has it.
  ProviderSandbox FromListed(const sbx::e2b::ListedSandbox& e,
                             const std::optional<std::string>& domain) const;

  Clock& clock_;
  IdGenerator& ids_;
  HttpTransport& transport_;
  const E2bOptions options_;
  const std::string api_base_;  // api_url without a trailing '/'
};

}  // namespace sbx::provider::e2b
