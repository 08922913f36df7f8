// Fuzz harness: the ZeroMQ wire format (docs/streaming.md) as `larsel record` and `larsel listen`
// parse a multipart message. The input is the message: one byte with the part count (1-4), then
// each part but the last as a 2-byte little-endian length and its bytes; the last part is the rest.
// Like the two commands, the harness dispatches on the topic (part 0), parses the JSON header
// (part 1) and checks the payload (part 2) against it; it also runs every header parser on part 1
// whatever the topic. A parser must accept the header or throw std::runtime_error with a message,
// and what it accepts must survive to_json and back unchanged.
#include <cmath>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "larsel/pipeline/wire_format.hpp"

namespace larsel::fuzz {
namespace {

namespace wire = pipeline::wire;

std::vector<std::string> read_parts(FuzzReader& in) {
  const std::size_t count = 1 + in.byte() % 4;
  std::vector<std::string> parts;
  for (std::size_t i = 0; i + 1 < count; ++i) parts.push_back(in.text(in.integer<std::uint16_t>()));
  const auto rest = in.rest();
  parts.emplace_back(reinterpret_cast<const char*>(rest.data()), rest.size());
  return parts;
}

/// NaN-aware equality: the optional truth energies are NaN when absent.
bool same_float(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

bool same(const wire::FrameHeader& a, const wire::FrameHeader& b) {
  return a.message == b.message && a.run == b.run && a.face == b.face && a.timestamp == b.timestamp &&
         a.sequence == b.sequence && same_float(a.score, b.score) && same_float(a.threshold, b.threshold) &&
         a.decision == b.decision && a.missing_streams == b.missing_streams && a.flags == b.flags &&
         a.arrival_to_decision_us == b.arrival_to_decision_us &&
         // to_json writes the truth only with flag::truth_known; without it parsing leaves NaN.
         ((a.flags & wire::flag::truth_known) == 0 ||
          (same_float(a.truth_visible_energy_mev, b.truth_visible_energy_mev) &&
           same_float(a.truth_nu_energy_mev, b.truth_nu_energy_mev)));
}

bool same(const wire::RunInfo& a, const wire::RunInfo& b) {
  return a.run == b.run && a.start_time_unix_ns == b.start_time_unix_ns && a.config_yaml == b.config_yaml &&
         a.model_file == b.model_file && a.model_hash == b.model_hash && same_float(a.threshold, b.threshold) &&
         a.prescale == b.prescale && a.software_version == b.software_version;
}

/// Parses `json` with `parse`; a rejection must be a runtime_error with a message. What is accepted
/// must come back unchanged from to_json and parse (a recorder re-publishing it must not alter it).
template <typename Header, typename Parse, typename Same>
std::optional<Header> parse_checked(std::string_view json, Parse parse, Same equal, std::string_view what) {
  Header header;
  try {
    header = parse(json);
  } catch (const std::runtime_error& e) {
    require_message(e, what);
    return std::nullopt;
  }
  const std::string again = wire::to_json(header);
  Header reparsed;
  try {
    reparsed = parse(again);
  } catch (const std::runtime_error& e) {
    finding(std::string(what) + ": to_json of an accepted header is rejected: " + e.what());
  }
  require(equal(header, reparsed), std::string(what) + ": to_json and parse changed an accepted header");
  return header;
}

std::optional<wire::FrameHeader> parse_frame(std::string_view json) {
  return parse_checked<wire::FrameHeader>(json, wire::parse_frame_header, [](const auto& a, const auto& b) { return same(a, b); },
                                          "parse_frame_header");
}
std::optional<wire::DecisionBatchHeader> parse_decision(std::string_view json) {
  const auto equal = [](const wire::DecisionBatchHeader& a, const wire::DecisionBatchHeader& b) {
    return a.message == b.message && a.run == b.run && a.count == b.count;
  };
  return parse_checked<wire::DecisionBatchHeader>(json, wire::parse_decision_header, equal, "parse_decision_header");
}
std::optional<wire::RunInfo> parse_run(std::string_view json) {
  return parse_checked<wire::RunInfo>(json, wire::parse_run_info, [](const auto& a, const auto& b) { return same(a, b); },
                                      "parse_run_info");
}

/// What both commands do with a message of a known topic (apps/larsel/cmd_record.cpp, cmd_listen.cpp).
void dispatch(const std::vector<std::string>& parts) {
  const std::string_view topic = parts[0];
  if (topic == wire::kTopicSelected && parts.size() == 3) {
    if (parse_frame(parts[1]) && parts[2].size() == wire::kFramePayloadBytes) {
      std::vector<std::uint16_t> adc(wire::kWires * wire::kTicks);
      std::memcpy(adc.data(), parts[2].data(), wire::kFramePayloadBytes);
    }
  } else if (topic == wire::kTopicDecision && parts.size() == 3) {
    const auto header = parse_decision(parts[1]);
    if (header && parts[2].size() == std::size_t{header->count} * sizeof(wire::DecisionRecord) && header->count > 0) {
      std::vector<wire::DecisionRecord> records(header->count);
      std::memcpy(records.data(), parts[2].data(), parts[2].size());
      (void)wire::decision_name(static_cast<wire::Decision>(records.back().decision));
    }
  } else if (topic == wire::kTopicRunInfo && parts.size() == 2) {
    parse_run(parts[1]);
  }
}

}  // namespace

void fuzz_wire_format(const std::uint8_t* data, std::size_t size) {
  FuzzReader in(data, size);
  const std::vector<std::string> parts = read_parts(in);
  dispatch(parts);
  const std::string_view header = parts.size() > 1 ? parts[1] : parts[0];
  parse_frame(header);
  parse_decision(header);
  parse_run(header);
}

}  // namespace larsel::fuzz

LARSEL_FUZZ_TARGET(larsel::fuzz::fuzz_wire_format)
