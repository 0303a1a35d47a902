#include "runtime_api/limits.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "core/validation.h"

namespace sbx::runtime_api {
namespace {

Status Unsupported(std::string_view field, std::string_view why) {
  return InvalidArgument(fmt::format("{} is not supported by the local runtime: {}", field, why));
}

bool DeniesAllEgress(const e2b::SandboxNetwork& n) {
  return n.deny_out == std::vector<std::string>{"0.0.0.0/0"};
}

// iam without workload tokens asks for nothing.
bool HasIamTokens(const boost::json::value& iam) {
  if (!iam.is_object()) return true;
  const boost::json::value* tokens = iam.as_object().if_contains("tokens");
  if (tokens == nullptr || tokens->is_null()) return false;
  return !tokens->is_object() || !tokens->as_object().empty();
}

Status CheckNetwork(const e2b::NewSandbox& r) {
  const e2b::SandboxNetwork& n = *r.network;
  if (n.allow_public_traffic == false) {
    return Unsupported("network.allowPublicTraffic false",
                       "preview hosts carry no traffic access token");
  }
  if (!n.allow_out.empty()) {
    return Unsupported("network.allowOut", "egress is all (internet) or nothing");
  }
  if (!n.deny_out.empty() && !DeniesAllEgress(n)) {
    return Unsupported("network.denyOut",
                       "egress is all (internet) or nothing: only [\"0.0.0.0/0\"] is accepted");
  }
  if (DeniesAllEgress(n) && r.allow_internet_access == true) {
    return InvalidArgument(
        "allow_internet_access true contradicts network.denyOut [\"0.0.0.0/0\"]");
  }
  if (n.mask_request_host) return Unsupported("network.maskRequestHost", "hosts are not rewritten");
  if (n.egress_proxy) return Unsupported("network.egressProxy", "there is no egress proxy");
  if (n.rules) return Unsupported("network.rules", "egress requests are not rewritten");
  if (n.https_ports) return Unsupported("network.httpsPorts", "preview traffic is plain HTTP");
  return OkStatus();
}

}  // namespace

Status ValidateTemplateId(std::string_view id) {
  return core::ValidateTemplateId("templateID", id);
}

Status ValidateE2bMetadata(const core::Metadata& metadata) {
  return core::ValidateMetadata(metadata, core::MetadataKeys::kText);
}

Status CheckCreateSupported(const e2b::NewSandbox& r) {
  if (!r.env_vars.empty()) {
    return Unsupported("envVars", "a template's program gets the environment its template names");
  }
  if (!r.volume_mounts.empty()) return Unsupported("volumeMounts", "there are no volumes");
  if (r.mcp) return Unsupported("mcp", "there is no MCP gateway");
  if (r.iam && HasIamTokens(*r.iam)) {
    return Unsupported("iam", "there are no workload identity tokens");
  }
  if (r.auto_pause_memory == false) {
    return Unsupported("autoPauseMemory false",
                       "pauses freeze the processes and always keep their memory");
  }
  if (r.auto_resume == true && r.auto_pause != true) {
    return InvalidArgument("autoResume can only be enabled together with autoPause");
  }
  if (r.network) SBX_RETURN_IF_ERROR(CheckNetwork(r));
  return OkStatus();
}

std::optional<bool> RequestedInternetAccess(const e2b::NewSandbox& r) {
  if (r.allow_internet_access) return r.allow_internet_access;
  if (r.network && DeniesAllEgress(*r.network)) return false;
  return std::nullopt;
}

}  // namespace sbx::runtime_api
