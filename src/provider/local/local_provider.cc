#include "provider/local/local_provider.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "base/log.h"
#include "core/validation.h"
#include "provider/local/output_log.h"

namespace sbx::provider::local {
namespace {

using namespace std::chrono_literals;

// Longest a single readiness probe may take, whatever the deadline.
constexpr auto kMaxProbeTimeout = 1s;
// Every this many failed probes, check that the container still runs, so a
// crashed sandbox fails Create early instead of at the deadline.
constexpr int kProbesPerLivenessCheck = 20;
constexpr size_t kOutputTailBytes = 2048;

std::filesystem::path Absolute(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal();
}

LocalProviderOptions Normalize(LocalProviderOptions o) {
  o.runc_root = Absolute(o.runc_root);
  o.sandboxes_dir = Absolute(o.sandboxes_dir);
  o.binary_dir = Absolute(o.binary_dir);
  o.netns_dir = Absolute(o.netns_dir);
  o.uid_claims_dir = Absolute(o.uid_claims_dir);
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

}  // namespace

bool IsValidSandboxId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

LocalProvider::LocalProvider(Clock& clock, IdGenerator& ids, ProcessRunner& runner,
                             SandboxHost& host, LocalProviderOptions options)
    : clock_(clock),
      ids_(ids),
      runner_(runner),
      host_(host),
      options_(Normalize(std::move(options))),
      runc_{.binary = options_.runc_binary, .root = options_.runc_root.string()},
      instance_tag_(ShortHash(options_.runc_root.string())),
      names_{.tag = instance_tag_,
             .sandboxes_dir = options_.sandboxes_dir,
             .netns_dir = options_.netns_dir},
      uid_slices_(options_.uid_claims_dir, UidRange{.first = options_.uid_range_first,
                                                    .count = options_.uid_range_count,
                                                    .slice_size = options_.uid_slice_size}) {}

std::string LocalProvider::CgroupsPath(const std::string& sandbox_id) const {
  return "sandboxd-" + instance_tag_ + "-" + sandbox_id;
}

std::filesystem::path LocalProvider::BundleDir(const std::string& id) const {
  return options_.sandboxes_dir / id;
}

Result<OutputChunk> LocalProvider::ReadOutput(const std::string& sandbox_id,
                                              const OutputQuery& query) {
  if (Status s = core::ValidateProviderId("sandbox id", sandbox_id); !s.ok()) return s;
  const std::filesystem::path dir = BundleDir(sandbox_id) / "log";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return NotFound(fmt::format("sandbox {} has no output here", sandbox_id));
  }
  if (!query.after.empty()) return ReadOutputAfter(dir, query.after);
  return TailOutput(dir, query.tail);
}

std::string LocalProvider::OutputTail(const std::string& id) const {
  const std::filesystem::path log = BundleDir(id) / "log";
  std::string tail = ReadTail(log / kOutputLog, kOutputTailBytes);
  if (tail.size() < kOutputTailBytes / 2) {
    // Just rotated: the rest of the tail is in the older half.
    std::string older = ReadTail(log / kOutputLogOld, kOutputTailBytes - tail.size());
    if (!older.empty()) tail = older + (tail.empty() ? "" : "\n" + tail);
  }
  return tail;
}

Result<ProcessResult> LocalProvider::Run(const std::vector<std::string>& argv,
                                         const std::filesystem::path* output_file) {
  RunOptions run_options{.timeout = options_.command_timeout,
                         .kill_grace = options_.command_kill_grace};
  if (output_file != nullptr) run_options.output_file = *output_file;
  return runner_.Run(argv, run_options);
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
    return Unavailable(fmt::format("runc state {}: {}", id, DescribeRuncFailure(r)));
  }
  auto c = ParseRuncState(r.out);
  if (!c.has_value()) return Internal(c.error().message());
  return c;
}

Result<std::vector<RuncContainer>> LocalProvider::ListContainers() {
  SBX_ASSIGN_OR_RETURN(ProcessResult r, RunRunc(runc_.List()));
  if (!r.ok()) return Unavailable("runc list: " + DescribeRuncFailure(r));
  if (r.out_truncated) return Unavailable("runc list: output larger than the capture limit");
  auto list = ParseRuncList(r.out);
  if (!list.has_value()) return Internal(list.error().message());
  return list;
}

void LocalProvider::SetInFlight(const std::string& id, bool in_flight) {
  std::lock_guard lock(mu_);
  if (in_flight) {
    in_flight_.insert(id);
  } else {
    in_flight_.erase(id);
  }
}

bool LocalProvider::InFlight(const std::string& id) {
  std::lock_guard lock(mu_);
  return in_flight_.contains(id);
}

std::set<std::string> LocalProvider::InFlightIds() {
  std::lock_guard lock(mu_);
  return in_flight_;
}

