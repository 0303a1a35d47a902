#include "provider/local/output_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>
#include <fstream>
#include <string>
#include <vector>

#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"

namespace sbx::provider::local {
namespace {

using Lines = std::vector<std::string>;

class OutputLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sbx_output_log_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Append(const std::string& text) {
    std::ofstream(dir_ / kOutputLog, std::ios::app | std::ios::binary) << text;
  }
  // What sandbox-logger does at a rotation.
  void Rotate() { std::filesystem::rename(dir_ / kOutputLog, dir_ / kOutputLogOld); }

  std::filesystem::path dir_;
};

// The real sandbox-logger, rotating every 2 KiB under lines written in
// pieces that straddle the rotations: a half ends at a line's end, so no line
// comes back split in two. The logger never ends by itself (it holds its FIFO
// open for writing): the runner stops it after a second, well after the
// writes below, which the FIFO buffers (8 KiB of its 64).
TEST_F(OutputLogTest, TheLoggerRotatesAtTheEndOfALine) {
  const std::filesystem::path fifo = dir_ / "output.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  PosixProcessRunner runner;
  std::optional<Result<ProcessResult>> ran;
  std::thread logger([&] {
    ran = runner.Run({SBX_SANDBOX_LOGGER, "--max-bytes", "4096", fifo.string(), dir_.string(),
                      "token"},
                     {.timeout = std::chrono::seconds(1), .kill_grace = std::chrono::seconds(1)});
  });
  auto line = [](int i) { return std::to_string(i) + " " + std::string(i % 97 + 1, 'x'); };
  std::string text;
  for (int i = 0; i < 200; ++i) text += line(i) + "\n";
  const int w = ::open(fifo.c_str(), O_WRONLY);  // once the logger has it open
  ASSERT_GE(w, 0);
  for (size_t at = 0; at < text.size(); at += 333) {
    const std::string piece = text.substr(at, 333);
    ASSERT_EQ(::write(w, piece.data(), piece.size()), static_cast<ssize_t>(piece.size()));
  }
  ::close(w);
  logger.join();
  ASSERT_TRUE(ran.has_value());
  EXPECT_EQ(ran->status().code(), StatusCode::kDeadlineExceeded) << ran->status().ToString();
  auto tail = TailOutput(dir_, 1000);
  ASSERT_TRUE(tail.ok()) << tail.error().ToString();
  ASSERT_FALSE(tail->lines.empty());
  EXPECT_EQ(tail->lines.back(), line(199));
  // Whole lines only, each the next after the one before.
  const int first = std::atoi(tail->lines.front().c_str());
  for (size_t k = 0; k < tail->lines.size(); ++k) {
    EXPECT_EQ(tail->lines[k], line(first + static_cast<int>(k))) << k;
  }
  EXPECT_GT(tail->lines.size(), 20u);
  std::ifstream older(dir_ / "output.log.1", std::ios::binary);
  const std::string old_half((std::istreambuf_iterator<char>(older)), {});
  ASSERT_FALSE(old_half.empty());
  EXPECT_EQ(old_half.back(), '\n');
}

TEST_F(OutputLogTest, TailReturnsTheLastCompleteLinesAcrossBothHalves) {
  auto empty = TailOutput(dir_, 10);
  ASSERT_TRUE(empty.ok()) << empty.error().ToString();
  EXPECT_TRUE(empty->lines.empty());
  Append("one\ntwo\nthree\n");
  Rotate();
  Append("four\nfive\nsix (being writ");
  auto all = TailOutput(dir_, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->lines, (Lines{"one", "two", "three", "four", "five"}));
  EXPECT_EQ(TailOutput(dir_, 2)->lines, (Lines{"four", "five"}));
  EXPECT_EQ(TailOutput(dir_, 0).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TailOutput(dir_, 10001).error().code(), StatusCode::kInvalidArgument);
}

TEST_F(OutputLogTest, FollowingACursorGivesEachLineOnceAcrossARotation) {
  Append("a\n");
  auto first = TailOutput(dir_, 10);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->lines, (Lines{"a"}));
  Append("b\nc (half");
  auto second = ReadOutputAfter(dir_, first->cursor);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->lines, (Lines{"b"}));
  EXPECT_FALSE(second->skipped);
  Append(")\nd\n");
  Rotate();  // the half line and d are now in the older half
  Append("e\n");
  auto third = ReadOutputAfter(dir_, second->cursor);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->lines, (Lines{"c (half)", "d", "e"}));
  EXPECT_FALSE(third->skipped);
  auto nothing = ReadOutputAfter(dir_, third->cursor);
  EXPECT_TRUE(nothing->lines.empty());
  EXPECT_EQ(nothing->cursor, third->cursor);
}

TEST_F(OutputLogTest, TwoRotationsSinceTheCursorSaySoAndGoOn) {
  Append("old\n");
  auto first = TailOutput(dir_, 10);
  Rotate();
  Append("middle\n");
  Rotate();
  // The new output.log may get the first one's inode number back; its birth
  // time tells them apart, at the filesystem's timestamp granularity (a few
  // ms on ext4; rotations are megabytes of output apart). Wait until the
  // filesystem's clock has moved past the first file's birth.
  const auto first_written = std::filesystem::last_write_time(dir_ / kOutputLogOld);
  for (int i = 0; i < 1'000'000; ++i) {
    std::ofstream(dir_ / "probe") << i;
    if (std::filesystem::last_write_time(dir_ / "probe") > first_written) break;
  }
  std::filesystem::remove(dir_ / "probe");
  Append("new\n");
  auto next = ReadOutputAfter(dir_, first->cursor);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->skipped);
  EXPECT_EQ(next->lines, (Lines{"middle", "new"}));
}

TEST_F(OutputLogTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  Append("ok \xC3\xA9\n");                // é
  Append("bad \xFF\xC3 \xED\xA0\x80\n");  // a stray byte, a cut sequence, a surrogate
  auto tail = TailOutput(dir_, 10);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->lines, (Lines{"ok \xC3\xA9", "bad \xEF\xBF\xBD\xEF\xBF\xBD "
                                                 "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}));
}

TEST_F(OutputLogTest, BadCursorsAreRefused) {
  for (const char* bad : {"", "x", "1:", ":2", "1.2:-3", "1.2:3:4", "a.b:1", "12:5"}) {
    auto r = ReadOutputAfter(dir_, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(OutputLogTest, AHugeBacklogComesInBoundedReads) {
  const std::string line(1000, 'x');
  for (int i = 0; i < 3000; ++i) Append(line + "\n");  // ~3 MB
  auto tail = TailOutput(dir_, 10000);
  ASSERT_TRUE(tail.ok());
  EXPECT_LE(tail->lines.size() * 1001, kMaxOutputReadBytes);
  EXPECT_GT(tail->lines.size(), 1000u);
  auto from_start = ReadOutputAfter(dir_, "0:0");
  ASSERT_TRUE(from_start.ok());
  size_t total = from_start->lines.size();
  std::string cursor = from_start->cursor;
  for (int i = 0; i < 10 && total < 3000; ++i) {
    auto more = ReadOutputAfter(dir_, cursor);
    ASSERT_TRUE(more.ok());
    EXPECT_LE(more->lines.size() * 1001, kMaxOutputReadBytes);
    total += more->lines.size();
    cursor = more->cursor;
  }
  EXPECT_EQ(total, 3000u);
}

}  // namespace
}  // namespace sbx::provider::local
