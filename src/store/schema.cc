#include "store/schema.h"

#include <fmt/format.h>

namespace sbx::store::schema {
namespace {

bool Read(const Column& c) { return c.access != Access::kWriteOnly; }
bool Written(const Column& c) { return c.access != Access::kAssigned; }

// "<format of the first>, <format of the second>, …" over the columns `keep`
// accepts; `format` gets the column's name and its 1-based position among them.
template <typename Keep>
std::string Join(const Table& table, Keep keep, std::string_view format) {
  std::string out;
  int n = 0;
  for (const Column& c : table.columns) {
    if (!keep(c)) continue;
    if (n++ > 0) out += ", ";
    out += fmt::format(fmt::runtime(format), c.name, n);
  }
  return out;
}

}  // namespace

std::string ReadList(const Table& table) { return Join(table, Read, "{0}"); }

std::string WriteList(const Table& table) { return Join(table, Written, "{0}"); }

int WriteCount(const Table& table) {
  int n = 0;
  for (const Column& c : table.columns) n += Written(c) ? 1 : 0;
  return n;
}

std::string WriteParams(const Table& table, char mark) {
  return Join(table, Written, fmt::format("{}{{1}}", mark));
}

std::string TypedParams(const Table& table, int first) {
  std::string out;
  int n = first;
  for (const Column& c : table.columns) {
    if (!Written(c)) continue;
    if (n > first) out += ", ";
    out += fmt::format("${}::{}", n++, c.type == Type::kText ? "text" : "bigint");
  }
  return out;
}

std::string UpdateAssignments(const Table& table, char mark) {
  std::string out;
  int n = 0;
  for (const Column& c : table.columns) {
    if (!Written(c)) continue;
    if (++n == 1) continue;  // the key
    if (n > 2) out += ", ";
    out += fmt::format("{} = {}{}", c.name, mark, n);
  }
  return out;
}

}  // namespace sbx::store::schema
