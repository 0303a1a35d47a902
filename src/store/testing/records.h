// Records for store tests: a sandbox, a history row and times, each with every
// field set to a plain value a test may change. Test-only; pure.
#pragma once

#include <cstdint>
#include <string>

#include "core/sandbox.h"
#include "store/store.h"

namespace sbx::store::testing {

// `s` seconds after 2026-01-01T00:00:00Z.
inline SystemTime T(int64_t s) { return FromUnixMillis(1'767'225'600'000 + s * 1000); }

inline core::Sandbox Make(const std::string& project, int64_t version,
                          core::SandboxStatus status = core::SandboxStatus::kRunning) {
  core::Sandbox s;
  s.project_id = project;
  s.sandbox_id = "sbx-" + project;
  s.status = status;
  s.url = "http://127.0.0.1:1/";
  s.template_name = "hello";
  s.idle_timeout_s = 180;
  s.last_activity_at = T(10);
  s.created_at = T(1);
  s.updated_at = T(10);
  s.version = version;
  s.last_event_at = T(10);
  s.metadata = {{"projectId", project}};
  return s;
}

inline HistoryRow Row(const std::string& project, const std::string& event_id,
                      const std::string& outcome) {
  HistoryRow h;
  h.project_id = project;
  h.sandbox_id = "sbx-" + project;
  h.event_id = event_id;
  h.type = "sandbox.lifecycle.paused";
  h.source = "webhook";
  h.outcome = outcome;
  h.at = T(5);
  h.recorded_at = T(6);
  h.status = "PAUSED";
  h.detail = "";
  return h;
}

}  // namespace sbx::store::testing
