#include "runtime_api/sandboxes.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include <fmt/format.h>

#include "base/log.h"
#include "provider/local/template.h"
#include "runtime_api/limits.h"

namespace sbx::runtime_api {

using namespace std::chrono_literals;
namespace {

std::string NotFoundMessage(const std::string& id) {
  return fmt::format("Sandbox \"{}\" doesn't exist or you don't have access to it", id);
}

// A provider failure as the client sees it: the E2B wording first, the
// provider's reason after it. Only "try later" codes keep their meaning; the
// rest are server errors (a broken template is not the client's conflict).
Status ProviderFailure(std::string_view what, const Status& s) {
  std::string message = fmt::format("{}: {}", what, s.message());
  switch (s.code()) {
    case StatusCode::kUnavailable: return Unavailable(std::move(message));
    case StatusCode::kDeadlineExceeded: return DeadlineExceeded(std::move(message));
    default: return Internal(std::move(message));
  }
}

std::optional<uint16_t> PortOfUrl(const std::optional<std::string>& url) {
  if (!url) return std::nullopt;
  // "http://127.0.0.1:<port>/"
  std::string_view u = *url;
  const size_t scheme = u.find("://");
  if (scheme != std::string_view::npos) u.remove_prefix(scheme + 3);
  u = u.substr(0, u.find('/'));
  const size_t colon = u.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  unsigned port = 0;
  const std::string_view digits = u.substr(colon + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || p != digits.data() + digits.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

// "hello", "team/hello:latest" → "hello"; then the alias table.
std::string ResolveTemplateName(std::string_view requested,
                                const std::map<std::string, std::string>& aliases) {
  std::string_view name = requested;
  if (const size_t slash = name.rfind('/'); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  name = name.substr(0, name.find(':'));
  if (auto it = aliases.find(std::string(name)); it != aliases.end()) return it->second;
  return std::string(name);
}

int64_t UnixMs(SystemTime t) { return ToUnixMillis(t); }

std::string HoursText(std::chrono::seconds d) {
  if (d.count() % 3600 == 0) return fmt::format("{} hours", d.count() / 3600);
  return FormatDuration(std::chrono::duration_cast<Millis>(d));
}

}  // namespace

Result<ListPage> ListSandboxes(std::vector<SandboxRecord> all, const ListQuery& query) {
  if (query.cursor && query.cursor->ascending != query.ascending) {
    return InvalidArgument("Invalid next token: it was made for the other order");
  }
  std::vector<SandboxRecord> matching;
  ListPage page;
  for (SandboxRecord& r : all) {
    if (!query.states.contains(r.state)) continue;
    bool ok = true;
    for (const auto& [k, v] : query.metadata) {
      auto it = r.metadata.find(k);
      if (it == r.metadata.end() || it->second != v) ok = false;
    }
    if (query.template_id && *query.template_id != r.template_id && *query.template_id != r.alias) {
      ok = false;
    }
    if (query.started_after && r.started_at < *query.started_after) ok = false;
    if (!ok) continue;
    if (r.state == SandboxState::kRunning) ++page.total_running;
    matching.push_back(std::move(r));
  }
  auto key = [](const SandboxRecord& r) { return std::tie(r.started_at, r.sandbox_id); };
  std::sort(matching.begin(), matching.end(), [&](const SandboxRecord& a, const SandboxRecord& b) {
    return query.ascending ? key(a) < key(b) : key(b) < key(a);
  });
  size_t start = 0;
  if (query.cursor) {
    const auto c = std::make_tuple(query.cursor->started_at_ms, query.cursor->sandbox_id);
    while (start < matching.size()) {
      const auto k =
          std::make_tuple(UnixMs(matching[start].started_at), matching[start].sandbox_id);
      if (query.ascending ? k > c : k < c) break;
      ++start;
    }
  }
  const size_t end = std::min(matching.size(), start + query.limit);
  for (size_t i = start; i < end; ++i) page.sandboxes.push_back(std::move(matching[i]));
  if (end < matching.size() && !page.sandboxes.empty()) {
    const SandboxRecord& last = page.sandboxes.back();
    page.next = ListCursor{UnixMs(last.started_at), last.sandbox_id, query.ascending};
  }
  return page;
}

Sandboxes::Sandboxes(net::any_io_executor executor, Clock& clock, BlockingPool& pool,
                     provider::Provider& provider, IdGenerator& ids, EventSink sink,
                     SandboxesOptions options)
    : executor_(executor),
      clock_(clock),
      pool_(pool),
      provider_(provider),
      ids_(ids),
      sink_(std::move(sink)),
      options_(std::move(options)),
      locks_(executor) {}

SystemTime Sandboxes::Now() const { return TruncateToMillis(clock_.Now()); }

Sandboxes::Entry* Sandboxes::Find(const std::string& id) {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

SandboxRecord Sandboxes::FromProvider(const provider::ProviderSandbox& p, SystemTime now) const {
  SandboxRecord r;
  r.sandbox_id = p.sandbox_id;
  r.template_id = p.template_name;
  r.timeout = options_.default_timeout;
  for (const auto& [k, v] : p.metadata) {
    if (k == kAutoPauseKey) {
      r.auto_pause = v == "true";
    } else if (k == kTimeoutKey) {
      int64_t s = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
      if (ec == std::errc() && ptr == v.data() + v.size() && s > 0)
        r.timeout = std::chrono::seconds(s);
    } else if (k == kAliasKey) {
      r.alias = v;
    } else if (k == kAutoResumeKey) {
      r.auto_resume = v == "true";
    } else if (k == kInternetKey) {
      r.allow_internet_access = v == "true";
    } else if (!k.starts_with(kReservedMetadataPrefix)) {
      r.metadata[k] = v;
    }
  }
  r.started_at = p.started_at == SystemTime{} ? now : TruncateToMillis(p.started_at);
  r.state =
      p.state == provider::ProviderState::kPaused ? SandboxState::kPaused : SandboxState::kRunning;
  if (r.state == SandboxState::kPaused) {
    r.paused_at = now;
    r.end_at = now;
  } else {
    r.end_at = std::min(now + r.timeout, LifeLimit(r));
  }
  r.execution_id = ids_.NewUuid();
  r.build_id = ids_.NewUuid();
  r.port = PortOfUrl(p.url);
  r.cpu_count = options_.cpu_count;
  r.memory_mb = options_.default_memory_mb;
  r.disk_size_mb = options_.disk_size_mb;
  return r;
}

Status Sandboxes::Load() {
  SBX_ASSIGN_OR_RETURN(provider::ListResult list, provider_.List());
  const SystemTime now = Now();
  std::map<std::string, Entry> loaded;
  for (const auto& p : list.sandboxes) {
    Entry e{FromProvider(p, now)};
    if (!options_.templates_dir.empty()) {
      if (auto t = provider::local::LoadTemplate(options_.templates_dir, e.record.template_id);
          t.has_value()) {
        e.record.memory_mb = t->memory_limit_mib;
      }
    }
    loaded.emplace(p.sandbox_id, std::move(e));
  }
  entries_ = std::move(loaded);
  SBX_LOG_INFO("runtime: {} sandboxes recovered from the provider", entries_.size());
  return OkStatus();
}

void Sandboxes::Start() {
  timer_ = clock_.NewTimer(executor_);
  net::co_spawn(executor_, ExpiryLoop(), [](std::exception_ptr e) {
    if (e) SBX_LOG_ERROR("bug: runtime timeout enforcer threw");
  });
}

void Sandboxes::Stop() {
  stopping_ = true;
  if (timer_) timer_->Cancel();
}

void Sandboxes::Replan() {
  if (timer_) timer_->Cancel();
}

SystemTime Sandboxes::LifeLimit(const SandboxRecord& r) const {
  return r.started_at + options_.max_timeout;
}

Result<std::chrono::seconds> Sandboxes::CheckTimeout(int64_t timeout_s) const {
  if (timeout_s > options_.max_timeout.count()) {
    return InvalidArgument(
        fmt::format("Timeout cannot be greater than {}", HoursText(options_.max_timeout)));
  }
  return std::chrono::seconds(std::max<int64_t>(timeout_s, 0));
}

void Sandboxes::Emit(core::EventType type, const SandboxRecord& r,
                     std::optional<SystemTime> set_timeout,
                     std::optional<std::string> kill_reason) {
  e2b::WebhookEvent f;
  f.id = ids_.NewUuid();
  f.type = std::string(e2b::WebhookEventType(type));
  f.timestamp = clock_.Now();
  f.sandbox_id = r.sandbox_id;
  f.sandbox_execution_id = r.execution_id;
  f.sandbox_template_id = r.template_id;
  f.sandbox_build_id = r.build_id;
  f.sandbox_team_id = options_.team_id;
  f.sandbox_metadata = r.metadata;
  f.set_timeout = set_timeout;
  f.kill_reason = std::move(kill_reason);
  SBX_LOG_INFO("sandbox {}: {}", r.sandbox_id, f.type);
  if (sink_) sink_(f);
}

Status Sandboxes::Forget(const std::string& id) {
  if (Entry* e = Find(id)) {
    SandboxRecord gone = e->record;
    entries_.erase(id);
    SBX_LOG_WARN("sandbox {} vanished from the provider: dropping it", id);
    Emit(core::EventType::kKilled, gone, std::nullopt, "unknown");
    Replan();
  }
  return NotFound(NotFoundMessage(id));
}

// Sandboxes

net::awaitable<Result<SandboxRecord>> Sandboxes::Create(const e2b::NewSandbox& params,
                                                        ApiVersion version) {
  if (Status s = ValidateTemplateId(params.template_id); !s.ok()) co_return s;
  if (Status s = ValidateE2bMetadata(params.metadata); !s.ok()) co_return s;
  if (Status s = CheckCreateSupported(params); !s.ok()) co_return s;
  const bool auto_pause = params.auto_pause.value_or(false);
  const bool auto_resume = params.auto_resume.value_or(false);
  const std::optional<bool> internet = RequestedInternetAccess(params);
  const auto default_timeout =
      version == ApiVersion::kV2 ? options_.default_timeout_v2 : options_.default_timeout;
  const int64_t timeout_s = params.timeout_s.value_or(default_timeout.count());
  if (timeout_s <= 0) co_return InvalidArgument("Timeout must be greater than 0");
  auto timeout = CheckTimeout(timeout_s);
  if (!timeout.ok()) co_return timeout.error();
  const std::string name = ResolveTemplateName(params.template_id, options_.template_aliases);
  const std::string not_found = fmt::format("template '{}' not found", params.template_id);
  if (!provider::local::IsValidTemplateName(name)) co_return NotFound(not_found);
  int64_t memory_mb = options_.default_memory_mb;
  if (!options_.templates_dir.empty()) {
    auto load = [dir = options_.templates_dir, name] {
      return provider::local::LoadTemplate(dir, name);
    };
    auto tmpl = co_await pool_.Run(load);
    if (!tmpl.ok()) {
      if (tmpl.error().code() == StatusCode::kInvalidArgument) co_return NotFound(not_found);
      co_return Internal(fmt::format("template '{}': {}", name, tmpl.error().message()));
    }
    memory_mb = tmpl->memory_limit_mib;
  }

  provider::CreateRequest request;
  request.template_name = name;
  for (const auto& [k, v] : params.metadata) {
    if (!k.starts_with(kReservedMetadataPrefix)) request.metadata[k] = v;
  }
  if (auto it = request.metadata.find("projectId"); it != request.metadata.end()) {
    request.project_id = it->second;
  }
  request.metadata[kAutoPauseKey] = auto_pause ? "true" : "false";
  request.metadata[kTimeoutKey] = std::to_string(timeout->count());
  if (auto_resume) request.metadata[kAutoResumeKey] = "true";
  if (internet) request.metadata[kInternetKey] = *internet ? "true" : "false";
  request.allow_internet_access = internet;
  const std::string alias = params.template_id != name ? params.template_id : "";
  if (!alias.empty()) request.metadata[kAliasKey] = alias;

  auto call = [this, request] { return provider_.Create(request); };
  auto created = co_await pool_.Run(call);
  if (!created.ok()) {
    if (created.error().code() == StatusCode::kInvalidArgument) co_return NotFound(not_found);
    co_return ProviderFailure("Failed to create sandbox", created.error());
  }
  const SystemTime now = Now();
  SandboxRecord r = FromProvider(*created, now);
  r.started_at = now;
  r.timeout = *timeout;
  r.end_at = now + *timeout;
  r.auto_pause = auto_pause;
  r.auto_resume = auto_resume;
  r.alias = alias;
  r.allow_internet_access = internet;
  r.memory_mb = memory_mb;
  entries_[r.sandbox_id] = Entry{r};
  Emit(core::EventType::kCreated, r);
  Replan();
  co_return r;
}

net::awaitable<Status> Sandboxes::Pause(const std::string& id) {
  auto guard = co_await locks_.Lock(id);
  Entry* e = Find(id);
  if (e == nullptr) co_return NotFound(NotFoundMessage(id));
  if (e->record.state == SandboxState::kPaused) {
    co_return FailedPrecondition(
        fmt::format("Error pausing sandbox - sandbox '{}' is already paused", id));
  }
  auto call = [this, id] { return provider_.Pause(id); };
  Status paused = co_await pool_.Run(call);
  if (!paused.ok()) {
    if (paused.code() == StatusCode::kNotFound) co_return Forget(id);
    co_return ProviderFailure("Error pausing sandbox", paused);
  }
  e = Find(id);
  e->record.state = SandboxState::kPaused;
  e->record.paused_at = Now();
  e->retry_at.reset();
  Emit(core::EventType::kPaused, e->record);
  Replan();
  co_return OkStatus();
}

net::awaitable<Result<SandboxRecord>> Sandboxes::DoResume(const std::string& id,
                                                          std::chrono::seconds timeout) {
  auto call = [this, id] { return provider_.Resume(id); };
  auto resumed = co_await pool_.Run(call);
  if (!resumed.ok()) {
    if (resumed.error().code() == StatusCode::kNotFound) co_return Forget(id);
    co_return ProviderFailure("Error resuming sandbox", resumed.error());
  }
  Entry* e = Find(id);
  const SystemTime now = Now();
  SandboxRecord& r = e->record;
  r.state = SandboxState::kRunning;
  r.paused_at.reset();
  r.started_at = now;  // a resume starts a new execution, as at E2B
  r.timeout = timeout;
  r.end_at = now + timeout;
  r.execution_id = ids_.NewUuid();
  if (auto port = PortOfUrl(resumed->url)) r.port = port;
  e->retry_at.reset();
  Emit(core::EventType::kResumed, r);
  Replan();
  co_return r;
}

net::awaitable<Result<SandboxRecord>> Sandboxes::Resume(const std::string& id,
                                                        std::optional<int64_t> timeout_s,
                                                        std::optional<bool> auto_pause) {
  const int64_t seconds = timeout_s.value_or(options_.default_timeout.count());
  if (seconds <= 0) co_return InvalidArgument("Timeout must be greater than 0");
  auto timeout = CheckTimeout(seconds);
  if (!timeout.ok()) co_return timeout.error();
  auto guard = co_await locks_.Lock(id);
  Entry* e = Find(id);
  if (e == nullptr) co_return NotFound(NotFoundMessage(id));
  if (e->record.state == SandboxState::kRunning) {
    co_return FailedPrecondition(fmt::format("Sandbox {} is already running", id));
  }
  auto resumed = co_await DoResume(id, *timeout);
  if (resumed.ok() && auto_pause) {
    Find(id)->record.auto_pause = *auto_pause;
    resumed->auto_pause = *auto_pause;
  }
  co_return resumed;
}

net::awaitable<Result<Sandboxes::Connected>> Sandboxes::Connect(const std::string& id,
                                                                int64_t timeout_s) {
  if (timeout_s < 0) co_return InvalidArgument("Timeout must be greater than or equal to 0");
  auto timeout = CheckTimeout(timeout_s);
  if (!timeout.ok()) co_return timeout.error();
  auto guard = co_await locks_.Lock(id);
  Entry* e = Find(id);
  if (e == nullptr) co_return NotFound(NotFoundMessage(id));
  if (e->record.state == SandboxState::kPaused) {
    auto resumed = co_await DoResume(id, *timeout);
    if (!resumed.ok()) co_return resumed.error();
    co_return Connected{std::move(*resumed), true};
  }
  const SystemTime end = std::min(Now() + *timeout, LifeLimit(e->record));
  if (end > e->record.end_at) {
    e->record.end_at = end;
    e->retry_at.reset();
    Emit(core::EventType::kUpdated, e->record, end);
    Replan();
  }
  co_return Connected{e->record, false};
}

net::awaitable<Result<SandboxRecord>> Sandboxes::WakeForTraffic(const std::string& id) {
  auto guard = co_await locks_.Lock(id);
  Entry* e = Find(id);
  if (e == nullptr) co_return NotFound(NotFoundMessage(id));
  if (e->record.state == SandboxState::kRunning) co_return e->record;
  if (!e->record.auto_resume) {
    co_return FailedPrecondition(fmt::format("The sandbox {} is paused", id));
  }
  const auto timeout = std::min(std::max(e->record.timeout, options_.auto_resume_min_timeout),
                                options_.max_timeout);
  SBX_LOG_INFO("sandbox {}: resuming for preview traffic (autoResume)", id);
  co_return co_await DoResume(id, timeout);
}

net::awaitable<Status> Sandboxes::SetTimeout(const std::string& id, int64_t timeout_s) {
  auto guard = co_await locks_.Lock(id);
  Entry* e = Find(id);
  if (e == nullptr) co_return NotFound(NotFoundMessage(id));
  if (e->record.state != SandboxState::kRunning) {
    co_return FailedPrecondition(fmt::format("Sandbox '{}' is not running", id));
  }
  const SystemTime now = Now();
  const SystemTime limit = LifeLimit(e->record);
  if (now >= limit) co_return InvalidArgument("Max instance length exceeded");
  // Seconds beyond the life limit are clamped below, so no overflow check.
  const auto seconds =
      std::chrono::seconds(std::clamp<int64_t>(timeout_s, 0, options_.max_timeout.count()));
  const SystemTime end = std::min(now + seconds, limit);
  e->record.end_at = end;
  e->retry_at.reset();
  Emit(core::EventType::kUpdated, e->record, end);
  Replan();
  co_return OkStatus();
}

net::awaitable<Status> Sandboxes::Refresh(const std::string& id,
                                          std::optional<int64_t> duration_s) {
  if (duration_s && (*duration_s < 0 || *duration_s > 3600)) {
    co_return InvalidArgument("Duration must be between 0 and 3600 seconds");
  }
  const auto duration = std::chrono::seconds(std::max<int64_t>(duration_s.value_or(15), 15));
  auto guard = co_await locks_.Lock(id);
  Entry* e = Find(id);
  if (e == nullptr) co_return NotFound(NotFoundMessage(id));
  if (e->record.state != SandboxState::kRunning) {
    co_return FailedPrecondition(fmt::format("Sandbox '{}' is not running", id));
  }
  const SystemTime end = std::min(Now() + duration, LifeLimit(e->record));
  if (end > e->record.end_at) {
    e->record.end_at = end;
    e->retry_at.reset();
    Emit(core::EventType::kUpdated, e->record, end);
    Replan();
  }
  co_return OkStatus();
}

net::awaitable<Status> Sandboxes::Kill(const std::string& id) {
  auto guard = co_await locks_.Lock(id);
  if (Find(id) == nullptr) co_return NotFound(NotFoundMessage(id));
  auto call = [this, id] { return provider_.Kill(id); };
  Status killed = co_await pool_.Run(call);
  if (!killed.ok()) co_return ProviderFailure("Error killing sandbox", killed);
  SandboxRecord gone = Find(id)->record;
  entries_.erase(id);
  Emit(core::EventType::kKilled, gone, std::nullopt, "request");
  Replan();
  co_return OkStatus();
}

std::optional<SandboxRecord> Sandboxes::Get(const std::string& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.record;
}

std::vector<SandboxRecord> Sandboxes::All() const {
  std::vector<SandboxRecord> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(e.record);
  return out;
}

// Timeout enforcement.

net::awaitable<void> Sandboxes::ExpiryLoop() {
  while (!stopping_) {
    const SystemTime now = clock_.Now();
    std::optional<SystemTime> next;
    std::vector<std::string> due;
    for (auto& [id, e] : entries_) {
      if (e.record.state != SandboxState::kRunning || e.expiring) continue;
      SystemTime at = e.record.end_at;
      if (e.retry_at && *e.retry_at > at) at = *e.retry_at;
      if (at <= now) {
        due.push_back(id);
      } else if (!next || at < *next) {
        next = at;
      }
    }
    for (const std::string& id : due) {
      entries_[id].expiring = true;
      net::co_spawn(executor_, Expire(id), [](std::exception_ptr e) {
        if (e) SBX_LOG_ERROR("bug: runtime timeout handling threw");
      });
    }
    if (!due.empty()) continue;
    const auto wait = next ? *next - now : std::chrono::system_clock::duration(1h);
    (void)co_await timer_->WaitUntil(
        clock_.SteadyNow() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
  }
}

net::awaitable<void> Sandboxes::Expire(std::string id) {
  auto guard = co_await locks_.Lock(id);
  Entry* e = Find(id);
  if (e == nullptr) co_return;
  const SystemTime now = Now();
  if (e->record.state != SandboxState::kRunning || e->record.end_at > clock_.Now()) {
    e->expiring = false;  // extended or paused meanwhile
    Replan();
    co_return;
  }
  if (e->record.auto_pause) {
    auto call = [this, id] { return provider_.Pause(id); };
    Status paused = co_await pool_.Run(call);
    e = Find(id);
    if (paused.ok()) {
      e->record.state = SandboxState::kPaused;
      e->record.paused_at = Now();
      e->retry_at.reset();
      e->expiring = false;
      Emit(core::EventType::kPaused, e->record);
    } else if (paused.code() == StatusCode::kNotFound) {
      (void)Forget(id);
    } else {
      SBX_LOG_WARN("sandbox {}: pause on timeout failed, retrying: {}", id, paused.ToString());
      e->retry_at = now + options_.expire_retry;
      e->expiring = false;
    }
  } else {
    auto call = [this, id] { return provider_.Kill(id); };
    Status killed = co_await pool_.Run(call);
    e = Find(id);
    if (killed.ok()) {
      SandboxRecord gone = e->record;
      entries_.erase(id);
      Emit(core::EventType::kKilled, gone, std::nullopt, "timeout");
    } else {
      SBX_LOG_WARN("sandbox {}: kill on timeout failed, retrying: {}", id, killed.ToString());
      e->retry_at = now + options_.expire_retry;
      e->expiring = false;
    }
  }
  Replan();
}

}  // namespace sbx::runtime_api
