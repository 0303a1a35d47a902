#include "provider/local/seccomp.h"

#include <sched.h>

#include <cerrno>
#include <cstdint>

#include <boost/json.hpp>

namespace sbx::provider::local {
namespace {

namespace json = boost::json;

// Every flag of clone(2) that makes a new namespace.
constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                        CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};

json::array Architectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  return {};  // the native architecture only
#endif
}

json::object Errno(json::array names, int err) {
  return json::object{{"names", std::move(names)},
                      {"action", "SCMP_ACT_ERRNO"},
                      {"errnoRet", err}};
}

}  // namespace

const std::vector<std::string_view>& DeniedSyscalls() {
  static const std::vector<std::string_view> kDenied = {
      // file systems and the view of them
      "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount",
      "fspick", "move_mount", "open_tree", "mount_setattr", "open_by_handle_at",
      "name_to_handle_at", "quotactl", "quotactl_fd", "swapon", "swapoff", "acct",
      // namespaces (clone with namespace flags is refused below)
      "unshare", "setns",
      // kernel keyrings
      "keyctl", "add_key", "request_key",
      // other processes' memory, tracing, the kernel's own facilities
      "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "bpf",
      "perf_event_open", "userfaultfd", "lookup_dcookie", "fanotify_init",
      // modules, kexec, reboot, the console, clocks, ports
      "init_module", "finit_module", "delete_module", "create_module", "query_module",
      "get_kernel_syms", "kexec_load", "kexec_file_load", "reboot", "syslog", "vhangup",
      "iopl", "ioperm", "settimeofday", "stime", "clock_settime", "clock_settime64",
      "clock_adjtime", "clock_adjtime64", "adjtimex", "sethostname", "setdomainname",
      "nfsservctl", "sysfs", "_sysctl", "uselib", "ustat",
      // other processes' memory placement; io_uring, a frequent source of kernel bugs
      "move_pages", "migrate_pages", "io_uring_setup", "io_uring_enter", "io_uring_register",
  };
  return kDenied;
}

json::object SeccompProfile() {
  json::array names;
  for (std::string_view name : DeniedSyscalls()) names.emplace_back(name);
  json::array syscalls;
  syscalls.emplace_back(Errno(std::move(names), EPERM));
  // clone3 passes its flags in memory the filter cannot read: ENOSYS makes
  // libc fall back to clone, whose flags it can.
  syscalls.emplace_back(Errno(json::array{"clone3"}, ENOSYS));
  for (uint64_t flag : kNamespaceFlags) {
    // (flags & flag) == flag: the call would make that namespace.
    json::object rule = Errno(json::array{"clone"}, EPERM);
    rule["args"] = json::array{json::object{{"index", 0},
                                            {"value", flag},
                                            {"valueTwo", flag},
                                            {"op", "SCMP_CMP_MASKED_EQ"}}};
    syscalls.emplace_back(std::move(rule));
  }
  return json::object{{"defaultAction", "SCMP_ACT_ALLOW"},
                      {"architectures", Architectures()},
                      {"syscalls", std::move(syscalls)}};
}

}  // namespace sbx::provider::local
