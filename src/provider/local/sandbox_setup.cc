// LocalProvider's Create and its steps, Remove and Sweep: everything that
// makes or unmakes a sandbox's resources on the host. The order matters:
// storage, then the network namespace (and for `internet` its rules before its
// uplink), then the logger, then the container; Remove undoes it all in
// reverse, whatever exists.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "base/log.h"
#include "provider/local/bundle.h"
#include "provider/local/egress.h"
#include "provider/local/local_provider.h"

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

constexpr char kImagesDir[] = ".images";
constexpr char kOutputFifo[] = "output.fifo";
constexpr char kRuncLog[] = "runc.log";
constexpr char kSlirpLog[] = "slirp.log";
constexpr char kLoggerLog[] = "logger.log";  // the logger's own complaints
constexpr char kEgressRules[] = "egress.nft";
// How often Create looks whether a helper is ready.
constexpr auto kHelperPollInterval = 1ms;

// Environment of the sandbox's process: a sane PATH, HOME and USER, the
// template's variables, then the port and id, which the template cannot
// override.
std::vector<std::string> SandboxEnv(const Template& t, const std::string& id) {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", kSandboxHome},
      {"USER", kSandboxUser},
  };
  for (const auto& [k, v] : t.env) env[k] = v;
  env[t.port_env] = std::to_string(t.port);
  env["SANDBOX_ID"] = id;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<std::string> Existing(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::exists(p, ec)) out.push_back(p);
  }
  return out;
}

Status CheckExit(const Result<ProcessResult>& r, std::string_view what) {
  if (!r.has_value()) return r.error().WithContext(what);
  if (!r->ok()) {
    std::string err = r->err.empty() ? r->out : r->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return Unavailable(fmt::format("{}: exit {}{}{}", what, r->exit_code, err.empty() ? "" : ": ",
                                   err));
  }
  return OkStatus();
}

// The last 4 KiB of `file` (runc's log), or "".
std::string ReadTail(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  if (s.size() > 4096) s = s.substr(s.size() - 4096);
  return s;
}

// True for the helper programs sandboxd starts for a sandbox.
bool IsHelper(const HostProcess& p, const LocalProviderOptions& o) {
  const std::string logger = std::filesystem::path(o.sandbox_logger).filename().string();
  const std::string slirp = std::filesystem::path(o.slirp4netns_binary).filename().string();
  return p.exe_name.starts_with(logger) || p.exe_name.starts_with(slirp);
}

// kFailedPrecondition unless every directory above `dir` lets other users
// through (o+x): the sandboxes' unprivileged users must reach their bundles'
// mount points (runc mounts inside the sandbox's user namespace).
Status CheckSearchable(const std::filesystem::path& dir) {
  for (std::filesystem::path p = dir.parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
      return FailedPrecondition(fmt::format(
          "{} is not searchable by other users (mode {:04o}), so sandboxes cannot reach their "
          "files below it: chmod o+x {} (0711 keeps it unlistable)",
          p.string(), st.st_mode & 07777, p.string()));
    }
    if (p == p.root_path()) break;
  }
  return OkStatus();
}

// What every sandbox needs of the host: a usable uid range, and the runc root
// and sandboxes directories.
Status CheckHost(const LocalProviderOptions& options) {
  const UidRange range{.first = options.uid_range_first,
                       .count = options.uid_range_count,
                       .slice_size = options.uid_slice_size};
  if (Status s = CheckUidRange(range); !s.ok()) return FailedPrecondition(s.message());
  for (const auto& dir : {options.runc_root, options.sandboxes_dir}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Internal(fmt::format("create {}: {}", dir.string(), ec.message()));
  }
  // Sandboxes' mapped users must reach their own mount points, nothing more.
  ::chmod(options.sandboxes_dir.c_str(), 0711);
  return CheckSearchable(options.sandboxes_dir);
}

}  // namespace

struct LocalProvider::Plan {
  std::string id;
  std::string token;
  Template tmpl;
  std::filesystem::path program;
  std::filesystem::path bundle;
  std::filesystem::path netns;
  bool internet = false;
  IdMapping ids;
  const CreateRequest* request = nullptr;

