#include "provider/local/output_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "provider/local/local_provider.h"

namespace sbx::provider::local {
namespace {

// A file's identity across renames: its inode and, where the filesystem
// records it, its birth time (an inode number is reused once the file that
// had it is gone, as at every second rotation).
struct File {
  Fd fd;
  std::string id;  // <inode>.<birth ns>
  int64_t size = 0;
};

// Opens `path` read-only into `f`; false when it does not exist.
Result<bool> OpenIfExists(const std::filesystem::path& path, File& f) {
  f.fd.Reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.fd.valid()) {
    if (errno == ENOENT) return false;
    return Internal(fmt::format("open {}: {}", path.string(), std::strerror(errno)));
  }
  struct statx st {};
  if (::statx(f.fd.get(), "", AT_EMPTY_PATH, STATX_INO | STATX_SIZE | STATX_BTIME, &st) != 0) {
    return Internal(fmt::format("stat {}: {}", path.string(), std::strerror(errno)));
  }
  const int64_t born = (st.stx_mask & STATX_BTIME) != 0
                           ? static_cast<int64_t>(st.stx_btime.tv_sec) * 1'000'000'000 +
                                 st.stx_btime.tv_nsec
                           : 0;
  f.id = fmt::format("{}.{}", st.stx_ino, born);
  f.size = static_cast<int64_t>(st.stx_size);
  return true;
}

// Bytes [from, to) of `f` (short if the file is shorter).
Result<std::string> ReadRange(const File& f, int64_t from, int64_t to) {
  std::string out;
  if (to <= from) return out;
  out.resize(static_cast<size_t>(to - from));
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::pread(f.fd.get(), out.data() + got, out.size() - got,
                              static_cast<off_t>(from) + static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal(fmt::format("read output log: {}", std::strerror(errno)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

// `line` with every byte that is not part of well-formed UTF-8 replaced by
// U+FFFD: sandboxes write whatever bytes they like, and the lines travel as
// JSON strings. (Hand-written: none of the libraries we use offers a
// replacing decoder; Boost.JSON passes bytes through unchecked.)
std::string ToValidUtf8(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size();) {
    const auto b = static_cast<unsigned char>(line[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    bool ok = n > 0 && i + n <= line.size();
    uint32_t cp = n == 1 ? b : n == 2 ? b & 0x1F : n == 3 ? b & 0x0F : b & 0x07;
    for (size_t k = 1; ok && k < n; ++k) {
      const auto c = static_cast<unsigned char>(line[i + k]);
      ok = (c >> 6) == 0x2;
      cp = (cp << 6) | (c & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
               (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)) {
      ok = false;
    }
    if (ok) {
      out.append(line.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i += 1;
    }
  }
  return out;
}

void SplitLines(std::string_view text, std::vector<std::string>& out) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      out.push_back(ToValidUtf8(text));
      return;
    }
    out.push_back(ToValidUtf8(text.substr(0, nl)));
    text.remove_prefix(nl + 1);
  }
}

std::string Cursor(const std::string& id, int64_t offset) {
  return fmt::format("{}:{}", id, offset);
}

// The complete lines of `f` from `offset` on (at most `budget` bytes; a
// single over-long line is cut there), appended to `out`; returns the offset
// after them. `finished`: the file no longer grows (the older half), so text
// after its last newline is a line too.
Result<int64_t> ReadLinesFrom(const File& f, int64_t offset, size_t budget, bool finished,
                              std::vector<std::string>& out) {
  const int64_t end = std::min<int64_t>(f.size, offset + static_cast<int64_t>(budget));
  SBX_ASSIGN_OR_RETURN(std::string text, ReadRange(f, offset, end));
  size_t keep = text.rfind('\n');
  if (keep == std::string::npos || (finished && end == f.size)) {
    // No complete line: wait for it, unless the file is finished or the
    // line alone fills the budget.
    if (keep == std::string::npos && !finished && text.size() < budget) return offset;
    keep = text.size();
  } else {
    keep += 1;
  }
  std::string_view whole(text.data(), keep);
  if (!whole.empty() && whole.back() == '\n') whole.remove_suffix(1);
  SplitLines(whole, out);
  return offset + static_cast<int64_t>(keep);
}

}  // namespace

Result<OutputChunk> TailOutput(const std::filesystem::path& dir, int lines) {
  if (lines < 1 || lines > 10000) return InvalidArgument("tail must be between 1 and 10000");
  File current, older;
  SBX_ASSIGN_OR_RETURN(const bool cur_open, OpenIfExists(dir / kOutputLog, current));
  SBX_ASSIGN_OR_RETURN(const bool old_open, OpenIfExists(dir / kOutputLogOld, older));
  OutputChunk chunk;
  // Up to the last newline of output.log: a line being written comes later.
  int64_t end = 0;
  std::string text;
  if (cur_open) {
    const int64_t from = std::max<int64_t>(0, current.size - kMaxOutputReadBytes);
    SBX_ASSIGN_OR_RETURN(text, ReadRange(current, from, current.size));
    const size_t nl = text.rfind('\n');
    text.resize(nl == std::string::npos ? 0 : nl + 1);
    end = from + static_cast<int64_t>(text.size());
    if (from > 0) {
      // Started mid-line: drop the partial first line.
      const size_t first = text.find('\n');
      text.erase(0, first == std::string::npos ? text.size() : first + 1);
    }
  }
  if (old_open && text.size() < kMaxOutputReadBytes) {
    const int64_t want = static_cast<int64_t>(kMaxOutputReadBytes - text.size());
    const int64_t from = std::max<int64_t>(0, older.size - want);
    SBX_ASSIGN_OR_RETURN(std::string before, ReadRange(older, from, older.size));
    if (from > 0) {
      const size_t first = before.find('\n');
      before.erase(0, first == std::string::npos ? before.size() : first + 1);
    }
    if (!before.empty() && before.back() != '\n') before += '\n';
    text = before + text;
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  std::vector<std::string> all;
  if (!text.empty()) SplitLines(text, all);
  const size_t n = std::min(all.size(), static_cast<size_t>(lines));
  chunk.lines.assign(std::make_move_iterator(all.end() - static_cast<std::ptrdiff_t>(n)),
                     std::make_move_iterator(all.end()));
  chunk.cursor = cur_open ? Cursor(current.id, end) : "0:0";
  return chunk;
}

Result<OutputChunk> ReadOutputAfter(const std::filesystem::path& dir, const std::string& cursor) {
  // <inode>.<birth ns>:<offset>, or 0:<offset> (no log yet).
  const size_t colon = cursor.find(':');
  int64_t offset = 0;
  auto number = [](std::string_view s, int64_t& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
  };
  const std::string id = cursor.substr(0, colon == std::string::npos ? 0 : colon);
  const size_t dot = id.find('.');
  int64_t part = 0;
  const bool id_ok =
      id == "0" || (dot != std::string::npos && number(std::string_view(id).substr(0, dot), part) &&
                    number(std::string_view(id).substr(dot + 1), part));
  if (colon == std::string::npos || !id_ok ||
      !number(std::string_view(cursor).substr(colon + 1), offset) || offset < 0) {
    return InvalidArgument(fmt::format("bad output cursor \"{}\" (want one a read returned)", cursor));
  }
  File current, older;
  SBX_ASSIGN_OR_RETURN(const bool cur_open, OpenIfExists(dir / kOutputLog, current));
  SBX_ASSIGN_OR_RETURN(const bool old_open, OpenIfExists(dir / kOutputLogOld, older));
  OutputChunk chunk;
  if (!cur_open) {
    chunk.cursor = cursor;
    return chunk;
  }
  size_t budget = kMaxOutputReadBytes;
  int64_t from = 0;
  if (id == current.id && offset <= current.size) {
    from = offset;
  } else if (old_open && id == older.id && offset <= older.size) {
    // Rotated once since: the rest of the older half, then the new file.
    SBX_ASSIGN_OR_RETURN(int64_t old_end, ReadLinesFrom(older, offset, budget, true, chunk.lines));
    if (old_end < older.size) {
      // Not all of it fits (or a cut line): read on from there next time.
      chunk.cursor = Cursor(older.id, old_end);
      return chunk;
    }
    budget -= static_cast<size_t>(older.size - offset);
  } else if (id != "0") {
    // Rotated twice (or a cursor of another sandbox): what was between is gone.
    chunk.skipped = true;
    if (old_open) {
      SBX_ASSIGN_OR_RETURN(int64_t old_end, ReadLinesFrom(older, 0, budget, true, chunk.lines));
      if (old_end < older.size) {
        chunk.cursor = Cursor(older.id, old_end);
        return chunk;
      }
      budget -= static_cast<size_t>(older.size);
    }
  }
  SBX_ASSIGN_OR_RETURN(int64_t end, ReadLinesFrom(current, from, std::max<size_t>(budget, 1),
                                                   false, chunk.lines));
  chunk.cursor = Cursor(current.id, end);
  return chunk;
}

}  // namespace sbx::provider::local
