#include "provider/local/seccomp.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sbx::provider::local {
namespace {

namespace json = boost::json;

// Names of the rules with `action`/`errno`, without argument conditions.
std::vector<std::string> PlainRules(const json::object& profile, int err) {
  std::vector<std::string> out;
  for (const auto& rule : profile.at("syscalls").as_array()) {
    const auto& r = rule.as_object();
    if (r.contains("args") || r.at("errnoRet").as_int64() != err) continue;
    EXPECT_EQ(r.at("action"), "SCMP_ACT_ERRNO");
    for (const auto& n : r.at("names").as_array()) out.emplace_back(n.as_string());
  }
  return out;
}

TEST(SeccompProfileTest, AllowsByDefaultAndRefusesTheDangerousCallsWithEperm) {
  const json::object profile = SeccompProfile();
  EXPECT_EQ(profile.at("defaultAction"), "SCMP_ACT_ALLOW");
  EXPECT_FALSE(profile.at("architectures").as_array().empty());
  const std::vector<std::string> denied = PlainRules(profile, EPERM);
  for (const char* name :
       {"mount", "umount2", "pivot_root", "keyctl", "add_key", "request_key", "bpf", "ptrace",
        "process_vm_readv", "process_vm_writev", "unshare", "setns", "init_module",
        "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon",
        "swapoff", "perf_event_open", "userfaultfd", "open_by_handle_at", "acct", "quotactl",
        "syslog", "iopl", "ioperm", "chroot", "fsopen", "move_mount", "io_uring_setup"}) {
    EXPECT_NE(std::find(denied.begin(), denied.end(), name), denied.end()) << name;
  }
  // Calls every server needs stay allowed.
  for (const char* name : {"clone", "execve", "socket", "bind", "read", "mmap", "setuid"}) {
    EXPECT_EQ(std::find(denied.begin(), denied.end(), name), denied.end()) << name;
  }
}

TEST(SeccompProfileTest, Clone3FallsBackToCloneWhoseNamespaceFlagsAreRefused) {
  const json::object profile = SeccompProfile();
  EXPECT_EQ(PlainRules(profile, ENOSYS), std::vector<std::string>{"clone3"});
  std::vector<uint64_t> refused_flags;
  for (const auto& rule : profile.at("syscalls").as_array()) {
    const auto& r = rule.as_object();
    if (!r.contains("args")) continue;
    EXPECT_EQ(r.at("names").as_array(), json::array{"clone"});
    EXPECT_EQ(r.at("errnoRet").as_int64(), EPERM);
    const auto& arg = r.at("args").as_array().at(0).as_object();
    EXPECT_EQ(arg.at("index").as_int64(), 0);
    EXPECT_EQ(arg.at("op"), "SCMP_CMP_MASKED_EQ");
    // (flags & value) == valueTwo, with value == valueTwo == one flag.
    EXPECT_EQ(arg.at("value"), arg.at("valueTwo"));
    refused_flags.push_back(arg.at("value").to_number<uint64_t>());
  }
  for (uint64_t flag : {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWIPC,
                        CLONE_NEWUTS, CLONE_NEWCGROUP}) {
    EXPECT_NE(std::find(refused_flags.begin(), refused_flags.end(), flag), refused_flags.end())
        << std::hex << flag;
  }
}

}  // namespace
}  // namespace sbx::provider::local
