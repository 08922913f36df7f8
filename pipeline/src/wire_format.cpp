#include "larsel/pipeline/wire_format.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace larsel::pipeline::wire {
namespace {

nlohmann::json parse(std::string_view text, std::string_view what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{} header is not valid JSON: {}", what, e.what()));
  }
}

/// An integer field: a JSON integer within T's range. nlohmann's get<T>() would cast instead (-1 wraps,
/// 1.5 truncates, 1e300 is undefined behaviour).
template <typename T>
T integer_value(const nlohmann::json& value, const char* name, std::string_view what) {
  if (value.is_number_unsigned() && std::in_range<T>(value.get<std::uint64_t>())) return static_cast<T>(value.get<std::uint64_t>());
  if (value.is_number_integer() && std::in_range<T>(value.get<std::int64_t>())) return static_cast<T>(value.get<std::int64_t>());
  throw std::runtime_error(fmt::format("{} header: field '{}' is not an integer in [{}, {}] ({})", what, name,
                                       std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), value.dump()));
}

/// A floating-point field: a finite JSON number that T holds (a double beyond a float's range does not convert).
template <typename T>
T floating_value(const nlohmann::json& value, const char* name, std::string_view what) {
  const double number = value.is_number() ? value.get<double>() : NAN;
  if (!std::isfinite(number) || std::abs(number) > static_cast<double>(std::numeric_limits<T>::max())) {
    throw std::runtime_error(fmt::format("{} header: field '{}' is not a finite number that fits a {} ({})", what, name,
                                         sizeof(T) == sizeof(float) ? "float" : "double", value.dump()));
  }
  return static_cast<T>(number);
}

template <typename T>
T field(const nlohmann::json& j, const char* name, std::string_view what) {
  const auto it = j.find(name);
  if (it == j.end()) throw std::runtime_error(fmt::format("{} header: no field '{}'", what, name));
  if (std::is_arithmetic_v<T> && !it->is_number()) {
    throw std::runtime_error(fmt::format("{} header: field '{}' has the wrong type ({})", what, name, it->dump()));
  }
  if constexpr (std::is_integral_v<T>) {
    return integer_value<T>(*it, name, what);
  } else if constexpr (std::is_floating_point_v<T>) {
    return floating_value<T>(*it, name, what);
  } else {
    try {
      return it->get<T>();
    } catch (const nlohmann::json::exception&) {
      throw std::runtime_error(fmt::format("{} header: field '{}' has the wrong type ({})", what, name, it->dump()));
    }
  }
}

void check_format(const nlohmann::json& j, std::string_view expected, std::string_view what) {
  const auto format = field<std::string>(j, "format", what);
  if (format != expected) throw std::runtime_error(fmt::format("{} header: format '{}', expected '{}'", what, format, expected));
}

/// NaN when absent or not a number (unknown truth); a number beyond a float's range is malformed.
float optional_float(const nlohmann::json& j, const char* name, std::string_view what) {
  const auto it = j.find(name);
  return it == j.end() || !it->is_number() ? NAN : floating_value<float>(*it, name, what);
}

}  // namespace

const char* decision_name(Decision decision) noexcept {
  switch (decision) {
    case Decision::rejected: return "rejected";
    case Decision::selected: return "selected";
    case Decision::prescaled: return "prescaled";
  }
  return "unknown";
}

std::string to_json(const FrameHeader& h) {
  nlohmann::ordered_json j;
  j["format"] = kFrameFormat;
  j["message"] = h.message;
  j["run"] = h.run;
  j["face"] = h.face;
  j["timestamp"] = h.timestamp;
  j["sequence"] = h.sequence;
  j["score"] = h.score;
  j["threshold"] = h.threshold;
  j["decision"] = decision_name(h.decision);
  j["missing_streams"] = h.missing_streams;
  j["flags"] = h.flags;
  j["arrival_to_decision_us"] = h.arrival_to_decision_us;
  if ((h.flags & flag::truth_known) != 0) {
    j["truth"] = {{"signal", (h.flags & flag::truth_signal) != 0},
                  {"visible_energy_mev", h.truth_visible_energy_mev},
                  {"nu_energy_mev", h.truth_nu_energy_mev}};
  }
  j["shape"] = {kWires, kTicks};
  j["dtype"] = "<u2";
  return j.dump();
}

