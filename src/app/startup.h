// Start-up helpers shared by `sandboxd serve`, `sandboxd runtime` and the
// offline commands (migrate, policy replay):
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
#include "provider/local/local_provider.h"

namespace sbx::app {

// The store --store names, else the data dir's SQLite file:
// "sqlite://<data-dir>/sandboxd.db".
std::string StoreUrl(const std::filesystem::path& data_dir, const std::string& store);
// kInvalidArgument for a --store that is neither sqlite:// nor postgres://.
Status UnknownStoreUrl(const std::string& url);

// Sends spdlog's output to stderr under `name` at `level` (debug, info, warn,
// error or off) with the project's timestamp pattern. kInvalidArgument naming
// --log-level for another level.
Status SetUpLogging(const std::string& name, const std::string& level);
// Raises the soft RLIMIT_NOFILE to the hard limit (the common default of
// 1,024 descriptors is far below what thousands of connections need) and
// returns the soft limit now in force.
uint64_t RaiseFileLimit();
// The number of connections a server may keep open under `file_limit`
// descriptors: `wanted`, less what the rest of the process needs.
size_t ConnectionBudget(size_t wanted, uint64_t file_limit);

// An exclusive lock on a data dir (flock on <dir>/lock), held for the life
// of the process: two sandboxd processes on one data dir would both run the
// enforcer and the reconciler on one runc root.
class DataDirLock {
 public:
  // kFailedPrecondition, naming the holder's pid, when another process holds
  // it; kUnavailable when the lock file cannot be opened.
  static Result<DataDirLock> Acquire(const std::filesystem::path& data_dir);
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

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

// Host ids for the sandboxes' user namespaces, "first-last" inclusive:
// "1879048192-2147483647" → {first, count}. At least one slice of 65536 ids,
// never the host's own ids below 65536; kInvalidArgument naming the flag.
struct UidRangeSetting {
  uint32_t first = 0;
  uint32_t count = 0;
};
Result<UidRangeSetting> ParseUidRange(const std::string& text);

// The local provider's options for a data dir: runc root and bundles below
// it, templates from --templates-dir (or templates/ beside the build or the
// cwd), helpers beside the executable, user namespaces from `uids`.
provider::local::LocalProviderOptions LocalRuntimeOptions(const std::filesystem::path& data_dir,
                                                          const std::string& templates_dir,
                                                          const std::filesystem::path& exe_dir,
                                                          const UidRangeSetting& uids);

}  // namespace sbx::app
