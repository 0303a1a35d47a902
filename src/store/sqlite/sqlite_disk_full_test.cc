// SqliteStore on a full disk: a small ext4 filesystem on a loop device, filled
// up by the test. Writes fail with kUnavailable (the API's 503) and a clear
// message, nothing acknowledged before is lost, and the store recovers by
// itself once space is freed. Needs root (mount); labelled `root`: it fails,
// never skips, without it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "store/testing/records.h"

extern char** environ;

namespace sbx::store {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Make;

// Runs argv (PATH lookup) and returns its exit code, -1 if it did not run.
int RunCommand(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class SqliteDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "this test mounts a filesystem and must run as root "
                                  "(exclude it with `ctest -LE root`)";
    char tmpl[] = "/tmp/sbx-disk-full.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    image_ = root_ / "fs.img";
    mnt_ = root_ / "mnt";
    fs::create_directory(mnt_);
    ASSERT_EQ(RunCommand({"truncate", "-s", "8M", image_.string()}), 0);
    ASSERT_EQ(RunCommand({"mkfs.ext4", "-q", "-F", "-m", "0", image_.string()}), 0);
    ASSERT_EQ(RunCommand({"mount", "-o", "loop", image_.string(), mnt_.string()}), 0);
    mounted_ = true;
  }
  void TearDown() override {
    store_.reset();
    if (mounted_) {
      EXPECT_EQ(RunCommand({"umount", mnt_.string()}), 0);
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Writes a filler file until the filesystem refuses more (ENOSPC).
  void Fill() {
    const int fd = ::open((mnt_ / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    std::string block(64 * 1024, 'x');
    for (size_t size = block.size(); size >= 512; size /= 2) {
      while (::write(fd, block.data(), size) == static_cast<ssize_t>(size)) {
      }
    }
    const int err = errno;
    ::fsync(fd);
    ::close(fd);
    ASSERT_EQ(err, ENOSPC);
  }

  std::string DbPath() const { return (mnt_ / "sandboxd.db").string(); }

  fs::path root_, image_, mnt_;
  bool mounted_ = false;
  std::unique_ptr<SqliteStore> store_;
};

core::Sandbox Big(const std::string& project) {
  core::Sandbox s = Make(project, 1);
  s.metadata["padding"] = std::string(3000, 'p');  // fills pages quickly
  return s;
}

TEST_F(SqliteDiskFullTest, WritesFailClearlyNothingAcknowledgedIsLostAndItRecoversOnItsOwn) {
  auto opened = SqliteStore::Open(DbPath(), {.timeout = 2s});
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  store_ = std::move(*opened);
  std::set<std::string> acked;
  for (int i = 0; i < 20; ++i) {
    const std::string p = "before-" + std::to_string(i);
    ASSERT_TRUE(store_->CommitTransition(Big(p), 0, "e-" + p, testing::Row(p, "e-" + p, "applied"))
                    .ok());
    acked.insert(p);
  }
  Fill();

  // Keep writing: SQLite may still have room in pages it owns, but a full
  // disk stops it within a bounded number of writes.
  Status failed;
  std::string failed_project;
  for (int i = 0; i < 5000 && failed.ok(); ++i) {
    const std::string p = "during-" + std::to_string(i);
    failed = store_->CommitTransition(Big(p), 0, "e-" + p, testing::Row(p, "e-" + p, "applied"));
    if (failed.ok()) {
      acked.insert(p);
    } else {
      failed_project = p;
    }
  }
  ASSERT_FALSE(failed.ok()) << "5000 writes fitted on a full 8 MiB filesystem";
  std::cout << "[  REPORT  ] " << acked.size() - 20 << " writes fitted after the disk filled; then "
            << failed.ToString() << std::endl;
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable) << failed.ToString();
  EXPECT_TRUE(failed.message().find("full") != std::string::npos ||
              failed.message().find("I/O") != std::string::npos)
      << failed.message();
  // The failed write left nothing behind; reads go on.
  EXPECT_EQ(store_->GetSandbox(failed_project).error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*store_->IsEventProcessed("e-" + failed_project));
  EXPECT_TRUE(store_->GetSandbox("before-0").ok());
  // Still full: still failing, still clearly.
  Status again = store_->CommitTransition(Big(failed_project), 0, "e-" + failed_project,
                                          testing::Row(failed_project, "x", "applied"));
  EXPECT_EQ(again.code(), StatusCode::kUnavailable) << again.ToString();

  // Space comes back: the same store, no reopen, takes writes again.
  ASSERT_TRUE(fs::remove(mnt_ / "filler"));
  Status recovered = store_->CommitTransition(Big(failed_project), 0, "e-" + failed_project,
                                              testing::Row(failed_project, "e", "applied"));
  ASSERT_TRUE(recovered.ok()) << recovered.ToString();
  acked.insert(failed_project);

  // Every acknowledged write is there, also after closing and reopening.
  auto loaded = store_->LoadSandboxes();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), acked.size());
  store_.reset();
  auto reopened = SqliteStore::Open(DbPath());
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  auto all = (*reopened)->LoadSandboxes();
  ASSERT_TRUE(all.ok());
  std::set<std::string> stored;
  for (const core::Sandbox& s : *all) stored.insert(s.project_id);
  EXPECT_EQ(stored, acked);
  for (const std::string& p : acked) {
    EXPECT_TRUE(*(*reopened)->IsEventProcessed("e-" + p)) << p;
  }
  reopened->reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(DbPath().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

}  // namespace
}  // namespace sbx::store
