#include "provider/local/bundle.h"

#include <fstream>
#include <system_error>

#include <boost/json.hpp>

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
  mounts.emplace_back(BindMount(spec.program_dir, kProgramMountPoint, /*writable=*/false));
  mounts.emplace_back(BindMount(spec.home_dir, kSandboxHome, /*writable=*/true));
  mounts.emplace_back(
      Mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=65536k"}));
  return mounts;
}

json::object Process(const BundleSpec& spec) {
  // The sandbox runs as root inside its namespaces but keeps only what a
  // server needs: signalling its own children and binding ports.
  const json::array caps = Strings({"CAP_KILL", "CAP_NET_BIND_SERVICE"});
  return json::object{
      {"terminal", false},
      {"user", json::object{{"uid", 0}, {"gid", 0}}},
      {"args", Strings(spec.args)},
      {"env", Strings(spec.env)},
      {"cwd", kSandboxHome},
      {"capabilities", json::object{{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits",
       json::array{json::object{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
      {"noNewPrivileges", true},
  };
}

json::object Linux(const BundleSpec& spec) {
  json::array namespaces;
  // No network namespace: the sandbox serves on the host's loopback.
  for (const char* type : {"pid", "ipc", "uts", "mount"}) {
    namespaces.emplace_back(json::object{{"type", type}});
  }
  return json::object{
      {"cgroupsPath", spec.cgroups_path},
      {"resources",
       json::object{
           {"devices", json::array{json::object{{"allow", false}, {"access", "rwm"}}}},
           {"memory", json::object{{"limit", spec.memory_limit_bytes}}},
           {"pids", json::object{{"limit", spec.pids_limit}}},
       }},
      {"namespaces", namespaces},
      {"maskedPaths", Strings({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                               "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                               "/proc/sched_debug", "/sys/firmware", "/proc/scsi"})},
      {"readonlyPaths",
       Strings({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})},
  };
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

Status WriteBundle(const std::filesystem::path& dir, const std::string& config_json) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return AlreadyExists("bundle " + dir.string() + " exists");
  for (const char* sub : {"rootfs", "home"}) {
    std::filesystem::create_directories(dir / sub, ec);
    if (ec) return Internal("bundle " + dir.string() + ": mkdir " + sub + ": " + ec.message());
  }
  const std::filesystem::path config = dir / "config.json";
  std::ofstream out(config, std::ios::binary | std::ios::trunc);
  out << config_json;
  out.close();
  if (!out) return Internal("bundle " + dir.string() + ": cannot write config.json");
  return OkStatus();
}

}  // namespace sbx::provider::local
