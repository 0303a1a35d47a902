#include "provider/local/process_runner.h"

namespace sbx::provider::local {

std::string FormatCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    out += arg;
  }
  return out;
}

}  // namespace sbx::provider::local
