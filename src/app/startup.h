// Start-up helpers shared by `sandboxd serve` and `sandboxd runtime`: seeds,
// secrets from the kernel's CSPRNG, the secret files in the data dir, port
// ranges and default directories. Called once at start; blocking; not for
// request paths.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sbx::app {

// Sends spdlog's output to stderr under `name` at `level` (debug, info, warn,
// error or off) with the project's timestamp pattern. kInvalidArgument naming
// --log-level for another level.
Status SetUpLogging(const std::string& name, const std::string& level);
// A seed for IdGenerator (ids and jitter, not secrets).
uint64_t RandomSeed();
// `bytes` bytes from /dev/urandom as lowercase hex; "" if it cannot be read.
std::string RandomHex(size_t bytes);
// The first line of `path` if it exists and is non-empty; otherwise a new
// secret `prefix` + 40 hex digits from /dev/urandom, written there with mode
// 0600. kUnavailable if it can neither be read nor written.
Result<std::string> LoadOrCreateSecret(const std::filesystem::path& path,
                                       const std::string& prefix);
// "40000-40999" → {40000, 40999}; kInvalidArgument naming the flag otherwise.
Result<std::pair<uint16_t, uint16_t>> ParsePortRange(const std::string& text);
// The first of `candidates` that is a directory, else the first one.
std::filesystem::path FirstExisting(const std::vector<std::filesystem::path>& candidates);

}  // namespace sbx::app