  uint32_t SandboxUid() const { return ids.host_id + kSandboxUid; }
  uint32_t SandboxGid() const { return ids.host_id + kSandboxGid; }
};

Result<ProviderSandbox> LocalProvider::Create(const CreateRequest& request) {
  Plan plan;
  SBX_ASSIGN_OR_RETURN(plan.tmpl, LoadTemplate(options_.templates_dir, request.template_name));
  const Template& tmpl = plan.tmpl;
  plan.program = ResolveProgram(tmpl, options_.binary_dir);
  if (::access(plan.program.c_str(), X_OK) != 0) {
    return FailedPrecondition(fmt::format("template {}: program {} is missing or not executable",
                                          tmpl.name, plan.program.string()));
  }
  SBX_RETURN_IF_ERROR(CheckHost(options_));

  plan.id = "sbx" + ids_.NewAlnum(25);  // 25 * log2(36) > 129 bits
  plan.token = names_.Token(plan.id);
  plan.bundle = BundleDir(plan.id);
  plan.netns = names_.Netns(plan.id);
  plan.internet = request.allow_internet_access.value_or(tmpl.egress == Egress::kInternet);
  plan.request = &request;
  const std::string& id = plan.id;
  SetInFlight(id, true);
  struct InFlightMark {
    LocalProvider* self;
    std::string id;
    ~InFlightMark() { self->SetInFlight(id, false); }
  } mark{this, id};

  // From here on a failure must not leave anything behind.
  auto fail = [&](const Status& error) -> Status {
    // The bundle and its output log go away below: keep the reason in the log.
    SBX_LOG_WARN("sandbox {}: create failed, removing it: {}", id, error.ToString());
    if (Status removed = Remove(id); !removed.ok()) {
      SBX_LOG_WARN("sandbox {}: cleanup after failed create: {}", id, removed.message());
    }
    return error.WithContext(fmt::format("create sandbox from template {}", tmpl.name));
  };
  auto ids = uid_slices_.Claim(plan.token);
  if (!ids.has_value()) return fail(ids.error());
  plan.ids = *ids;
  if (Status s = MakeBundle(plan); !s.ok()) {
    // An existing directory belongs to another sandbox: leave it alone.
    if (s.code() == StatusCode::kAlreadyExists) {
      (void)uid_slices_.Release(plan.token);
      return s;
    }
    return fail(s);
  }
  if (Status s = MakeHome(plan); !s.ok()) return fail(s);
  if (Status s = MakeNetwork(plan); !s.ok()) return fail(s);
  if (Status s = StartLogger(plan); !s.ok()) return fail(s);

  const std::filesystem::path fifo = plan.bundle / kOutputFifo;
  const std::filesystem::path runc_log = plan.bundle / kRuncLog;
  auto run = RunRunc(runc_.Run(plan.bundle.string(), id, runc_log.string()), &fifo);
  if (!run.has_value()) return fail(run.error());
  if (!run->ok()) {
    return fail(Unavailable(fmt::format("runc run {}: exit {}: {}", id, run->exit_code,
                                        RuncErrorMessage(ReadTail(runc_log)))));
  }
  Status ready = WaitReady(id, tmpl.port, tmpl.readiness_path,
                           clock_.SteadyNow() + tmpl.start_timeout);
  if (!ready.ok()) return fail(ready);
  auto state = State(id);
  if (!state.has_value()) return fail(state.error());
  if (state->status != RuncStatus::kRunning) {
    return fail(Unavailable(fmt::format("sandbox {}: {} right after start: {}", id,
                                        RuncStatusName(state->status), OutputTail(id))));
  }
  RememberPort(id, tmpl.port);
  SBX_LOG_INFO("sandbox {} ({}) serving on port {} in {} (egress {})", id, tmpl.name, tmpl.port,
               plan.netns.string(), plan.internet ? "internet" : "none");
  return ToProviderSandbox(*state);
}

