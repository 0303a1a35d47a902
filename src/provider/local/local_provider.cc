#include "provider/local/local_provider.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <system_error>

#include <fmt/format.h>

#include "base/log.h"
#include "provider/local/bundle.h"
#include "provider/local/template.h"

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

// Longest a single readiness probe may take, whatever the deadline.
constexpr auto kMaxProbeTimeout = 1s;
// Every this many failed probes, check that the container still runs, so a
// crashed sandbox fails Create early instead of at the deadline.
constexpr int kProbesPerLivenessCheck = 10;
constexpr size_t kOutputTailBytes = 2048;
constexpr char kOutputLog[] = "output.log";

std::filesystem::path Absolute(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal();
}

LocalProviderOptions Normalize(LocalProviderOptions o) {
  o.runc_root = Absolute(o.runc_root);
  o.sandboxes_dir = Absolute(o.sandboxes_dir);
  o.binary_dir = Absolute(o.binary_dir);
  if (o.last_port < o.first_port) std::swap(o.first_port, o.last_port);
  return o;
}

// 8 hex digits of FNV-1a: stable across runs and builds, unlike std::hash.
std::string ShortHash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:08x}", static_cast<uint32_t>(h ^ (h >> 32)));
}

std::optional<uint16_t> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  if (n == 0 || n > 65535) return std::nullopt;
  return static_cast<uint16_t>(n);
}

std::optional<uint16_t> PortOf(const RuncContainer& c) {
  auto it = c.annotations.find(kPortAnnotation);
  if (it == c.annotations.end()) return std::nullopt;
  return ParsePort(it->second);
}

// "exit 1: container not running" from a failed runc invocation.
std::string Describe(const ProcessResult& r) {
  std::string msg = RuncErrorMessage(r.err);
  if (msg.empty()) msg = RuncErrorMessage(r.out);
  return fmt::format("exit {}{}{}", r.exit_code, msg.empty() ? "" : ": ", msg);
}

