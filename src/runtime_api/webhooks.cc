#include "runtime_api/webhooks.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include "e2b/json.h"
#include "e2b/webhook_event.h"

namespace sbx::runtime_api {
namespace json = boost::json;

namespace {

constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxUrlBytes = 2048;
constexpr size_t kMaxSecretBytes = 1024;

Status ValidateName(const std::string& name) {
  if (name.empty()) return InvalidArgument("Field 'name' must not be empty");
  if (name.size() > kMaxNameBytes) {
    return InvalidArgument(fmt::format("Field 'name' must be at most {} bytes", kMaxNameBytes));
  }
  return OkStatus();
}

// `policy` null: the URL's target is not checked (registrations loaded from
// the file; every delivery checks its addresses anyway).
Status ValidateUrl(const std::string& url, const WebhookTargetPolicy* policy) {
  if (url.size() > kMaxUrlBytes) {
    return InvalidArgument(fmt::format("Field 'url' must be at most {} bytes", kMaxUrlBytes));
  }
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return InvalidArgument(fmt::format("Field 'url' is not a valid URI: \"{}\"", url));
  if (parsed->scheme_id() == boost::urls::scheme::https) {
    return InvalidArgument("Field 'url': the local runtime delivers over http:// only");
  }
  if (parsed->scheme_id() != boost::urls::scheme::http || parsed->encoded_host().empty()) {
    return InvalidArgument(fmt::format("Field 'url' must be an http:// URL, got \"{}\"", url));
  }
  if (policy == nullptr) return OkStatus();
  const std::string host = parsed->host_type() == boost::urls::host_type::ipv6
                               ? parsed->host_ipv6_address().to_string()
                               : std::string(parsed->host_address());
  return CheckWebhookHost(host, *policy);
}

Status ValidateEvents(const std::vector<std::string>& events) {
  const std::vector<std::string>& known = e2b::WebhookEventTypes();
  for (const auto& e : events) {
    if (std::find(known.begin(), known.end(), e) == known.end()) {
      return InvalidArgument(fmt::format("Field 'events': unknown event type \"{}\"", e));
    }
  }
  return OkStatus();
}

// Applies the fields present in `body` to `w`. `create` requires the
// fields E2B requires. `policy`: as for ValidateUrl.
Status Apply(const json::object& body, bool create, const WebhookTargetPolicy* policy, Webhook& w) {
  std::optional<std::string> name, url, secret;
  std::optional<std::vector<std::string>> events;
  std::optional<bool> enabled;
  SBX_ASSIGN_OR_RETURN(name, e2b::OptionalString(body, "name"));
  SBX_ASSIGN_OR_RETURN(url, e2b::OptionalString(body, "url"));
  SBX_ASSIGN_OR_RETURN(events, e2b::OptionalStringArray(body, "events"));
  SBX_ASSIGN_OR_RETURN(enabled, e2b::OptionalBool(body, "enabled"));
  SBX_ASSIGN_OR_RETURN(secret, e2b::OptionalString(body, "signatureSecret"));
  if (create) {
    for (auto [present, field] : {std::pair{name.has_value(), "name"},
                                  {url.has_value(), "url"},
                                  {events.has_value(), "events"},
                                  {secret.has_value(), "signatureSecret"}}) {
      if (!present) return InvalidArgument(fmt::format("Field '{}' is required", field));
    }
  }
  if (name) SBX_RETURN_IF_ERROR(ValidateName(*name));
  if (url) SBX_RETURN_IF_ERROR(ValidateUrl(*url, policy));
  if (events) SBX_RETURN_IF_ERROR(ValidateEvents(*events));
  if (secret && secret->empty())
    return InvalidArgument("Field 'signatureSecret' must not be empty");
  if (secret && secret->size() > kMaxSecretBytes) {
    return InvalidArgument(
        fmt::format("Field 'signatureSecret' must be at most {} bytes", kMaxSecretBytes));
  }
  if (name) w.name = std::move(*name);
  if (url) w.url = std::move(*url);
  if (events) {
    w.events.clear();
    for (auto& e : *events) {
      if (std::find(w.events.begin(), w.events.end(), e) == w.events.end()) w.events.push_back(e);
    }
  }
  if (enabled) w.enabled = *enabled;
  if (secret) w.signature_secret = std::move(*secret);
  return OkStatus();
}

Status NotFoundWebhook(const std::string& id) {
  return NotFound(fmt::format("Webhook '{}' not found", id));
}

}  // namespace

bool IsUuid(std::string_view t) {
  if (t.size() != 36) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = t[i];
    if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

WebhookRegistry::WebhookRegistry(Clock& clock, IdGenerator& ids, BlockingPool& pool,
                                 WebhookRegistryOptions options)
    : clock_(clock), ids_(ids), pool_(pool), options_(std::move(options)) {}

Status WebhookRegistry::Load() {
  if (options_.file.empty()) return OkStatus();
  std::error_code ec;
  if (!std::filesystem::exists(options_.file, ec)) return OkStatus();
  const std::string file = options_.file.string();
  std::ifstream in(options_.file);
  if (!in) return FailedPrecondition(fmt::format("cannot read {}", file));
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code jec;
  json::value root = json::parse(text.str(), jec);
  if (jec || !root.is_object()) {
    return FailedPrecondition(fmt::format("{}: not a JSON object", file));
  }
  const json::value* list = root.as_object().if_contains("webhooks");
  if (list == nullptr || !list->is_array()) {
    return FailedPrecondition(fmt::format("{}: missing \"webhooks\" array", file));
  }
  std::vector<Webhook> loaded;
  for (const json::value& v : list->as_array()) {
    if (!v.is_object()) return FailedPrecondition(fmt::format("{}: entry is not an object", file));
    const json::object& o = v.as_object();
    Webhook w;
    if (Status s = Apply(o, /*create=*/true, /*policy=*/nullptr, w); !s.ok()) {
      return FailedPrecondition(fmt::format("{}: {}", file, s.message()));
    }
    auto id = e2b::OptionalString(o, "id");
    auto created = e2b::OptionalString(o, "createdAt");
    if (!id.ok() || !*id || !IsUuid(**id) || !created.ok() || !*created) {
      return FailedPrecondition(fmt::format("{}: entry without id or createdAt", file));
    }
    auto at = ParseRfc3339(**created);
    if (!at.ok()) return FailedPrecondition(fmt::format("{}: bad createdAt", file));
    w.id = **id;
    w.created_at = *at;
    loaded.push_back(std::move(w));
  }
  webhooks_ = std::move(loaded);
  return OkStatus();
}

Result<Webhook> WebhookRegistry::Create(const json::object& body) {
  if (webhooks_.size() >= options_.max_webhooks) {
    return InvalidArgument(fmt::format(
        "At most {} webhooks can be registered: delete one first", options_.max_webhooks));
  }
  Webhook w;
  SBX_RETURN_IF_ERROR(Apply(body, /*create=*/true, &options_.targets, w));
  w.id = ids_.NewUuid();
  w.created_at = TruncateToMillis(clock_.Now());
  webhooks_.push_back(w);
  return w;
}

Result<Webhook> WebhookRegistry::Update(const std::string& id, const json::object& body) {
  auto it = std::find_if(webhooks_.begin(), webhooks_.end(),
                         [&](const Webhook& w) { return w.id == id; });
  if (it == webhooks_.end()) return NotFoundWebhook(id);
  Webhook updated = *it;
  SBX_RETURN_IF_ERROR(Apply(body, /*create=*/false, &options_.targets, updated));
  *it = updated;
  return updated;
}

Status WebhookRegistry::Delete(const std::string& id) {
  auto it = std::find_if(webhooks_.begin(), webhooks_.end(),
                         [&](const Webhook& w) { return w.id == id; });
  if (it == webhooks_.end()) return NotFoundWebhook(id);
  webhooks_.erase(it);
  return OkStatus();
}

void WebhookRegistry::Restore(const std::string& id, const std::optional<Webhook>& before) {
  std::erase_if(webhooks_, [&](const Webhook& w) { return w.id == id; });
  if (!before) return;
  auto at = std::find_if(webhooks_.begin(), webhooks_.end(),
                         [&](const Webhook& w) { return before->created_at < w.created_at; });
  webhooks_.insert(at, *before);
}

Result<Webhook> WebhookRegistry::Get(const std::string& id) const {
  for (const Webhook& w : webhooks_) {
    if (w.id == id) return w;
  }
  return NotFoundWebhook(id);
}

std::vector<Webhook> WebhookRegistry::List() const { return webhooks_; }

std::vector<Webhook> WebhookRegistry::Subscribers(std::string_view type) const {
  std::vector<Webhook> out;
  for (const Webhook& w : webhooks_) {
    if (!w.enabled) continue;
    if (w.events.empty() || std::find(w.events.begin(), w.events.end(), type) != w.events.end()) {
      out.push_back(w);
    }
  }
  return out;
}

std::string WebhookRegistry::Snapshot() const {
  json::array list;
  for (const Webhook& w : webhooks_) {
    json::object o;
    o["id"] = w.id;
    o["name"] = w.name;
    o["url"] = w.url;
    o["enabled"] = w.enabled;
    json::array events;
    for (const auto& e : w.events) events.emplace_back(e);
    o["events"] = std::move(events);
    o["signatureSecret"] = w.signature_secret;
    o["createdAt"] = FormatRfc3339(w.created_at);
    list.push_back(std::move(o));
  }
  json::object root;
  root["webhooks"] = std::move(list);
  return json::serialize(root) + "\n";
}

Status WebhookRegistry::WriteFile(uint64_t generation, const std::string& text) {
  std::lock_guard lock(file_mu_);
  if (generation <= written_generation_) return OkStatus();  // a newer one is on disk
  const std::string file = options_.file.string();
  const std::string tmp = file + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Internal(fmt::format("write {}: cannot create {}", file, tmp));
  // O_CREAT's mode does not apply to an existing file.
  bool ok = ::fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Internal(fmt::format("write {} failed", file));
  }
  written_generation_ = generation;
  return OkStatus();
}

net::awaitable<Status> WebhookRegistry::Save() {
  if (options_.file.empty()) co_return OkStatus();
  const uint64_t generation = ++generation_;
  auto write = [this, generation, text = Snapshot()] { return WriteFile(generation, text); };
  co_return co_await pool_.Run(write);
}

}  // namespace sbx::runtime_api
