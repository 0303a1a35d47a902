// The JSON wire format of the public API (DESIGN.md §7): sandbox objects,
// history rows, job runs. Shared by the api handlers and sandboxctl. Pure.
#pragma once

#include <boost/json.hpp>

#include "core/sandbox.h"
#include "store/store.h"

namespace sbx::api {

boost::json::object SandboxJson(const core::Sandbox& s);
boost::json::object HistoryJson(const store::HistoryRow& h);
boost::json::object JobRunJson(const store::JobRun& r);

}  // namespace sbx::api
