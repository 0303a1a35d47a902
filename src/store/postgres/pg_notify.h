// Private to store/postgres: what PostgresStore notifies inside each commit
// of a sandbox change, and how the change feed reads it back. Pure functions;
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "store/change_feed.h"
#include "store/codec.h"

namespace sbx::store {

// PostgreSQL refuses notification payloads of this many bytes or more.
inline constexpr size_t kMaxPayloadBytes = 8000;

// A record as committed, from its EncodeSandbox values (those its write
// binds): "<version>:<project id>\n<EncodeSandboxJson>", so that followers
// need not load it, or "<version>:<project id>" alone when that would not fit
// kMaxPayloadBytes (large metadata).
std::string ChangePayload(std::span<const SqlValue> encoded);
// A forgotten record: "<version>:<project id>", the version one past the
// last record's.
std::string RemovalPayload(std::string_view project_id, int64_t version);
// The change a payload names, with its record when it carries one; nullopt
// for any other text. A payload whose record does not decode, or names
// another project or version, is read as "<version>:<project id>" alone.
std::optional<Change> ParseChangePayload(std::string_view payload);

}  // namespace sbx::store
