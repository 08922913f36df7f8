#pragma once
// Strict reading of small JSON configurations (baseline trigger, fixed-point
// formats): errors are std::invalid_argument "<what>: '<field>' <why>".
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace larsel::core {

/// A JSON value as an error message shows it: invalid UTF-8 replaced, where dump() would throw
/// type_error 316 and hide the real error (found by fuzz_yaml_config).
inline std::string shown(const nlohmann::json& value) { return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

[[noreturn]] inline void bad_json_field(std::string_view what, std::string_view field, const std::string& why) {
  throw std::invalid_argument(std::string(what) + ": '" + std::string(field) + "' " + why);
}

/// The int in `value`, refusing non-integers and values beyond 32 bits.
inline int json_int(const nlohmann::json& value, std::string_view what, std::string_view field) {
  if (!value.is_number_integer()) bad_json_field(what, field, "must be an integer, got " + shown(value));
  // Unsigned first: a value above INT64_MAX would wrap in get<std::int64_t>().
  const bool fits = value.is_number_unsigned()
                        ? value.get<std::uint64_t>() <= INT32_MAX
                        : value.get<std::int64_t>() >= INT32_MIN && value.get<std::int64_t>() <= INT32_MAX;
  if (!fits) bad_json_field(what, field, "is out of range: " + shown(value));
  return value.get<int>();
}

}  // namespace larsel::core
