// PostgresStore's LeaseStore: leases in the `leases` table (schema.h).
#include <fmt/format.h>

#include "store/postgres/pg_connection.h"
#include "store/postgres/postgres_store.h"

namespace sbx::store {
namespace {

using namespace std::chrono_literals;

// A lease changes hands (and its token grows) unless the holder renews it.
constexpr const char* kAcquireLeaseSql =
    "INSERT INTO leases AS l (name, holder, expires_at_ms, fencing_token) VALUES ($1, $2, $3, 1) "
    "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
    "expires_at_ms = EXCLUDED.expires_at_ms, fencing_token = CASE WHEN l.holder = "
    "EXCLUDED.holder THEN l.fencing_token ELSE l.fencing_token + 1 END "
    "WHERE l.holder = EXCLUDED.holder OR l.expires_at_ms <= $4 "
    "RETURNING fencing_token";

// The row stays (holder '') so the next holder's token keeps growing.
constexpr const char* kReleaseLeaseSql =
    "UPDATE leases SET holder = '', expires_at_ms = 0 WHERE name = $1 AND holder = $2";

}  // namespace

Result<Lease> PostgresStore::TryAcquireLease(const std::string& name, const std::string& holder,
                                             std::chrono::milliseconds ttl, SystemTime now) {
  if (name.empty() || holder.empty()) {
    return InvalidArgument("a lease needs a name and a holder");
  }
  if (ttl <= 0ms) return InvalidArgument(fmt::format("lease {}: ttl must be positive", name));
  const int64_t now_ms = ToUnixMillis(now);
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  SBX_ASSIGN_OR_RETURN(
      PgResult r,
      conn->Run(kAcquireLeaseSql,
                {Param(name), Param(holder), Param(now_ms + int64_t{ttl.count()}), Param(now_ms)}));
  if (r.rows() == 0) return Lease{};
  PgRow row(r, 0);
  Lease lease{.held = true, .token = row.Int(0)};
  SBX_RETURN_IF_ERROR(row.status());
  return lease;
}

Status PostgresStore::ReleaseLease(const std::string& name, const std::string& holder) {
  if (holder.empty()) return OkStatus();
  SBX_ASSIGN_OR_RETURN(auto conn, pool_->Borrow());
  return conn->Run(kReleaseLeaseSql, {Param(name), Param(holder)}).status();
}

}  // namespace sbx::store
