#include "provider/local/bundle.h"

#include <fstream>
#include <system_error>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "provider/local/egress.h"
#include "provider/local/seccomp.h"

namespace sbx::provider::local {
namespace {

namespace json = boost::json;

json::array Strings(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

json::object Mount(std::string destination, std::string type, std::string source,
                   const std::vector<std::string>& options) {
  return json::object{{"destination", destination},
                      {"type", type},
                      {"source", source},
                      {"options", Strings(options)}};
}

json::object BindMount(const std::string& source, const std::string& destination, bool writable) {
  return Mount(destination, "bind", source, {"rbind", writable ? "rw" : "ro", "nosuid", "nodev"});
}

json::array Mounts(const BundleSpec& spec) {
  json::array mounts{
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
  };
  for (const auto& dir : spec.host_readonly_dirs) {
    mounts.emplace_back(BindMount(dir, dir, /*writable=*/false));
  }
  mounts.emplace_back(BindMount(spec.etc_dir, "/etc", /*writable=*/false));
  for (const auto& entry : spec.host_readonly_etc) {
    mounts.emplace_back(BindMount(entry, entry, /*writable=*/false));
  }
  mounts.emplace_back(BindMount(spec.program_dir, kProgramMountPoint, /*writable=*/false));
  mounts.emplace_back(BindMount(spec.home_dir, kSandboxHome, /*writable=*/true));
  mounts.emplace_back(
      Mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=65536k"}));
  return mounts;
}

json::object Process(const BundleSpec& spec) {
  // A non-root user needs no capability to serve on an unprivileged port (the
  // namespace lets every user bind any port): every set stays empty.
  const json::array none;
  return json::object{
      {"terminal", false},
      {"user", json::object{{"uid", kSandboxUid}, {"gid", kSandboxGid}}},
      {"args", Strings(spec.args)},
      {"env", Strings(spec.env)},
      {"cwd", kSandboxHome},
      {"capabilities", json::object{{"bounding", none},
                                    {"effective", none},
                                    {"inheritable", none},
                                    {"permitted", none},
                                    {"ambient", none}}},
      {"rlimits",
       json::array{json::object{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}},
                   json::object{{"type", "RLIMIT_CORE"}, {"hard", 0}, {"soft", 0}}}},
      {"noNewPrivileges", true},
      // Under memory pressure on the host, a sandbox goes before sandboxd.
      {"oomScoreAdj", 500},
  };
}

json::object Resources(const BundleSpec& spec) {
  json::object resources{
      {"devices", json::array{json::object{{"allow", false}, {"access", "rwm"}}}},
      {"memory", json::object{{"limit", spec.memory_limit_bytes}}},
      {"pids", json::object{{"limit", spec.pids_limit}}},
  };
  if (spec.cpu_quota_us > 0) {
    resources["cpu"] = json::object{{"quota", spec.cpu_quota_us}, {"period", spec.cpu_period_us}};
  }
  return resources;
}

json::object Linux(const BundleSpec& spec) {
  json::array namespaces;
  for (const char* type : {"pid", "ipc", "uts", "mount", "user", "cgroup"}) {
    namespaces.emplace_back(json::object{{"type", type}});
  }
  namespaces.emplace_back(json::object{{"type", "network"}, {"path", spec.netns_path}});
  const json::array mapping{
      json::object{{"containerID", 0}, {"hostID", spec.ids.host_id}, {"size", spec.ids.size}}};
  return json::object{
      {"uidMappings", mapping},
      {"gidMappings", mapping},
      {"cgroupsPath", spec.cgroups_path},
      {"resources", Resources(spec)},
      {"namespaces", namespaces},
      {"seccomp", SeccompProfile()},
      {"maskedPaths", Strings({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                               "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                               "/proc/sched_debug", "/sys/firmware", "/proc/scsi"})},
      {"readonlyPaths",
       Strings({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})},
  };
}

Status WriteFile(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Internal("cannot write " + file.string());
  return OkStatus();
}

Status MakeDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("mkdir " + dir.string() + ": " + ec.message());
  return OkStatus();
}

// Relative form of an absolute path inside the container ("/etc/x" -> "etc/x").
std::filesystem::path Inside(const std::string& path) {
  return std::filesystem::path(path).relative_path();
}

}  // namespace

std::string BuildOciConfig(const BundleSpec& spec) {
  json::object annotations;
  for (const auto& [k, v] : spec.annotations) annotations[k] = v;
  json::object config{
      {"ociVersion", "1.0.2-dev"},
      {"process", Process(spec)},
      {"root", json::object{{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", spec.hostname},
      {"mounts", Mounts(spec)},
      {"linux", Linux(spec)},
      {"annotations", annotations},
  };
  return json::serialize(config);
}

std::vector<std::pair<std::string, std::string>> EtcFiles(const std::string& hostname, bool dns) {
  const std::string user = kSandboxUser;
  return {
      {"passwd", fmt::format("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                             "{0}:x:{1}:{2}:{0}:{3}:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                             user, kSandboxUid, kSandboxGid, kSandboxHome)},
      {"group", fmt::format("root:x:0:\n{}:x:{}:\nnogroup:x:65534:\n", user, kSandboxGid)},
      {"hosts", fmt::format("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                            "127.0.1.1\t{}\n",
                            hostname)},
      {"hostname", hostname + "\n"},
      {"nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
                        "networks: files\nprotocols: files\nservices: files\n"},
      {"resolv.conf", dns ? fmt::format("nameserver {}\n", kSlirpDns)
                          : std::string("# no network: this sandbox's egress policy is none\n")},
  };
}

Status WriteBundle(const std::filesystem::path& dir, const BundleSpec& spec,
                   const std::string& config_json,
                   const std::vector<std::pair<std::string, std::string>>& etc_files) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return AlreadyExists("bundle " + dir.string() + " exists");
  const std::filesystem::path rootfs = dir / "rootfs";
  // Every top-level mount point exists beforehand: the root is read-only and
  // owned by the host, so runc could not create them.
  std::vector<std::filesystem::path> dirs = {rootfs / "proc",
                                             rootfs / "dev",
                                             rootfs / "tmp",
                                             rootfs / "etc",
                                             rootfs / Inside(kProgramMountPoint),
                                             rootfs / Inside(kSandboxHome),
                                             dir / "home",
                                             dir / "log",
                                             dir / "etc"};
  for (const auto& d : spec.host_readonly_dirs) dirs.push_back(rootfs / Inside(d));
  for (const auto& d : dirs) {
    if (Status s = MakeDir(d); !s.ok()) return s.WithContext("bundle " + dir.string());
  }
  for (const auto& [name, text] : etc_files) {
    if (Status s = WriteFile(dir / "etc" / name, text); !s.ok()) {
      return s.WithContext("bundle " + dir.string());
    }
  }
  for (const auto& entry : spec.host_readonly_etc) {
    // "/etc/ssl/certs" -> <dir>/etc/ssl/certs, a directory or an empty file
    // like its source.
    const std::filesystem::path target =
        dir / "etc" / std::filesystem::path(entry).lexically_relative("/etc");
    Status made = MakeDir(target.parent_path());
    if (made.ok()) {
      made = std::filesystem::is_directory(entry, ec) ? MakeDir(target) : WriteFile(target, "");
    }
    if (!made.ok()) return made.WithContext("bundle " + dir.string());
  }
  return WriteFile(dir / "config.json", config_json).WithContext("bundle " + dir.string());
}

}  // namespace sbx::provider::local
