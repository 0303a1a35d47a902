// UidSlices hands each sandbox its own slice of host user and group ids for
// its user namespace (container ids 0..slice_size-1), out of a configured
// range. A claim is a file <dir>/<slice index> created exclusively and holding
// the claimant's token, so that every sandboxd instance sharing `dir` (the
// default is host-wide, under /run) gets disjoint slices, and claims vanish
// with the host's sandboxes at reboot. Thread-safe; calls do small file I/O.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "provider/local/bundle.h"

namespace sbx::provider::local {

struct UidRange {
  uint32_t first = 0;          // first host id of the range
  uint32_t count = 0;          // ids in the range
  uint32_t slice_size = 0;     // ids per sandbox
  uint32_t slices() const { return slice_size == 0 ? 0 : count / slice_size; }
};

// kInvalidArgument unless the range holds at least one slice of at least
// 65,536 ids (a full 16-bit id space inside), lies above the host's own ids
// (first >= 65,536) and ends below 2^32 - 1.
Status CheckUidRange(const UidRange& range);

class UidSlices {
 public:
  UidSlices(std::filesystem::path dir, UidRange range);

  // Claims a free slice for `token`. kUnavailable when every slice is taken;
  // kInternal for file errors.
  Result<IdMapping> Claim(const std::string& token);
  // Drops every claim held by `token`. OK if there is none.
  Status Release(const std::string& token);
  // (slice index, token) of every claim in the directory.
  Result<std::vector<std::pair<uint32_t, std::string>>> Claims();

 private:
  const std::filesystem::path dir_;
  const UidRange range_;
  std::mutex mu_;
  uint32_t next_ = 0;  // where the next search starts; GUARDED_BY(mu_)
};

}  // namespace sbx::provider::local
