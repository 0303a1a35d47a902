// WebhookRegistry: the runtime's webhook registrations (POST/GET/PATCH/DELETE
// /events/webhooks, reference §4.2), validated, kept in memory and persisted
// to one JSON file (mode 0600: it holds the signing secrets) so a restart
// keeps them. Not thread-safe: REQUIRES use from the one I/O thread; Save()
// writes the file on the BlockingPool, and Load() blocks (call it at start-up).
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "base/blocking_pool.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/net.h"
#include "base/status.h"
#include "runtime_api/types.h"
#include "runtime_api/webhook_policy.h"

namespace sbx::runtime_api {

struct WebhookRegistryOptions {
  // <data-dir>/webhooks.json; empty keeps registrations in memory only.
  std::filesystem::path file;
  size_t max_webhooks = 100;    // registrations at most; Create beyond it is a 400
  WebhookTargetPolicy targets;  // the URLs registrations may name
};

class WebhookRegistry {
 public:
  WebhookRegistry(Clock& clock, IdGenerator& ids, BlockingPool& pool,
                  WebhookRegistryOptions options);

  // Reads the file, if it exists. kFailedPrecondition (naming the file) for a
  // file that cannot be read or parsed; registrations are unchanged then.
  // Stored URLs are not held to `targets` (deliveries check their addresses).
  Status Load();

  // WebhookCreate: name* (<= 256 bytes), url* (http://…, <= 2048 bytes,
  // allowed by `targets`: CheckWebhookHost), events* (e2b::WebhookEventTypes();
  // [] = all), enabled (default true), signatureSecret* (<= 1024 bytes).
  // kInvalidArgument naming the field otherwise, or when max_webhooks are
  // registered already; nothing is stored then.
  Result<Webhook> Create(const boost::json::object& body);
  // Replaces the fields present in `body` (same rules). kInvalidArgument,
  // kNotFound; nothing changes on error.
  Result<Webhook> Update(const std::string& id, const boost::json::object& body);
  // kNotFound if absent.
  Status Delete(const std::string& id);
  // Undoes a change whose Save failed: `before` (the registration as it was,
  // back in its place among the others by age) or, with none, the
  // registration `id` made by the change is removed.
  void Restore(const std::string& id, const std::optional<Webhook>& before);
  Result<Webhook> Get(const std::string& id) const;
  // Every registration, oldest first.
  std::vector<Webhook> List() const;
  // Enabled registrations whose events include `type` (or are empty).
  std::vector<Webhook> Subscribers(std::string_view type) const;

  // Writes the current registrations to the file (atomically: temp file and
  // rename, mode 0600). OK without a file. Concurrent saves never let an older
  // snapshot overwrite a newer one. kInternal naming the file on failure.
  net::awaitable<Status> Save();

 private:
  std::string Snapshot() const;
  Status WriteFile(uint64_t generation, const std::string& text);

  Clock& clock_;
  IdGenerator& ids_;
  BlockingPool& pool_;
  const WebhookRegistryOptions options_;
  std::vector<Webhook> webhooks_;
  uint64_t generation_ = 0;

  std::mutex file_mu_;               // held by pool threads while writing
  uint64_t written_generation_ = 0;  // GUARDED_BY(file_mu_)
};

// True for the 8-4-4-4-12 hex form of a UUID.
bool IsUuid(std::string_view text);

}  // namespace sbx::runtime_api
