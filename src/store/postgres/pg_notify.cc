// NOTIFY and LISTEN: PostgresStore::Notify, Listen and OpenChangeFeed, and
// PostgresListener.
#include "store/postgres/pg_notify.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <thread>

#include "store/postgres/pg_connection.h"
#include "store/postgres/postgres_store.h"
#include "store/schema.h"

namespace sbx::store {
namespace {

using namespace std::chrono_literals;

// PostgreSQL truncates longer identifiers, so LISTEN and pg_notify would
// disagree about the channel.
constexpr size_t kMaxChannelBytes = 63;
// How often a disconnected listener retries while its Poll lasts.
constexpr auto kListenerRetryInterval = 100ms;

// The listener waits for the server as long as its Poll says; only its
// LISTEN is a request with an answer to await.
PgConnectOptions ListenerConnectOptions(const std::string& url, const PostgresOptions& options) {
  return {.url = url,
          .connect_timeout = options.connect_timeout,
          .response_timeout = options.statement_timeout > std::chrono::milliseconds(0)
                                  ? options.statement_timeout + std::chrono::seconds(1)
                                  : std::chrono::milliseconds(0)};
}

Status CheckChannel(const std::string& channel) {
  if (channel.empty() || channel.size() > kMaxChannelBytes) {
    return InvalidArgument(fmt::format("notification channel \"{}\" must be 1 to {} bytes", channel,
                                       kMaxChannelBytes));
  }
  return OkStatus();
}

class PostgresChangeFeed final : public ChangeFeed {
 public:
  explicit PostgresChangeFeed(std::unique_ptr<PostgresListener> listener)
      : listener_(std::move(listener)) {}

  // ChangeFeed
  Result<ChangeBatch> Poll(std::chrono::milliseconds timeout) override {
    SBX_ASSIGN_OR_RETURN(Notifications n, listener_->Poll(timeout));
    ChangeBatch batch;
    batch.missed = n.reconnected;
    for (const std::string& payload : n.payloads) {
      if (auto change = ParseChangePayload(payload)) batch.changes.push_back(std::move(*change));
    }
    return batch;
  }

 private:
  std::unique_ptr<PostgresListener> listener_;
};

}  // namespace

std::string ChangePayload(std::span<const SqlValue> encoded) {
  using C = schema::SandboxColumn;
  std::string head = RemovalPayload(std::get<std::string>(encoded[C::kProjectId]),
                                    std::get<int64_t>(encoded[C::kVersion]));
  const std::string record = EncodeSandboxJson(encoded);
  if (head.size() + 1 + record.size() >= kMaxPayloadBytes) return head;
  head += '\n';
  head += record;
  return head;
}

std::string RemovalPayload(std::string_view project_id, int64_t version) {
  return fmt::format("{}:{}", version, project_id);
}

std::optional<Change> ParseChangePayload(std::string_view payload) {
  // The record's JSON holds no raw newline (it escapes control characters),
  // so the last one, if any, ends the head.
  if (const auto newline = payload.rfind('\n'); newline != std::string_view::npos) {
    auto change = ParseChangePayload(payload.substr(0, newline));
    auto record = DecodeSandboxJson(payload.substr(newline + 1));
    if (change && record.ok() && record->project_id == change->project_id &&
        record->version == change->version) {
      change->record = std::move(*record);
      return change;
    }
  }
  const auto colon = payload.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  int64_t version = 0;
  auto [p, ec] = std::from_chars(payload.data(), payload.data() + colon, version);
  if (ec != std::errc() || p != payload.data() + colon) return std::nullopt;
  return Change{.version = version, .project_id = std::string(payload.substr(colon + 1))};
}

// PostgresStore: notifications

Status PostgresStore::Notify(const std::string& channel, const std::string& payload) {
  SBX_RETURN_IF_ERROR(CheckChannel(channel));
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  return conn->Run("SELECT pg_notify($1, $2)", {Param(channel), Param(payload)})
      .status()
      .WithContext(fmt::format("notify {}", channel));
}

Result<std::unique_ptr<PostgresListener>> PostgresStore::Listen(const std::string& channel) {
  return PostgresListener::Open(url_, channel, options_);
}

Result<std::unique_ptr<ChangeFeed>> PostgresStore::OpenChangeFeed() {
  if (options_.change_channel.empty()) {
    return FailedPrecondition("change feed: the store was opened without a change channel");
  }
  SBX_ASSIGN_OR_RETURN(auto listener, Listen(options_.change_channel));
  return std::unique_ptr<ChangeFeed>(std::make_unique<PostgresChangeFeed>(std::move(listener)));
}

// PostgresListener

PostgresListener::PostgresListener(std::unique_ptr<PgConnection> conn, std::string listen_sql)
    : conn_(std::move(conn)), listen_sql_(std::move(listen_sql)) {}

PostgresListener::~PostgresListener() = default;

Result<std::unique_ptr<PostgresListener>> PostgresListener::Open(const std::string& url,
                                                                 const std::string& channel,
                                                                 PostgresOptions options) {
  SBX_RETURN_IF_ERROR(CheckChannel(channel));
  SBX_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(ListenerConnectOptions(url, options)));
  char* quoted = PQescapeIdentifier(conn->raw(), channel.data(), channel.size());
  if (!quoted) {
    return InvalidArgument(
        fmt::format("notification channel \"{}\": {}", channel, PQerrorMessage(conn->raw())));
  }
  std::string sql = fmt::format("LISTEN {}", quoted);
  PQfreemem(quoted);
  std::unique_ptr<PostgresListener> listener(new PostgresListener(std::move(conn), std::move(sql)));
  SBX_RETURN_IF_ERROR(listener->Relisten());
  return listener;
}

Status PostgresListener::Relisten() {
  auto usable = conn_->EnsureUsable();
  if (!usable) return usable.error();
  auto listened = conn_->Exec(listen_sql_);
  listening_ = listened.ok();
  if (!listening_) return listened.error().WithContext(listen_sql_);
  return OkStatus();
}

Result<Notifications> PostgresListener::Poll(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Notifications out;
  for (;;) {
    // A reconnect replaces the libpq connection: look it up each round.
    PGconn* conn = conn_->raw();
    if (!listening_ || PQstatus(conn) != CONNECTION_OK) {
      listening_ = false;
      Status s = Relisten();
      if (s.ok()) {
        out.reconnected = true;
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return s;
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(kListenerRetryInterval, deadline - now));
      continue;
    }
    // Never blocks: reads what has arrived. Fails once the server is gone,
    // which the next round turns into a reconnect.
    if (!PQconsumeInput(conn)) {
      listening_ = false;
      continue;
    }
    while (PGnotify* n = PQnotifies(conn)) {
      out.payloads.emplace_back(n->extra);
      PQfreemem(n);
    }
    if (!out.payloads.empty() || out.reconnected) return out;
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return out;
    pollfd p{.fd = PQsocket(conn), .events = POLLIN, .revents = 0};
    const int wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 60'000));
    if (::poll(&p, 1, wait_ms) < 0 && errno != EINTR) {
      return Internal(fmt::format("poll on the listener socket: errno {}", errno));
    }
  }
}

}  // namespace sbx::store
