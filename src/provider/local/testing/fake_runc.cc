#include "provider/local/testing/fake_runc.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

namespace sbx::provider::local {
namespace {

namespace json = boost::json;

ProcessResult Exit(int code, std::string out = "", std::string err = "") {
  ProcessResult r;
  r.exit_code = code;
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

std::string ErrorLine(std::string_view message) {
  return "time=\"2026-01-01T00:00:00Z\" level=error msg=\"" + std::string(message) + "\"\n";
}

ProcessResult NotExist() { return Exit(1, "", ErrorLine("container does not exist")); }

json::object ToJson(const RuncContainer& c) {
  json::object annotations;
  for (const auto& [k, v] : c.annotations) annotations[k] = v;
  return json::object{
      {"ociVersion", "1.0.2-dev"},
      {"id", c.id},
      {"pid", c.pid},
      {"status", RuncStatusName(c.status)},
      {"bundle", c.bundle},
      {"rootfs", c.bundle + "/rootfs"},
      {"created", c.created.has_value() ? FormatRfc3339(*c.created) : ""},
      {"annotations", annotations},
      {"owner", ""},
  };
}

std::map<std::string, std::string> ReadAnnotations(const std::string& bundle) {
  std::ifstream in(bundle + "/config.json");
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value config = json::parse(text.str(), ec);
  std::map<std::string, std::string> out;
  if (ec || !config.is_object()) return out;
  const json::value* a = config.as_object().if_contains("annotations");
  if (a == nullptr || !a->is_object()) return out;
  for (const auto& [k, v] : a->as_object()) {
    if (v.is_string()) out.emplace(std::string(k), std::string(v.get_string()));
  }
  return out;
}

}  // namespace

FakeRunc::FakeRunc(FakeProcessRunner& runner, FakeSandboxHost* host) : host_(host) {
  runner.SetHandler([this](const std::vector<std::string>& argv, const RunOptions& options) {
    return Handle(argv, options);
  });
}

std::map<std::string, RuncContainer> FakeRunc::containers() const {
  std::lock_guard lock(mu_);
  return containers_;
}

void FakeRunc::Put(RuncContainer c) {
  std::lock_guard lock(mu_);
  std::string id = c.id;
  containers_[id] = std::move(c);
}

void FakeRunc::Stop(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  it->second.status = RuncStatus::kStopped;
  it->second.pid = 0;
}

void FakeRunc::FailNextRun(std::string message) {
  std::lock_guard lock(mu_);
  fail_next_run_ = std::move(message);
}

std::string FakeRunc::StateJson(const RuncContainer& c) { return json::serialize(ToJson(c)); }

ProcessResult FakeRunc::HandleRun(const std::vector<std::string>& args, const RunOptions& options,
                                  const std::optional<std::string>& log_file) {
  // args: run --detach --bundle <dir> <id>
  if (args.size() != 5 || args[1] != "--detach" || args[2] != "--bundle") {
    return Exit(1, "", ErrorLine("fake runc: unexpected run arguments"));
  }
  const std::string& bundle = args[3];
  const std::string& id = args[4];
  std::optional<std::string> failure;
  if (fail_next_run_.has_value()) {
    failure = std::move(fail_next_run_);
    fail_next_run_.reset();
  } else if (containers_.contains(id)) {
    failure = "container with id exists: " + id;
  }
  if (failure.has_value()) {
    if (log_file.has_value()) std::ofstream(*log_file, std::ios::app) << ErrorLine(*failure);
    if (options.output_file.has_value()) {
      std::ofstream(*options.output_file, std::ios::app) << ErrorLine(*failure);
      return Exit(1);
    }
    return Exit(1, "", ErrorLine(*failure));
  }
  RuncContainer c;
  c.id = id;
  c.pid = next_pid_++;
  c.status = RuncStatus::kRunning;
  c.bundle = bundle;
  c.created = FromUnixMillis(1'767'225'600'000);
  c.annotations = ReadAnnotations(bundle);
  containers_[id] = std::move(c);
  return Exit(0);
}

Result<ProcessResult> FakeRunc::Handle(const std::vector<std::string>& argv,
                                       const RunOptions& options) {
  std::lock_guard lock(mu_);
  if (argv.empty() || !std::filesystem::path(argv[0]).filename().string().ends_with("runc")) {
    return HandleOther(argv);
  }
  // argv: <binary> --root <root> [--log <file>] <verb> ...
  if (argv.size() < 4 || argv[1] != "--root") {
    return Exit(1, "", ErrorLine("fake runc: expected --root first"));
  }
  size_t verb_at = 3;
  std::optional<std::string> log_file;
  if (argv[3] == "--log" && argv.size() > 5) {
    log_file = argv[4];
    verb_at = 5;
  }
  const std::vector<std::string> args(argv.begin() + static_cast<ptrdiff_t>(verb_at), argv.end());
  const std::string& verb = args[0];
  if (verb == "run") return HandleRun(args, options, log_file);
  if (verb == "list") {
    json::array list;
    for (const auto& [id, c] : containers_) list.push_back(ToJson(c));
    return Exit(0, list.empty() ? "null\n" : json::serialize(list) + "\n");
  }
  if (args.size() < 2) return Exit(1, "", ErrorLine("fake runc: missing container id"));
  const std::string& id = args.back();
  if (verb == "delete") {  // delete --force <id>: succeeds even for unknown ids
    containers_.erase(id);
    return Exit(0);
  }
  if (verb == "kill") {  // kill <id> <signal>
    auto it = containers_.find(args[1]);
    if (it == containers_.end()) return NotExist();
    if (it->second.status != RuncStatus::kRunning && it->second.status != RuncStatus::kPaused) {
      return Exit(1, "", ErrorLine("container not running"));
    }
    it->second.status = RuncStatus::kStopped;
    it->second.pid = 0;
    return Exit(0);
  }
  auto it = containers_.find(id);
  if (it == containers_.end()) return NotExist();
  RuncContainer& c = it->second;
  if (verb == "state") return Exit(0, StateJson(c) + "\n");
  if (verb == "pause") {
    if (c.status != RuncStatus::kRunning) return Exit(1, "", ErrorLine("container not running"));
    c.status = RuncStatus::kPaused;
    return Exit(0);
  }
  if (verb == "resume") {
    if (c.status != RuncStatus::kPaused) return Exit(1, "", ErrorLine("container not paused"));
    c.status = RuncStatus::kRunning;
    return Exit(0);
  }
  return Exit(1, "", ErrorLine("fake runc: unknown command " + verb));
}

ProcessResult FakeRunc::HandleOther(const std::vector<std::string>& argv) {
  if (host_ == nullptr || argv.empty()) return Exit(0);
  const std::string name = std::filesystem::path(argv[0]).filename().string();
  if (name == "mount" && argv.size() >= 2) {
    host_->AddMount(argv.back());
  } else if (name == "setsid" && argv.size() >= 3 && argv[1] == "-f") {
    // `setsid -f [unshare --mount --propagation private] <program> …`: the
    // process ends up running <program>.
    size_t program = 2;
    if (std::filesystem::path(argv[program]).filename() == "unshare") {
      for (++program; program < argv.size() && argv[program].starts_with("--"); ++program) {
        if (argv[program] == "--propagation") ++program;
      }
    }
    if (program >= argv.size()) return Exit(1, "", "setsid: no program");
    HostProcess p;
    p.pid = static_cast<int>(next_pid_++);
    p.exe_name = std::filesystem::path(argv[program]).filename().string();
    p.argv.assign(argv.begin() + static_cast<ptrdiff_t>(program), argv.end());
    host_->AddProcess(std::move(p));
  }
  return Exit(0);
}

}  // namespace sbx::provider::local
