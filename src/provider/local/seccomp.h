// The seccomp filter every local sandbox runs under, as the OCI spec's
// linux.seccomp object: allow by default, but fail with EPERM the system calls
// Docker's default profile keeps from containers (mounts, keyrings, bpf,
// ptrace, namespaces, modules, kexec, reboot, swap, perf, clock setting, …);
// clone with a namespace flag fails with EPERM and clone3 with ENOSYS (so libc
// falls back to clone, whose flags the filter can read). Pure; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace sbx::provider::local {

// The system calls refused outright (EPERM), by name.
const std::vector<std::string_view>& DeniedSyscalls();

// linux.seccomp for config.json.
boost::json::object SeccompProfile();

}  // namespace sbx::provider::local