std::string ReadTail(const std::filesystem::path& file, size_t max_bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size <= 0) return "";
  std::streamoff start = std::max<std::streamoff>(0, size - static_cast<std::streamoff>(max_bytes));
  in.seekg(start);
  std::string out(static_cast<size_t>(size - start), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Environment of the sandbox's process: a sane PATH and HOME, the template's
// variables, then the port and id, which the template cannot override.
std::vector<std::string> SandboxEnv(const Template& t, const std::string& id, uint16_t port) {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", kSandboxHome},
  };
  for (const auto& [k, v] : t.env) env[k] = v;
  env[t.port_env] = std::to_string(port);
  env["SANDBOX_ID"] = id;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

bool IsValidSandboxId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

LocalProvider::LocalProvider(Clock& clock, IdGenerator& ids, ProcessRunner& runner,
                             LoopbackNetwork& network, LocalProviderOptions options)
    : clock_(clock),
      ids_(ids),
      runner_(runner),
      network_(network),
      options_(Normalize(std::move(options))),
      runc_{.binary = options_.runc_binary, .root = options_.runc_root.string()},
      instance_tag_(ShortHash(options_.runc_root.string())),
      next_port_(options_.first_port) {}

std::string LocalProvider::CgroupsPath(const std::string& sandbox_id) const {
  return "sandboxd-" + instance_tag_ + "-" + sandbox_id;
}

std::filesystem::path LocalProvider::BundleDir(const std::string& id) const {
  return options_.sandboxes_dir / id;
}

std::string LocalProvider::OutputTail(const std::string& id) const {
  return ReadTail(BundleDir(id) / kOutputLog, kOutputTailBytes);
}

Result<ProcessResult> LocalProvider::RunRunc(const std::vector<std::string>& argv,
                                             const std::filesystem::path* output_file) {
  // `runc list` grows by ~500 bytes per container: room for tens of thousands.
  RunOptions run_options{.timeout = options_.command_timeout,
                         .kill_grace = options_.command_kill_grace,
                         .max_output_bytes = 32 << 20};
  if (output_file != nullptr) run_options.output_file = *output_file;
  return runner_.Run(argv, run_options);
}

Result<RuncContainer> LocalProvider::State(const std::string& id) {
  SBX_ASSIGN_OR_RETURN(ProcessResult r, RunRunc(runc_.State(id)));
  if (!r.ok()) {
    if (RuncSaysNotExist(r.err)) return NotFound("sandbox " + id + " does not exist");
    return Unavailable(fmt::format("runc state {}: {}", id, Describe(r)));
  }
  auto c = ParseRuncState(r.out);
  if (!c.has_value()) return Internal(c.error().message());
  return c;
}

Result<std::vector<RuncContainer>> LocalProvider::ListContainers() {
  SBX_ASSIGN_OR_RETURN(ProcessResult r, RunRunc(runc_.List()));
  if (!r.ok()) return Unavailable("runc list: " + Describe(r));
  if (r.out_truncated) return Unavailable("runc list: output larger than the capture limit");
  auto list = ParseRuncList(r.out);
  if (!list.has_value()) return Internal(list.error().message());
  return list;
}

Result<uint16_t> LocalProvider::ReservePort(const std::string& id) {
  std::lock_guard reserve_lock(reserve_mu_);
  SBX_ASSIGN_OR_RETURN(std::vector<RuncContainer> containers, ListContainers());
  std::set<uint16_t> used;
  for (const auto& c : containers) {
    if (auto port = PortOf(c); port.has_value()) used.insert(*port);
  }
  std::lock_guard lock(mu_);
  const uint32_t range = uint32_t{options_.last_port} - options_.first_port + 1;
  for (uint32_t i = 0; i < range; ++i) {
    // Round robin from the last port handed out, so a port just freed is not
    // reused at once (a client may still hold a connection to it).
    const auto port =
        static_cast<uint16_t>(options_.first_port + (next_port_ - options_.first_port + i) % range);
    if (used.contains(port) || reserved_ports_.contains(port)) continue;
    if (!network_.CanBind(port)) continue;
    reserved_ports_.insert(port);
    in_flight_.insert(id);
    next_port_ = port == options_.last_port ? options_.first_port : static_cast<uint16_t>(port + 1);
    return port;
  }
  return Unavailable(fmt::format("sandbox {}: no free port in {}-{}", id, options_.first_port,
                                 options_.last_port));
}

void LocalProvider::ReleaseReservation(const std::string& id, uint16_t port) {
  // Waits for a ReservePort in progress: its list may predate our container.
  std::lock_guard reserve_lock(reserve_mu_);
  std::lock_guard lock(mu_);
  reserved_ports_.erase(port);
  in_flight_.erase(id);
}

bool LocalProvider::InFlight(const std::string& id) {
  std::lock_guard lock(mu_);
  return in_flight_.contains(id);
}

Status LocalProvider::WaitReady(const std::string& id, uint16_t port, const std::string& path,
                                SteadyTime deadline) {
  Status last = Unavailable("not probed yet");
  for (int probes = 1;; ++probes) {
    const SteadyTime now = clock_.SteadyNow();
    if (now >= deadline) {
      return DeadlineExceeded(fmt::format("sandbox {}: not serving GET {} on port {} in time: {}",
                                          id, path, port, last.message()));
    }
    auto probe_timeout = std::min<std::chrono::milliseconds>(
        kMaxProbeTimeout, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
    auto response = network_.HttpGet(port, path, probe_timeout);
    if (response.has_value() && response->status >= 200 && response->status < 300) {
      return OkStatus();
    }
    last = response.has_value() ? Unavailable(fmt::format("HTTP {}", response->status))
                                : response.error();
    if (probes % kProbesPerLivenessCheck == 0) {
      auto state = State(id);
      if (!state.has_value() && state.error().code() == StatusCode::kNotFound) {
        return Unavailable(fmt::format("sandbox {}: container vanished before serving", id));
      }
      if (state.has_value() && state->status == RuncStatus::kStopped) {
        const std::string tail = OutputTail(id);
        return Unavailable(fmt::format("sandbox {}: process exited before serving: {}", id,
                                       tail.empty() ? "(no output)" : tail));
      }
    }
    clock_.BlockingSleep(options_.readiness_poll_interval);
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
    return Unavailable(fmt::format("runc delete {}: {}", id, Describe(deleted)));
  }
  std::error_code ec;
  std::filesystem::remove_all(BundleDir(id), ec);
  if (ec) return Internal(fmt::format("sandbox {}: remove bundle: {}", id, ec.message()));
  return OkStatus();
}

ProviderSandbox LocalProvider::ToProviderSandbox(const RuncContainer& c) const {
  ProviderSandbox s;
  s.sandbox_id = c.id;
  s.state = c.status == RuncStatus::kPaused ? ProviderState::kPaused : ProviderState::kRunning;
  if (auto port = PortOf(c); port.has_value()) {
    s.url = fmt::format("http://127.0.0.1:{}/", *port);
  }
  if (auto it = c.annotations.find(kTemplateAnnotation); it != c.annotations.end()) {
    s.template_name = it->second;
  }
  s.started_at = c.created.value_or(SystemTime{});
  const std::string_view prefix = kMetadataAnnotationPrefix;
  for (const auto& [key, value] : c.annotations) {
    if (key.starts_with(prefix) && key.size() > prefix.size()) {
      s.metadata.emplace(key.substr(prefix.size()), value);
    }
  }
  return s;
}

// Provider

Result<ProviderSandbox> LocalProvider::Create(const CreateRequest& request) {
  SBX_ASSIGN_OR_RETURN(Template tmpl, LoadTemplate(options_.templates_dir, request.template_name));
  const std::filesystem::path program = ResolveProgram(tmpl, options_.binary_dir);
  if (::access(program.c_str(), X_OK) != 0) {
    return FailedPrecondition(fmt::format("template {}: program {} is missing or not executable",
                                          tmpl.name, program.string()));
  }
  for (const auto& dir : {options_.runc_root, options_.sandboxes_dir}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Internal(fmt::format("create {}: {}", dir.string(), ec.message()));
  }

  const std::string id = "sbx" + ids_.NewAlnum(17);
  SBX_ASSIGN_OR_RETURN(uint16_t port, ReservePort(id));
  struct Reservation {
    LocalProvider* self;
    std::string id;
    uint16_t port;
    ~Reservation() { self->ReleaseReservation(id, port); }
  } reservation{this, id, port};

  BundleSpec spec;
  spec.hostname = id;
  spec.args = tmpl.command;
  spec.args[0] = std::string(kProgramMountPoint) + "/" + program.filename().string();
  spec.env = SandboxEnv(tmpl, id, port);
  for (const auto& dir : options_.host_readonly_dirs) {
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) spec.host_readonly_dirs.push_back(dir);
  }
  spec.program_dir = program.parent_path().string();
  spec.home_dir = (BundleDir(id) / "home").string();
  spec.memory_limit_bytes = tmpl.memory_limit_mib * 1024 * 1024;
  spec.pids_limit = tmpl.pids_limit;
  spec.cgroups_path = CgroupsPath(id);
  spec.annotations = {{kPortAnnotation, std::to_string(port)},
                      {kProjectAnnotation, request.project_id},
                      {kTemplateAnnotation, tmpl.name}};
  for (const auto& [key, value] : request.metadata) {
    spec.annotations[kMetadataAnnotationPrefix + key] = value;
  }
  if (Status written = WriteBundle(BundleDir(id), BuildOciConfig(spec)); !written.ok()) {
    // An existing directory belongs to another sandbox: leave it alone.
    if (written.code() != StatusCode::kAlreadyExists) (void)Remove(id);
    return Internal(written.message());
  }

  // From here on a failure must not leave the container or its bundle behind.
  auto fail = [&](const Status& error) -> Status {
    // The bundle and its output log go away below: keep the reason in the log.
    SBX_LOG_WARN("sandbox {}: create failed, removing it: {}", id, error.ToString());
    if (Status removed = Remove(id); !removed.ok()) {
      SBX_LOG_WARN("sandbox {}: cleanup after failed create: {}", id, removed.message());
    }
    return error.WithContext(fmt::format("create sandbox from template {}", tmpl.name));
  };
  const std::filesystem::path log = BundleDir(id) / kOutputLog;
  auto run = RunRunc(runc_.Run(BundleDir(id).string(), id), &log);
  if (!run.has_value()) return fail(run.error());
  if (!run->ok()) {
    // runc wrote its complaint into the output log, not into a pipe.
    return fail(Unavailable(fmt::format("runc run {}: exit {}: {}", id, run->exit_code,
                                        RuncErrorMessage(OutputTail(id)))));
  }
  Status ready = WaitReady(id, port, tmpl.readiness_path, clock_.SteadyNow() + tmpl.start_timeout);
  if (!ready.ok()) return fail(ready);
  auto state = State(id);
  if (!state.has_value()) return fail(state.error());
  if (state->status != RuncStatus::kRunning) {
    return fail(Unavailable(
        fmt::format("sandbox {}: {} right after start: {}", id, RuncStatusName(state->status),
                    OutputTail(id))));
  }
  SBX_LOG_INFO("sandbox {} ({}) serving on 127.0.0.1:{}", id, tmpl.name, port);
  return ToProviderSandbox(*state);
}

Status LocalProvider::Pause(const std::string& sandbox_id) {
  if (!IsValidSandboxId(sandbox_id)) return NotFound("sandbox " + sandbox_id + " does not exist");
  SBX_ASSIGN_OR_RETURN(ProcessResult r, RunRunc(runc_.Pause(sandbox_id)));
  if (r.ok()) return OkStatus();
  if (RuncSaysNotExist(r.err)) return NotFound("sandbox " + sandbox_id + " does not exist");
  // Fails for a container that is already paused: that is success here.
  SBX_ASSIGN_OR_RETURN(RuncContainer c, State(sandbox_id));
  if (c.status == RuncStatus::kPaused) return OkStatus();
  return FailedPrecondition(fmt::format("runc pause {}: {} (container is {})", sandbox_id,
                                        Describe(r), RuncStatusName(c.status)));
}

Result<ProviderSandbox> LocalProvider::Resume(const std::string& sandbox_id) {
  if (!IsValidSandboxId(sandbox_id)) return NotFound("sandbox " + sandbox_id + " does not exist");
  SBX_ASSIGN_OR_RETURN(ProcessResult r, RunRunc(runc_.Resume(sandbox_id)));
  if (!r.ok() && RuncSaysNotExist(r.err)) {
    return NotFound("sandbox " + sandbox_id + " does not exist");
  }
  SBX_ASSIGN_OR_RETURN(RuncContainer c, State(sandbox_id));
  if (c.status != RuncStatus::kRunning) {
    return FailedPrecondition(
        fmt::format("resume sandbox {}: container is {}{}", sandbox_id, RuncStatusName(c.status),
                    r.ok() ? std::string() : " (runc resume: " + Describe(r) + ")"));
  }
  std::optional<uint16_t> port = PortOf(c);
  if (!port.has_value()) {
    return Internal("sandbox " + sandbox_id + ": container has no port annotation");
  }
  std::string path = "/";
  if (auto it = c.annotations.find(kTemplateAnnotation); it != c.annotations.end()) {
    // The template may have changed or vanished since; "/" is a fine fallback.
    if (auto t = LoadTemplate(options_.templates_dir, it->second); t.has_value()) {
      path = t->readiness_path;
    }
  }
  SBX_RETURN_IF_ERROR(
      WaitReady(sandbox_id, *port, path, clock_.SteadyNow() + options_.readiness_timeout)
          .WithContext("resume"));
  return ToProviderSandbox(c);
}

Status LocalProvider::Kill(const std::string& sandbox_id) {
  if (!IsValidSandboxId(sandbox_id)) return OkStatus();  // such a sandbox cannot exist
  SBX_RETURN_IF_ERROR(Remove(sandbox_id));
  SBX_LOG_INFO("sandbox {} killed", sandbox_id);
  return OkStatus();
}

Status LocalProvider::SetTimeout(const std::string& /*sandbox_id*/,
                                 std::chrono::seconds /*timeout*/) {
  return OkStatus();  // local sandboxes live until killed
}

Result<ListResult> LocalProvider::List() {
  SBX_ASSIGN_OR_RETURN(std::vector<RuncContainer> containers, ListContainers());
  ListResult result;
  for (const auto& c : containers) {
    if (InFlight(c.id)) continue;  // its Create has not returned yet
    switch (c.status) {
      case RuncStatus::kRunning:
      case RuncStatus::kPaused:
        result.sandboxes.push_back(ToProviderSandbox(c));
        break;
      case RuncStatus::kStopped:
      case RuncStatus::kCreated:
        // The process exited, or sandboxd died between runc's create and
        // start: either way it will never serve.
        if (Status removed = Remove(c.id); !removed.ok()) {
          SBX_LOG_WARN("list: removing {} container {}: {}", RuncStatusName(c.status), c.id,
                       removed.message());
        }
        break;
      case RuncStatus::kCreating:
        break;
    }
  }
  result.complete = true;
  return result;
}

Result<ProviderSandbox> LocalProvider::Get(const std::string& sandbox_id) {
  if (!IsValidSandboxId(sandbox_id)) return NotFound("sandbox " + sandbox_id + " does not exist");
  SBX_ASSIGN_OR_RETURN(RuncContainer c, State(sandbox_id));
  if (c.status != RuncStatus::kRunning && c.status != RuncStatus::kPaused) {
    return NotFound(fmt::format("sandbox {} is {}", sandbox_id, RuncStatusName(c.status)));
  }
  return ToProviderSandbox(c);
}

Status LocalProvider::CheckTemplate(const std::string& template_name) {
  auto t = LoadTemplate(options_.templates_dir, template_name);
  if (t.ok()) return OkStatus();
  // A broken template file is as unusable as a missing one for the caller.
  return InvalidArgument(t.error().message());
}

}  // namespace sbx::provider::local
