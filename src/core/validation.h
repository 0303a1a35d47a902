// The one validation of what clients name and attach: project ids and
// sandbox metadata, checked the same wherever they enter (the REST API, E2B
// webhooks, the runtime's E2B-compatible API). The limits keep every record,
// notification and OCI annotation small (a project id rides in every
// PostgreSQL NOTIFY, limited to 8,000 bytes; metadata rides in every status
// read and SSE frame and becomes container annotations). Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/status.h"
#include "core/sandbox.h"

namespace sbx::core {

inline constexpr size_t kMaxProjectIdBytes = 128;
inline constexpr size_t kMaxMetadataEntries = 32;
inline constexpr size_t kMaxMetadataKeyBytes = 64;
inline constexpr size_t kMaxMetadataValueBytes = 1024;
inline constexpr size_t kMaxMetadataBytes = 8192;  // all keys and values together

// Project ids: 1 to 128 characters of [A-Za-z0-9._-], not "." or "..".
// kInvalidArgument naming the rule otherwise.
Status ValidateProjectId(std::string_view id);

// Busy hold names: 1 to 64 characters of [A-Za-z0-9._-], not "." or "..".
inline constexpr size_t kMaxHoldNameBytes = 64;
Status ValidateHoldName(std::string_view name);

// Ids that a provider gives (sandbox ids, event ids): 1 to 128 characters of
// [A-Za-z0-9._-]. `what` names the id in the message. kInvalidArgument otherwise.
Status ValidateProviderId(std::string_view what, std::string_view id);

// A template as E2B names them ("hello", "team/hello:v2"): 1 to 128
// characters of [A-Za-z0-9._-/:]. kInvalidArgument naming `what` otherwise.
inline constexpr size_t kMaxTemplateIdBytes = 128;
Status ValidateTemplateId(std::string_view what, std::string_view id);

// What metadata keys may be: names of [A-Za-z0-9._-] (sandboxd's API), or
// any UTF-8 text without control characters (E2B's clients, and so webhooks:
// E2B documents metadata as arbitrary key-value pairs, and its SDKs
// URL-encode keys, so "user id" or "app/owner" are legitimate there).
enum class MetadataKeys { kNames, kText };

// The metadata keys sandboxd itself adds to a sandbox at the provider: the
// project (every provider) and the create request's id (provider/e2b). They
// come back in webhooks and reach the runtime API on top of a client's own.
inline constexpr char kProjectIdMetadataKey[] = "projectId";
inline constexpr char kCreateRequestIdMetadataKey[] = "sandboxd.requestId";
bool IsSandboxdMetadataKey(std::string_view key);

// Metadata: at most 32 entries; keys of 1 to 64 bytes as `keys` says;
// values of at most 1,024 bytes of UTF-8 without control characters; at most
// 8,192 bytes of keys and values together. sandboxd's own keys are checked
// entry by entry but not counted, so that a client's 32 entries still pass
// where they come back with sandboxd's added. kInvalidArgument naming the
// entry and the limit otherwise.
Status ValidateMetadata(const Metadata& metadata, MetadataKeys keys = MetadataKeys::kNames);

}  // namespace sbx::core
