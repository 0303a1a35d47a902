// Crash-safe cleanup as data: what a sandboxd instance finds on the host
// (Leftovers) and which sandboxes must therefore be removed entirely
// (PlanSweep). Every resource of a sandbox carries its id and this instance's
// tag, so the plan never touches another instance's sandboxes. LocalProvider
// gathers the leftovers, plans, and runs its idempotent Remove on each id.
// Pure functions and value types; thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "provider/local/runc.h"
#include "provider/local/sandbox_host.h"

namespace sbx::provider::local {

// How one instance names its sandboxes' resources.
struct SandboxNames {
  std::string tag;                      // this instance's tag (hash of its runc root)
  std::filesystem::path sandboxes_dir;  // bundles: <sandboxes_dir>/<id>/
  std::filesystem::path netns_dir;      // namespaces: <netns_dir>/<Token(id)>

  // "sbx-<tag>-<id>": the network namespace's name, and the mark on every
  // helper process and uid claim of the sandbox.
  std::string Token(const std::string& id) const;
  // "sbx-<tag>-": what every token of this instance starts with.
  std::string TokenPrefix() const;
  std::filesystem::path Netns(const std::string& id) const;
  // The id in a token of this instance ("sbx-<tag>-<id>"), else nullopt.
  std::optional<std::string> IdOfToken(std::string_view token) const;
  // The id of a sandbox whose bundle holds `path` (<sandboxes_dir>/<id>/…).
  std::optional<std::string> IdOfPath(const std::filesystem::path& path) const;
  // The id in one of `argv`'s arguments that holds a token of this instance.
  std::optional<std::string> IdOfArgv(const std::vector<std::string>& argv) const;
};

// What the host holds that may belong to this instance.
struct Leftovers {
  std::vector<RuncContainer> containers;      // `runc list` of this instance's root
  std::vector<std::string> bundles;           // directory names in sandboxes_dir
  std::vector<std::string> netns;             // file names in netns_dir
  std::vector<std::filesystem::path> mounts;  // mount points below sandboxes_dir
  std::vector<LoopDevice> loops;              // loop devices backed below sandboxes_dir
  std::vector<HostProcess> processes;         // processes whose argv holds TokenPrefix()
  std::vector<std::string> uid_claims;        // tokens of every uid claim
};

// The ids of sandboxes to remove completely: those with any leftover but no
// running, paused or still-creating container, and those whose container has
// stopped or was never started. Ids in `in_flight` (a Create of this process
// is making them) are left alone. Sorted, without duplicates.
std::vector<std::string> PlanSweep(const Leftovers& leftovers, const SandboxNames& names,
                                   const std::set<std::string>& in_flight);

}  // namespace sbx::provider::local
