// E2B's REST objects (shared/reference/e2b-api.md §1-§2) as plain structs,
// each with one JSON codec: ToJson writes the object the way E2B's API does,
// Parse<Object> reads one. The client (provider/e2b) emits requests and parses
// answers with them; the server (runtime_api) parses requests and emits
// answers with them, so every field name is spelt here and nowhere else.
// Pure functions; thread-safe; no I/O.
//
// Every Parse<Object> accepts any JSON value and returns kInvalidArgument for
// one that is not an object (not an array of objects, for lists), for a
// missing required field or for a field of the wrong type, in json.h's
// wording ("Field 'templateID' is required"). Callers add their context: the
// server answers 400 with the message, the client reports a malformed answer.
// Unknown fields are ignored and null is the same as absent. "Required" is
// what a peer cannot do without; the other fields take their zero value when
// absent, so a leaner E2B-compatible peer still parses.
//
// Adding a field: a member in its struct, one line in its ToJson, one in its
// Parse, and a value in rest_test.cc's round trip.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "base/status.h"
#include "base/time.h"
#include "core/sandbox.h"

namespace sbx::e2b {

// Headers: the team API key of every request; the list page token and the
// running count of GET /v2/sandboxes answers.
inline constexpr char kApiKeyHeader[] = "X-API-Key";
inline constexpr char kNextTokenHeader[] = "X-Next-Token";
inline constexpr char kTotalRunningHeader[] = "X-Total-Running";

// E2B's deprecated clientID placeholder, still a required field.
inline constexpr char kLegacyClientId[] = "6532622b";

// The public states (SandboxState). A sandbox being paused shows as paused.
enum class SandboxState { kRunning, kPaused };
// "running" | "paused".
std::string_view SandboxStateName(SandboxState state);
// nullopt for any other word.
std::optional<SandboxState> ParseSandboxState(std::string_view name);

// --- Answers ---

// Sandbox: the answer of create (201), connect (200 or 201) and resume (201).
// Required: templateID, sandboxID.
struct Sandbox {
  std::string template_id;                          // templateID
  std::string alias;                                // alias; omitted when empty
  std::string sandbox_id;                           // sandboxID
  std::string client_id;                            // clientID (kLegacyClientId)
  std::string envd_version;                         // envdVersion; the SDKs want >= 0.1.0
  std::optional<std::string> traffic_access_token;  // trafficAccessToken; null when absent
  std::optional<std::string> domain;                // domain of the sandbox hosts; null when absent

  friend bool operator==(const Sandbox&, const Sandbox&) = default;
};
boost::json::object ToJson(const Sandbox& sandbox);
Result<Sandbox> ParseSandbox(const boost::json::value& value);

// ListedSandbox: one element of GET /sandboxes and GET /v2/sandboxes.
// Required: templateID, sandboxID, startedAt, state.
struct ListedSandbox {
  std::string template_id;  // templateID
  std::string alias;        // alias; omitted when empty
  std::string sandbox_id;   // sandboxID
  std::string client_id;    // clientID
  SystemTime started_at{};  // startedAt: creation or latest resume (written with ms)
  // endAt: when a running sandbox times out, when a paused one paused;
  // omitted when absent.
  std::optional<SystemTime> end_at;
  int64_t cpu_count = 0;     // cpuCount
  int64_t memory_mb = 0;     // memoryMB
  int64_t disk_size_mb = 0;  // diskSizeMB
  // metadata: string to string, always written. Parsing skips values of
  // other types: they are not E2B metadata.
  core::Metadata metadata;
  SandboxState state = SandboxState::kRunning;  // state
  std::string envd_version;                     // envdVersion

  friend bool operator==(const ListedSandbox&, const ListedSandbox&) = default;
};
boost::json::object ToJson(const ListedSandbox& sandbox);
Result<ListedSandbox> ParseListedSandbox(const boost::json::value& value);
// The body of a list answer: a JSON array of ListedSandbox, in order.
boost::json::array ToJson(const std::vector<ListedSandbox>& sandboxes);
Result<std::vector<ListedSandbox>> ParseListedSandboxes(const boost::json::value& value);

// SandboxLifecycle: what happens at the timeout.
struct SandboxLifecycle {
  bool auto_resume = false;  // autoResume
  std::string on_timeout;    // onTimeout: "kill" or "pause"

  friend bool operator==(const SandboxLifecycle&, const SandboxLifecycle&) = default;
};

// SandboxDetail: the answer of GET /sandboxes/{id}, a ListedSandbox with
// more fields (written after the listed ones). Required: as ListedSandbox.
struct SandboxDetail : ListedSandbox {
  std::optional<std::string> domain;          // domain; null when absent
  std::optional<bool> allow_internet_access;  // allowInternetAccess; null when absent
  std::optional<SandboxLifecycle> lifecycle;  // lifecycle; omitted when absent

  friend bool operator==(const SandboxDetail&, const SandboxDetail&) = default;
};
boost::json::object ToJson(const SandboxDetail& sandbox);
Result<SandboxDetail> ParseSandboxDetail(const boost::json::value& value);

// Error: the body of every 4xx and 5xx answer. Required: message (may be "").
struct ErrorBody {
  int64_t code = 0;     // code: the HTTP status again
  std::string message;  // message

  friend bool operator==(const ErrorBody&, const ErrorBody&) = default;
};
boost::json::object ToJson(const ErrorBody& error);
Result<ErrorBody> ParseErrorBody(const boost::json::value& value);

// --- Requests ---

// VolumeMount: one element of NewSandbox's volumeMounts.
struct VolumeMount {
  std::string name;  // name: the volume
  std::string path;  // path: where it is mounted in the sandbox

