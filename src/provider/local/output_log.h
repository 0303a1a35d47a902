// Reading a local sandbox's output log as whole lines, without loading the
// files: sandbox-logger keeps the newest output in <dir>/output.log and the
// half before it in <dir>/output.log.1 (renamed at each rotation). A cursor
// names a position as "<inode>.<birth>:<offset>" of output.log: after a rotation the
// same inode is output.log.1, so a reader continues there and then from the
// start of the new output.log; after two rotations what it missed is gone
// (`skipped`). The inode is paired with the file's birth time, because
// inode numbers are reused: two rotations within the filesystem's timestamp
// granularity (a few ms on ext4) could go unnoticed, a position then read in
// the newest file. A line still being written (no newline yet) is not returned
// until it is complete, unless it alone exceeds the read limit. Blocking
// file I/O: run on a BlockingPool. Thread-compatible.
#pragma once

#include <cstddef>
#include <filesystem>

#include "base/status.h"
#include "provider/provider.h"

namespace sbx::provider::local {

// Bytes one read returns at most (a longer backlog is returned over several
// reads; a tail reads at most this much from the end).
inline constexpr size_t kMaxOutputReadBytes = 1 << 20;

// The last `lines` (1..10000) complete lines of the output in `dir`, and the
// cursor after them. An empty or missing log gives no lines.
Result<OutputChunk> TailOutput(const std::filesystem::path& dir, int lines);
// The complete lines written after `cursor`. kInvalidArgument for a cursor
// that is not one a read returned ("0:0" reads from the start).
Result<OutputChunk> ReadOutputAfter(const std::filesystem::path& dir, const std::string& cursor);

}  // namespace sbx::provider::local
