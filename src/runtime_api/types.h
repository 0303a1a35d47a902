// Plain records of the runtime API: a sandbox as the runtime tracks it, a
// list position and a webhook registration. Shared by the runtime's parts
// (sandboxes, webhooks, wire); no behaviour. Copyable values. The E2B wire
// objects themselves are in e2b/rest.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "core/sandbox.h"
#include "e2b/rest.h"

namespace sbx::runtime_api {

// Public E2B states (running, paused). A sandbox being paused still shows as
// running here: the runtime commits a state only once the provider call
// returned.
using e2b::SandboxState;

struct SandboxRecord {
  std::string sandbox_id;
  std::string template_id;              // the local template name
  std::string alias;                    // the templateID as the client sent it, when it differs
  core::Metadata metadata;              // the client's metadata (reserved keys removed)
  SystemTime started_at{};              // creation or latest resume, ms precision
  SystemTime end_at{};                  // running: when the timeout fires
  std::optional<SystemTime> paused_at;  // paused: when it paused (shown as endAt)
  std::chrono::seconds timeout{0};      // timeout of the create / latest resume
  bool auto_pause = false;              // on timeout: pause instead of kill
  bool auto_resume = false;             // paused: preview traffic resumes it (needs auto_pause)
  // As the client asked (null: not said); passed to the provider at create.
  std::optional<bool> allow_internet_access;
  SandboxState state = SandboxState::kRunning;
  std::string execution_id;      // new uuid for every start and resume
  std::string build_id;          // uuid, fixed for the sandbox's life
  std::optional<uint16_t> port;  // the sandbox's single port on 127.0.0.1
  int64_t cpu_count = 1;
  int64_t memory_mb = 0;
  int64_t disk_size_mb = 0;
};

// Position after which GET /v2/sandboxes continues: the last sandbox of the
// previous page in the order requested.
struct ListCursor {
  int64_t started_at_ms = 0;
  std::string sandbox_id;
  bool ascending = false;

  friend bool operator==(const ListCursor&, const ListCursor&) = default;
};

struct Webhook {
  std::string id;  // uuid
  std::string name;
  std::string url;               // http://host[:port]/path
  std::string signature_secret;  // write-only: never serialized to clients
  bool enabled = true;
  std::vector<std::string> events;  // full type strings; empty = every type
  SystemTime created_at{};
};

}  // namespace sbx::runtime_api