  friend bool operator==(const VolumeMount&, const VolumeMount&) = default;
};

// SandboxNetwork: NewSandbox's `network` object. The fields a peer rarely
// needs to look into are kept as the JSON they came in (null = absent).
struct SandboxNetwork {
  std::optional<bool> allow_public_traffic;        // allowPublicTraffic (E2B: true when absent)
  std::vector<std::string> allow_out;              // allowOut: CIDRs, IPs or domains
  std::vector<std::string> deny_out;               // denyOut: CIDRs or IPs
  std::optional<std::string> mask_request_host;    // maskRequestHost
  std::optional<boost::json::value> egress_proxy;  // egressProxy
  std::optional<boost::json::value> rules;         // rules
  std::optional<boost::json::value> https_ports;   // httpsPorts

  friend bool operator==(const SandboxNetwork&, const SandboxNetwork&) = default;
};

// NewSandbox: the body of POST /sandboxes and of POST /v2/sandboxes (the
// same object; E2B's v2 sandboxes are secured whatever `secure` says).
// Required: templateID (non-empty).
struct NewSandbox {
  std::string template_id;                    // templateID: id or alias, may carry ":tag"
  std::optional<int64_t> timeout_s;           // timeout, s; E2B uses 15 (v2: 300) when absent
  std::optional<bool> auto_pause;             // autoPause: pause instead of kill at the timeout
  std::optional<bool> auto_pause_memory;      // autoPauseMemory: false = filesystem-only pauses
  std::optional<bool> auto_resume;            // autoResume: {"enabled": …}
  std::optional<bool> secure;                 // secure: mint an envd access token
  std::optional<bool> allow_internet_access;  // allow_internet_access (snake_case on the wire)
  std::optional<SandboxNetwork> network;      // network
  std::vector<VolumeMount> volume_mounts;     // volumeMounts; omitted when empty
  std::optional<boost::json::value> mcp;      // mcp: MCP gateway configuration, opaque
  std::optional<boost::json::value> iam;      // iam: workload identity tokens, opaque
  core::Metadata metadata;                    // metadata; omitted when empty
  core::Metadata env_vars;                    // envVars; omitted when empty

  friend bool operator==(const NewSandbox&, const NewSandbox&) = default;
};
boost::json::object ToJson(const NewSandbox& request);
Result<NewSandbox> ParseNewSandbox(const boost::json::value& value);

// ConnectSandbox: the body of POST /sandboxes/{id}/connect (timeout
// required) and of POST /v2/sandboxes/{id}/connect (ConnectSandboxV2: the
// body and its timeout are optional, E2B uses 300 s).
struct ConnectSandbox {
  std::optional<int64_t> timeout_s;  // timeout, s: the time to live from now (extends only)
  std::optional<bool> memory;        // memory: false = resume from disk only (cold boot)

  friend bool operator==(const ConnectSandbox&, const ConnectSandbox&) = default;
};
boost::json::object ToJson(const ConnectSandbox& request);
// v1: kInvalidArgument "Field 'timeout' is required" without one.
Result<ConnectSandbox> ParseConnectSandbox(const boost::json::value& value);
Result<ConnectSandbox> ParseConnectSandboxV2(const boost::json::value& value);

// ResumedSandbox: the optional body of POST /sandboxes/{id}/resume.
struct ResumedSandbox {
  std::optional<int64_t> timeout_s;  // timeout, s; 15 when absent
  std::optional<bool> auto_pause;    // autoPause: overrides the stored one
  std::optional<bool> memory;        // memory: false = resume from disk only (cold boot)

  friend bool operator==(const ResumedSandbox&, const ResumedSandbox&) = default;
};
boost::json::object ToJson(const ResumedSandbox& request);
Result<ResumedSandbox> ParseResumedSandbox(const boost::json::value& value);

// SandboxTimeoutRequest: the body of POST /sandboxes/{id}/timeout.
// Required: timeout.
struct SandboxTimeoutRequest {
  int64_t timeout_s = 0;  // timeout, s: end of life = now + timeout (may shorten)

  friend bool operator==(const SandboxTimeoutRequest&, const SandboxTimeoutRequest&) = default;
};
boost::json::object ToJson(const SandboxTimeoutRequest& request);
Result<SandboxTimeoutRequest> ParseSandboxTimeoutRequest(const boost::json::value& value);

// SandboxRefreshRequest: the optional body of POST /sandboxes/{id}/refreshes.
struct SandboxRefreshRequest {
  std::optional<int64_t> duration_s;  // duration, s

  friend bool operator==(const SandboxRefreshRequest&, const SandboxRefreshRequest&) = default;
};
boost::json::object ToJson(const SandboxRefreshRequest& request);
Result<SandboxRefreshRequest> ParseSandboxRefreshRequest(const boost::json::value& value);

// SandboxPauseRequest: the optional body of POST /sandboxes/{id}/pause.
struct SandboxPauseRequest {
  std::optional<bool> memory;  // memory: keep memory (E2B's default) or only the filesystem

  friend bool operator==(const SandboxPauseRequest&, const SandboxPauseRequest&) = default;
};
boost::json::object ToJson(const SandboxPauseRequest& request);
Result<SandboxPauseRequest> ParseSandboxPauseRequest(const boost::json::value& value);

}  // namespace sbx::e2b
