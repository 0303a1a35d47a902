// Private to store/postgres: what PostgresStore notifies inside each commit
// of a sandbox change, and how the change feed reads it back. Pure functions;
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/sandbox.h"
#include "store/change_feed.h"

namespace sbx::store {

// "<version>:<project id>".
std::string ChangePayload(const core::Sandbox& s);
// The change a ChangePayload names; nullopt for any other text.
std::optional<Change> ParseChangePayload(std::string_view payload);

}  // namespace sbx::store
