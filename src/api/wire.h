// The JSON wire format of the public API (DESIGN.md §7): sandbox objects,
// history rows, job runs. Shared by the api handlers and sandboxctl. Pure.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "core/sandbox.h"
#include "lifecycle/explain.h"
#include "lifecycle/overview.h"
#include "lifecycle/policy_report.h"
#include "store/store.h"

namespace sbx::api {

// How sandbox objects show what the record leaves to the deployment. The
// record keeps the provider's own (upstream) URL; the object's `url` is the
// preview gateway's address for it, "<scheme>://<port>-<sandboxId>.<domain>/",
// with the port the provider's URL serves (PreviewPortOf).
// `trafficAccessToken` is the token previews need under --preview-auth
// token, else null. `effectiveIdlePolicy` is the record's idle policy, else
// the deployment's.
struct SandboxView {
  std::string scheme = "http";
  std::string domain;  // the preview domain; empty shows the provider's URL unchanged
  std::function<std::string(const std::string& sandbox_id)> traffic_token;  // null: none
  std::string default_idle_policy = "fixed";  // --idle-policy
};

// The port a provider URL serves: the "<port>-" of its first host label
// (E2B's "https://49999-<id>.e2b.app/"), else its explicit port
// ("http://127.0.0.1:40000/"); nullopt when it names neither.
std::optional<uint16_t> PreviewPortOf(std::string_view provider_url);
// The object's `url`: the gateway URL, or nullopt when the record has no
// URL (or one without a port).
std::optional<std::string> PreviewUrlOf(const core::Sandbox& s, const SandboxView& preview);

// The sandbox object as of `now` (its `holds` are those unexpired at `now`).
boost::json::object SandboxJson(const core::Sandbox& s, const SandboxView& preview,
                                SystemTime now);
// Holds as [{"name","expiresAt"}] by name, only those unexpired at `now`: the
// record keeps an expired hold until its next write, but it holds nothing.
boost::json::array HoldsJson(const core::Holds& holds, SystemTime now);
// The newest activity of each source: {"api": "2026-…Z", …}.
boost::json::object ActivityJson(const core::ActivityBySource& activity);
// The first time after `now` at which one of `holds` expires (and the object
// SandboxJson makes of the record changes with no write); nullopt if none.
std::optional<SystemTime> NextHoldExpiry(const core::Holds& holds, SystemTime now);
boost::json::object HistoryJson(const store::HistoryRow& h);
// A decision's stored inputs as an object ({} when none).
boost::json::object InputsJson(const std::string& inputs);
// GET …/sandbox/explain's object.
boost::json::object ExplanationJson(const lifecycle::Explanation& e);
boost::json::object JobRunJson(const store::JobRun& r);
// GET /api/overview's object: every status and webhook outcome named, zero
// or not.
boost::json::object OverviewJson(const lifecycle::Overview& o);
// GET /api/policy/report's object.
boost::json::object PolicyReportJson(const lifecycle::PolicyReport& r);
// One policy's replay (the report's replay.policies[i], `sandboxd policy
// replay --json`).
boost::json::object ReplayTallyJson(const policy::ReplayTally& t);

}  // namespace sbx::api