Status LocalProvider::MakeBundle(const Plan& plan) {
  const Template& tmpl = plan.tmpl;
  BundleSpec spec;
  spec.hostname = plan.id;
  spec.args = tmpl.command;
  spec.args[0] = std::string(kProgramMountPoint) + "/" + plan.program.filename().string();
  spec.env = SandboxEnv(tmpl, plan.id);
  spec.host_readonly_dirs = Existing(options_.host_readonly_dirs);
  spec.host_readonly_etc = Existing(options_.host_readonly_etc);
  spec.program_dir = plan.program.parent_path().string();
  spec.home_dir = (plan.bundle / "home").string();
  spec.etc_dir = (plan.bundle / "etc").string();
  spec.netns_path = plan.netns.string();
  spec.ids = plan.ids;
  spec.memory_limit_bytes = tmpl.memory_limit_mib * 1024 * 1024;
  spec.pids_limit = tmpl.pids_limit;
  spec.cpu_quota_us = tmpl.cpu_millis * spec.cpu_period_us / 1000;
  spec.cgroups_path = CgroupsPath(plan.id);
  spec.annotations = {{kPortAnnotation, std::to_string(tmpl.port)},
                      {kProjectAnnotation, plan.request->project_id},
                      {kTemplateAnnotation, tmpl.name},
                      {kEgressAnnotation, plan.internet ? "internet" : "none"}};
  for (const auto& [key, value] : plan.request->metadata) {
    spec.annotations[kMetadataAnnotationPrefix + key] = value;
  }
  SBX_RETURN_IF_ERROR(
      WriteBundle(plan.bundle, spec, BuildOciConfig(spec), EtcFiles(plan.id, plan.internet)));
  // config.json holds the environment: root's eyes only. The mapped root
  // owns the root file system's mount points; the logger (running as the
  // mapped root) owns the log directory.
  ::chmod(plan.bundle.c_str(), 0711);
  ::chmod((plan.bundle / "config.json").c_str(), 0600);
  SBX_RETURN_IF_ERROR(host_.Chown(plan.bundle / "rootfs", plan.ids.host_id, plan.ids.host_id));
  return host_.Chown(plan.bundle / "log", plan.ids.host_id, plan.ids.host_id);
}

Result<std::filesystem::path> LocalProvider::GoldenImage(int64_t mib) {
  const std::filesystem::path dir = options_.sandboxes_dir / kImagesDir;
  const std::filesystem::path image = dir / fmt::format("ext4-{}mib.img", mib);
  std::error_code ec;
  if (std::filesystem::exists(image, ec)) return image;
  std::lock_guard lock(image_mu_);
  if (std::filesystem::exists(image, ec)) return image;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("mkdir " + dir.string() + ": " + ec.message());
  const std::filesystem::path tmp = image.string() + ".tmp";
  std::ofstream(tmp, std::ios::binary | std::ios::trunc).close();
  std::filesystem::resize_file(tmp, static_cast<uintmax_t>(mib) << 20, ec);  // sparse
  if (ec) return Internal("size " + tmp.string() + ": " + ec.message());
  // No journal (a sandbox's home is scratch space), no reserved blocks, no
  // room to grow, and nothing zeroed up front: a sparse image of ~1 MiB.
  SBX_RETURN_IF_ERROR(CheckExit(
      Run({options_.mkfs_binary, "-q", "-F", "-m", "0", "-O", "^has_journal,^resize_inode", "-E",
           "nodiscard,lazy_itable_init=1,root_owner=0:0", tmp.string()}),
      "mkfs.ext4 " + tmp.string()));
  std::filesystem::rename(tmp, image, ec);
  if (ec) return Internal("rename " + tmp.string() + ": " + ec.message());
  return image;
}

