// Runs real (tiny) children: /bin/sh and coreutils. No root, no network.
#include "provider/local/posix_process_runner.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

Result<ProcessResult> Sh(const std::string& script, RunOptions options = {}) {
  PosixProcessRunner runner;
  return runner.Run({"/bin/sh", "-c", script}, options);
}

TEST(PosixProcessRunnerTest, CapturesOutputAndExitCode) {
  auto r = Sh("echo out; echo err >&2; exit 3");
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(PosixProcessRunnerTest, LooksUpProgramInPath) {
  PosixProcessRunner runner;
  auto r = runner.Run({"echo", "a b", "c"}, {});
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->out, "a b c\n");  // argv passed as is: no shell splitting
}

TEST(PosixProcessRunnerTest, StdinIsDevNull) {
  auto r = Sh("cat; echo done");
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->out, "done\n");
}

TEST(PosixProcessRunnerTest, ReportsSignalAsExitCode) {
  auto r = Sh("kill -9 $$");
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 128 + 9);
}

TEST(PosixProcessRunnerTest, CapsCapturedOutput) {
  RunOptions options;
  options.max_output_bytes = 100;
  auto r = Sh("head -c 300000 /dev/zero | tr '\\0' x", options);
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->out, std::string(100, 'x'));
  EXPECT_TRUE(r->out_truncated);
  EXPECT_FALSE(r->err_truncated);
}

TEST(PosixProcessRunnerTest, AddsEnvironment) {
  RunOptions options;
  options.env = {{"SBX_TEST_VAR", "v1"}, {"PATH", "/usr/bin:/bin"}};
  auto r = Sh("echo $SBX_TEST_VAR $PATH", options);
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->out, "v1 /usr/bin:/bin\n");
}

TEST(PosixProcessRunnerTest, MissingProgramIsNotFound) {
  PosixProcessRunner runner;
  auto r = runner.Run({"/nonexistent/prog", "x"}, {});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/prog"), std::string::npos);
  EXPECT_EQ(runner.Run({}, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(PosixProcessRunnerTest, TimeoutKillsAndNamesCommand) {
  RunOptions options;
  options.timeout = 100ms;
  options.kill_grace = 100ms;
  auto r = Sh("sleep 30", options);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("/bin/sh -c sleep 30"), std::string::npos)
      << r.status().message();
}

TEST(PosixProcessRunnerTest, TimeoutEscalatesToSigkill) {
  RunOptions options;
  options.timeout = 100ms;
  options.kill_grace = 100ms;
  auto r = Sh("trap '' TERM; while :; do sleep 0.05; done", options);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
}

TEST(PosixProcessRunnerTest, DescendantHoldingPipesDoesNotBlock) {
  // Like `runc run --detach`: the child exits while a descendant keeps its
  // stdout open. Run must return when the child exits, not wait for EOF.
  RunOptions options;
  options.timeout = 5s;
  auto r = Sh("sleep 3 & echo started", options);
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->out, "started\n");
}

TEST(PosixProcessRunnerTest, OutputFileReceivesStdoutAndStderr) {
  const std::filesystem::path file =
      std::filesystem::path(::testing::TempDir()) / "posix_process_runner_test.log";
  std::filesystem::remove(file);
  RunOptions options;
  options.output_file = file;
  auto r = Sh("echo one; echo two >&2", options);
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_TRUE(r->out.empty());
  ASSERT_TRUE(Sh("echo three", options).has_value());  // appends
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "one\ntwo\nthree\n");
  std::filesystem::remove(file);
}

TEST(PosixProcessRunnerTest, ChildInheritsNoExtraDescriptors) {
  auto r = Sh("ls /proc/self/fd | wc -l");
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  // 0, 1, 2, plus the fd `ls` opens on the directory.
  EXPECT_EQ(r->out, "4\n");
}

TEST(FormatCommandTest, JoinsWithSpaces) {
  EXPECT_EQ(FormatCommand({"runc", "--root", "/r", "state", "x"}), "runc --root /r state x");
  EXPECT_EQ(FormatCommand({}), "");
}

}  // namespace
}  // namespace sbx::provider::local
