// JSON helpers of the E2B wire format: the one spelling of JSON type names,
// and readers of typed object fields whose errors use the wording E2B's API
// answers with ("Field 'timeout' must be an integer, got string"). The REST
// codecs (rest.h), the webhook event codec and runtime_api's request parsing
// use them. Pure functions; thread-safe; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "base/status.h"
#include "base/time.h"
#include "core/sandbox.h"

namespace sbx::e2b {

// The JSON type of a value as OpenAPI (and so E2B's spec) names it: "null",
// "boolean", "number", "string", "array", "object".
std::string_view KindName(boost::json::kind kind);

// kInvalidArgument "Field '<key>' must be <want>, got <KindName(got)>".
Status FieldTypeError(std::string_view key, std::string_view want, const boost::json::value& got);

// Readers of one field of `o`. Every one treats an absent field and JSON null
// alike: nullopt (or null), never an error. A present field of another type is
// kInvalidArgument naming the field (FieldTypeError); nothing else fails.

// An integer: int64, uint64 up to INT64_MAX, or a double with an integral
// value (JavaScript numbers). "Field '<key>' is out of range" beyond int64.
Result<std::optional<int64_t>> OptionalInt(const boost::json::object& o, std::string_view key);
Result<std::optional<bool>> OptionalBool(const boost::json::object& o, std::string_view key);
Result<std::optional<std::string>> OptionalString(const boost::json::object& o,
                                                  std::string_view key);
// A non-empty string: "Field '<key>' is required" when absent, null or "".
Result<std::string> RequiredString(const boost::json::object& o, std::string_view key);
// An RFC 3339 date-time string: "Field '<key>' must be an RFC 3339 date-time"
// for a string that is not one.
Result<std::optional<SystemTime>> OptionalTime(const boost::json::object& o, std::string_view key);
// An object: null pointer when absent or null; it points into `o`.
Result<const boost::json::object*> OptionalObject(const boost::json::object& o,
                                                  std::string_view key);
// An object whose values are all strings; a value of another type is an
// error naming "<key>.<name>".
Result<std::optional<core::Metadata>> OptionalStringMap(const boost::json::object& o,
                                                        std::string_view key);
// An array whose elements are all strings ("must be an array of strings").
Result<std::optional<std::vector<std::string>>> OptionalStringArray(const boost::json::object& o,
                                                                    std::string_view key);

// `map` as a JSON object of strings (metadata, envVars).
boost::json::object StringMapJson(const core::Metadata& map);

}  // namespace sbx::e2b