Status LocalProvider::MakeHome(const Plan& plan) {
  SBX_ASSIGN_OR_RETURN(std::filesystem::path golden, GoldenImage(plan.tmpl.disk_limit_mib));
  const std::filesystem::path image = plan.bundle / kHomeImage;
  const std::filesystem::path home = plan.bundle / "home";
  SBX_RETURN_IF_ERROR(CheckExit(
      Run({options_.cp_binary, "--sparse=always", golden.string(), image.string()}), "copy home"));
  // Mounted by sandboxd, outside the sandbox: the sandbox can fill it (and
  // get ENOSPC) but never mount or resize anything. noinit_itable: the kernel
  // does not zero inode tables in the background (it would fill the image).
  SBX_RETURN_IF_ERROR(CheckExit(
      Run({options_.mount_binary, "-t", "ext4", "-o", "loop,nosuid,nodev,noatime,noinit_itable",
           image.string(), home.string()}),
      "mount home"));
  return host_.Chown(home, plan.SandboxUid(), plan.SandboxGid());
}

Status LocalProvider::MakeNetwork(const Plan& plan) {
  SBX_RETURN_IF_ERROR(host_.CreateNetns(plan.netns));
  if (!plan.internet) return OkStatus();  // `lo` only
  // The rules first, so there is never a moment of unfiltered egress.
  const std::filesystem::path rules = plan.bundle / kEgressRules;
  {
    std::ofstream out(rules, std::ios::binary | std::ios::trunc);
    out << EgressRuleset(host_.HostAddresses());
    if (!out) return Internal("write " + rules.string());
  }
  SBX_RETURN_IF_ERROR(CheckExit(Run({options_.nsenter_binary, "--net=" + plan.netns.string(),
                                     options_.nft_binary, "-f", rules.string()}),
                                "nft -f " + rules.string()));
  // setsid -f: slirp4netns is not sandboxd's child, so it outlives a restart
  // and is never left a zombie.
  std::vector<std::string> argv = {options_.setsid_binary, "-f"};
  for (auto& arg :
       SlirpCommand(options_.unshare_binary, options_.slirp4netns_binary, plan.netns.string())) {
    argv.push_back(std::move(arg));
  }
  const std::filesystem::path slirp_log = plan.bundle / kSlirpLog;
  SBX_RETURN_IF_ERROR(CheckExit(Run(argv, &slirp_log), "start slirp4netns"));
  return WaitFor("slirp4netns", clock_.SteadyNow() + options_.helper_start_timeout, [&] {
    auto ready = host_.InterfaceReady(plan.netns, kSlirpTap);
    return ready.has_value() && *ready;
  });
}

Status LocalProvider::StartLogger(const Plan& plan) {
  const std::filesystem::path fifo = plan.bundle / kOutputFifo;
  SBX_RETURN_IF_ERROR(host_.MakeFifo(fifo));
  std::filesystem::path logger = options_.sandbox_logger;
  if (logger.is_relative()) logger = options_.binary_dir / logger;
  const std::filesystem::path logger_log = plan.bundle / kLoggerLog;
  SBX_RETURN_IF_ERROR(CheckExit(
      Run({options_.setsid_binary, "-f", logger.string(), "--uid", std::to_string(plan.ids.host_id),
           "--gid", std::to_string(plan.ids.host_id), "--max-bytes",
           std::to_string(options_.output_log_max_bytes), fifo.string(),
           (plan.bundle / "log").string(), plan.token},
          &logger_log),
      "start sandbox-logger"));
  return WaitFor("sandbox-logger", clock_.SteadyNow() + options_.helper_start_timeout,
                 [&] { return host_.FifoHasReader(fifo); });
}

Status LocalProvider::WaitFor(const std::string& what, SteadyTime deadline,
                              const std::function<bool()>& ready) {
  for (;;) {
    if (ready()) return OkStatus();
    if (clock_.SteadyNow() >= deadline) return Unavailable(what + " did not start in time");
    clock_.BlockingSleep(kHelperPollInterval);
  }
}