void LocalProvider::RememberPort(const std::string& id, uint16_t port) {
  std::lock_guard lock(mu_);
  ports_[id] = port;
}

Status LocalProvider::WaitReady(const std::string& id, uint16_t port, const std::string& path,
                                SteadyTime deadline) {
  const std::filesystem::path netns = names_.Netns(id);
  Status last = Unavailable("not probed yet");
  for (int probes = 1;; ++probes) {
    const SteadyTime now = clock_.SteadyNow();
    if (now >= deadline) {
      return DeadlineExceeded(fmt::format("sandbox {}: not serving GET {} on port {} in time: {}",
                                          id, path, port, last.message()));
    }
    auto probe_timeout = std::min<std::chrono::milliseconds>(
        kMaxProbeTimeout, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
    auto response = host_.HttpGet(netns, port, path, probe_timeout);
    if (response.has_value() && response->status >= 200 && response->status < 300) {
      return OkStatus();
    }
    last = response.has_value() ? Unavailable(fmt::format("HTTP {}", response->status))
                                : response.error();
    if (!response.has_value() && response.error().code() == StatusCode::kNotFound) {
      return Unavailable(fmt::format("sandbox {}: network namespace vanished", id));
    }
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

ProviderSandbox LocalProvider::ToProviderSandbox(const RuncContainer& c) const {
  ProviderSandbox s;
  s.sandbox_id = c.id;
  s.state = c.status == RuncStatus::kPaused ? ProviderState::kPaused : ProviderState::kRunning;
  // Not a host address: the sandbox serves only inside its own network
  // namespace; the URL names its port (kSandboxAddressDomain). Reach it
  // through SandboxSocket (the preview gateway and the runtime's proxy do).
  if (auto port = PortOf(c)) {
    s.url = fmt::format("http://{}-{}.{}/", *port, c.id, kSandboxAddressDomain);
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

Status LocalProvider::Pause(const std::string& sandbox_id) {
  if (!IsValidSandboxId(sandbox_id)) return NotFound("sandbox " + sandbox_id + " does not exist");
  SBX_ASSIGN_OR_RETURN(ProcessResult r, RunRunc(runc_.Pause(sandbox_id)));
  if (r.ok()) return OkStatus();
  if (RuncSaysNotExist(r.err)) return NotFound("sandbox " + sandbox_id + " does not exist");
  // Fails for a container that is already paused: that is success here.
  SBX_ASSIGN_OR_RETURN(RuncContainer c, State(sandbox_id));
  if (c.status == RuncStatus::kPaused) return OkStatus();
  return FailedPrecondition(fmt::format("runc pause {}: {} (container is {})", sandbox_id,
                                        DescribeRuncFailure(r), RuncStatusName(c.status)));
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
                    r.ok() ? std::string() : " (runc resume: " + DescribeRuncFailure(r) + ")"));
  }
  std::optional<uint16_t> port = PortOf(c);
  if (!port.has_value()) {
    return Internal("sandbox " + sandbox_id + ": container has no port annotation");
  }
  RememberPort(sandbox_id, *port);
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
  if (Status swept = Sweep(); !swept.ok()) {
    // Leftovers are retried on the next List; the listing is still right.
    SBX_LOG_WARN("list: sweep: {}", swept.message());
  }
  ListResult result;
  for (const auto& c : containers) {
    if (InFlight(c.id)) continue;  // its Create has not returned yet
    if (c.status == RuncStatus::kRunning || c.status == RuncStatus::kPaused) {
      if (auto port = PortOf(c)) RememberPort(c.id, *port);
      result.sandboxes.push_back(ToProviderSandbox(c));
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

// SandboxConnector

Result<int> LocalProvider::SandboxSocket(const std::string& sandbox_id) {
  if (!IsValidSandboxId(sandbox_id)) return NotFound("sandbox " + sandbox_id + " does not exist");
  auto fd = host_.SocketIn(names_.Netns(sandbox_id));
  if (!fd.has_value() && fd.error().code() == StatusCode::kNotFound) {
    return NotFound("sandbox " + sandbox_id + " does not exist");
  }
  return fd;
}

Result<uint16_t> LocalProvider::SandboxPort(const std::string& sandbox_id) {
  if (!IsValidSandboxId(sandbox_id)) return NotFound("sandbox " + sandbox_id + " does not exist");
  {
    std::lock_guard lock(mu_);
    if (auto it = ports_.find(sandbox_id); it != ports_.end()) return it->second;
  }
  SBX_ASSIGN_OR_RETURN(RuncContainer c, State(sandbox_id));
  std::optional<uint16_t> port = PortOf(c);
  if (!port.has_value()) {
    return Internal("sandbox " + sandbox_id + ": container has no port annotation");
  }
  RememberPort(sandbox_id, *port);
  return *port;
}

}  // namespace sbx::provider::local
