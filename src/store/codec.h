// Column encodings shared by the SQL stores: metadata maps and error lists as
// JSON text. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "core/sandbox.h"

namespace sbx::store {

std::string EncodeMetadata(const core::Metadata& m);
Result<core::Metadata> DecodeMetadata(const std::string& text);
std::string EncodeStrings(const std::vector<std::string>& v);
Result<std::vector<std::string>> DecodeStrings(const std::string& text);

// The schema, one migration per entry, applied in order by both SQL stores.
// Entry i brings the schema to version i + 1. SQL is the common subset of
// SQLite and PostgreSQL.
const std::vector<std::string>& Migrations();

}  // namespace sbx::store