FrameHeader parse_frame_header(std::string_view text) {
  constexpr std::string_view what = "frame.selected";
  const nlohmann::json j = parse(text, what);
  check_format(j, kFrameFormat, what);
  FrameHeader h;
  h.message = field<std::uint64_t>(j, "message", what);
  h.run = field<std::uint64_t>(j, "run", what);
  h.face = field<std::uint32_t>(j, "face", what);
  h.timestamp = field<std::uint64_t>(j, "timestamp", what);
  h.sequence = field<std::uint64_t>(j, "sequence", what);
  h.score = field<double>(j, "score", what);
  h.threshold = field<double>(j, "threshold", what);
  const auto decision = field<std::string>(j, "decision", what);
  if (decision == "selected") h.decision = Decision::selected;
  else if (decision == "prescaled") h.decision = Decision::prescaled;
  else if (decision == "rejected") h.decision = Decision::rejected;
  else throw std::runtime_error(fmt::format("{} header: unknown decision '{}'", what, decision));
  h.missing_streams = field<std::uint32_t>(j, "missing_streams", what);
  h.flags = field<std::uint8_t>(j, "flags", what);
  h.arrival_to_decision_us = field<double>(j, "arrival_to_decision_us", what);
  if (const auto truth = j.find("truth"); truth != j.end() && truth->is_object()) {
    h.truth_visible_energy_mev = optional_float(*truth, "visible_energy_mev", what);
    h.truth_nu_energy_mev = optional_float(*truth, "nu_energy_mev", what);
  }
  return h;
}

std::string to_json(const DecisionBatchHeader& h) {
  nlohmann::ordered_json j;
  j["format"] = kDecisionFormat;
  j["message"] = h.message;
  j["run"] = h.run;
  j["count"] = h.count;
  j["record_bytes"] = sizeof(DecisionRecord);
  return j.dump();
}

DecisionBatchHeader parse_decision_header(std::string_view text) {
  constexpr std::string_view what = "frame.decision";
  const nlohmann::json j = parse(text, what);
  check_format(j, kDecisionFormat, what);
  if (field<std::size_t>(j, "record_bytes", what) != sizeof(DecisionRecord)) {
    throw std::runtime_error(fmt::format("{} header: record_bytes is not {}", what, sizeof(DecisionRecord)));
  }
  return {field<std::uint64_t>(j, "message", what), field<std::uint64_t>(j, "run", what), field<std::uint32_t>(j, "count", what)};
}

std::string to_json(const RunInfo& r) {
  nlohmann::ordered_json j;
  j["format"] = kRunInfoFormat;
  j["run"] = r.run;
  j["start_time_unix_ns"] = r.start_time_unix_ns;
  j["model_file"] = r.model_file;
  j["model_hash"] = r.model_hash;
  j["threshold"] = r.threshold;
  j["prescale"] = r.prescale;
  j["software_version"] = r.software_version;
  j["config_yaml"] = r.config_yaml;
  return j.dump();
}

RunInfo parse_run_info(std::string_view text) {
  constexpr std::string_view what = "run.info";
  const nlohmann::json j = parse(text, what);
  check_format(j, kRunInfoFormat, what);
  RunInfo r;
  r.run = field<std::uint64_t>(j, "run", what);
  r.start_time_unix_ns = field<std::uint64_t>(j, "start_time_unix_ns", what);
  r.model_file = field<std::string>(j, "model_file", what);
  r.model_hash = field<std::string>(j, "model_hash", what);
  r.threshold = field<double>(j, "threshold", what);
  r.prescale = field<std::uint32_t>(j, "prescale", what);
  r.software_version = field<std::string>(j, "software_version", what);
  r.config_yaml = field<std::string>(j, "config_yaml", what);
  return r;
}

}  // namespace larsel::pipeline::wire