Status LocalProvider::Remove(const std::string& id) {
  // `kill` fails for containers that are stopped or gone; `delete --force`
  // below copes with every state, so only its result counts.
  auto killed = RunRunc(runc_.Kill(id));
  if (!killed.has_value()) {
    SBX_LOG_WARN("runc kill {}: {}", id, killed.error().message());
  }
  SBX_ASSIGN_OR_RETURN(ProcessResult deleted, RunRunc(runc_.ForceDelete(id)));
  if (!deleted.ok() && !RuncSaysNotExist(deleted.err)) {
    return Unavailable(fmt::format("runc delete {}: {}", id, DescribeRuncFailure(deleted)));
  }
  Status first = OkStatus();
  auto note = [&first](Status s) {
    if (first.ok() && !s.ok()) first = std::move(s);
  };
  const std::string token = names_.Token(id);
  if (auto processes = host_.FindProcesses(token); processes.has_value()) {
    for (const auto& p : *processes) {
      if (names_.IdOfArgv(p.argv) == id && IsHelper(p, options_)) note(host_.KillProcess(p.pid));
    }
  } else {
    note(processes.error());
  }
  const std::filesystem::path bundle = BundleDir(id);
  if (auto mounts = host_.MountsUnder(bundle); mounts.has_value()) {
    for (const auto& m : *mounts) note(host_.Unmount(m));
  } else {
    note(mounts.error());
  }
  if (auto loops = host_.LoopDevicesUnder(bundle); loops.has_value()) {
    for (const auto& l : *loops) note(host_.DetachLoop(l.device));
  } else {
    note(loops.error());
  }
  note(host_.DeleteNetns(names_.Netns(id)));
  note(uid_slices_.Release(token));
  {
    std::lock_guard lock(mu_);
    ports_.erase(id);
  }
  // Never delete through a mount that is still there: it would empty (or,
  // for a bind, reach) what is mounted.
  auto still = host_.MountsUnder(bundle);
  if (!still.has_value() || !still->empty()) {
    note(Internal(fmt::format("sandbox {}: still mounted below {}", id, bundle.string())));
    return first;
  }
  std::error_code ec;
  std::filesystem::remove_all(bundle, ec);
  if (ec) note(Internal(fmt::format("sandbox {}: remove bundle: {}", id, ec.message())));
  return first;
}

Result<Leftovers> LocalProvider::GatherLeftovers() {
  Leftovers l;
  SBX_ASSIGN_OR_RETURN(l.containers, ListContainers());
  std::error_code ec;
  std::filesystem::directory_iterator it(options_.sandboxes_dir, ec);
  if (!ec) {
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      l.bundles.push_back(it->path().filename().string());
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Internal("list " + options_.sandboxes_dir.string() + ": " + ec.message());
  }
  SBX_ASSIGN_OR_RETURN(l.netns, host_.ListNetns(options_.netns_dir));
  SBX_ASSIGN_OR_RETURN(l.mounts, host_.MountsUnder(options_.sandboxes_dir));
  SBX_ASSIGN_OR_RETURN(l.loops, host_.LoopDevicesUnder(options_.sandboxes_dir));
  SBX_ASSIGN_OR_RETURN(l.processes, host_.FindProcesses(names_.TokenPrefix()));
  SBX_ASSIGN_OR_RETURN(auto claims, uid_slices_.Claims());
  for (auto& [slice, token] : claims) l.uid_claims.push_back(std::move(token));
  return l;
}

Status LocalProvider::Sweep() {
  SBX_ASSIGN_OR_RETURN(Leftovers leftovers, GatherLeftovers());
  Status first = OkStatus();
  for (const auto& id : PlanSweep(leftovers, names_, InFlightIds())) {
    if (InFlight(id)) continue;
    // A Create may have finished since the leftovers were gathered.
    if (auto c = State(id); c.has_value() && (c->status == RuncStatus::kRunning ||
                                              c->status == RuncStatus::kPaused ||
                                              c->status == RuncStatus::kCreating)) {
      continue;
    }
    Status removed = Remove(id);
    if (removed.ok()) {
      SBX_LOG_INFO("sweep: removed sandbox {} and everything it had", id);
    } else {
      SBX_LOG_WARN("sweep: removing sandbox {}: {}", id, removed.message());
      if (first.ok()) first = removed;
    }
  }
  return first;
}

}  // namespace sbx::provider::local
