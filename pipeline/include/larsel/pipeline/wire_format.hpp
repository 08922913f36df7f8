#pragma once
// The ZeroMQ wire format of `larsel run` (docs/streaming.md). Every message is
// multipart, its first frame the topic (SUB filters by prefix on it):
//   frame.selected  [topic][header JSON][480 x 64 uint16 little-endian ADC, wire-major: 61,440 bytes]
//   frame.decision  [topic][batch header JSON][count x 32-byte DecisionRecord]
//   metrics         [topic][snapshot JSON], every metrics interval
//   run.info        [topic][RunInfo JSON], at the start and with every metrics snapshot
// Each header carries `message`, a per-topic counter from 0, so a subscriber
// counts what its socket dropped (a PUB socket cannot report that itself).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace larsel::pipeline::wire {

inline constexpr std::string_view kTopicSelected = "frame.selected";
inline constexpr std::string_view kTopicDecision = "frame.decision";
inline constexpr std::string_view kTopicMetrics = "metrics";
inline constexpr std::string_view kTopicRunInfo = "run.info";
inline constexpr std::string_view kFrameFormat = "larsel.frame.v1";
inline constexpr std::string_view kDecisionFormat = "larsel.decision.v1";
inline constexpr std::string_view kMetricsFormat = "larsel.metrics.v1";
inline constexpr std::string_view kRunInfoFormat = "larsel.run.v1";
inline constexpr std::size_t kWires = 480, kTicks = 64;
inline constexpr std::size_t kFramePayloadBytes = kWires * kTicks * sizeof(std::uint16_t);
/// Inbound size limits (ZMQ_MAXMSGSIZE, per message part: a peer announcing more is disconnected
/// before anything is allocated). A subscriber takes parts up to the largest a LArSel publisher
/// sends, a frame.decision batch of zmq.decision_batch <= 2^20 records of 32 bytes; a publisher's
/// peers send only subscriptions (a flag byte and a topic prefix).
inline constexpr std::size_t kMaxDecisionsPerMessage = std::size_t{1} << 20;
inline constexpr std::int64_t kMaxSubscriberPartBytes = std::int64_t{32} << 20;
inline constexpr std::int64_t kMaxSubscriptionBytes = 4096;

enum class Decision : std::uint8_t { rejected = 0, selected = 1, prescaled = 2 };
const char* decision_name(Decision decision) noexcept;

/// Bits of FrameHeader::flags and DecisionRecord::flags.
namespace flag {
inline constexpr std::uint8_t incomplete = 1;    // the image misses streams (see missing_streams)
inline constexpr std::uint8_t truth_known = 2;   // emulated data: truth_* are filled
inline constexpr std::uint8_t truth_signal = 4;  // ... and the frame holds a neutrino interaction
}  // namespace flag

/// The JSON header of a frame.selected message.
struct FrameHeader {
  std::uint64_t message = 0;      // frame.selected messages sent before this one
  std::uint64_t run = 0;
  std::uint32_t face = 0;         // global face id (2 * APA + face in APA)
  std::uint64_t timestamp = 0;    // 62.5 MHz ticks of the first sample
  std::uint64_t sequence = 0;     // frame periods since the face's first frame
  double score = 0;               // the CNN logit
  double threshold = 0;           // the selection threshold (logit)
  Decision decision = Decision::selected;
  std::uint32_t missing_streams = 0;  // bit i: stream i of the face's layout did not contribute
  std::uint8_t flags = 0;
  float truth_visible_energy_mev = NAN;  // neutrino energy visible in the frame (emulated data)
  float truth_nu_energy_mev = NAN;
  double arrival_to_decision_us = 0;  // image built -> decision, steady clock
};

std::string to_json(const FrameHeader& header);
/// Throws std::runtime_error naming the missing or mistyped field.
FrameHeader parse_frame_header(std::string_view json);

/// One frame's decision, packed little-endian (numpy dtype in docs/streaming.md).
struct DecisionRecord {
  std::uint64_t timestamp = 0;
  std::uint64_t sequence = 0;
  float score = 0;
  float arrival_to_decision_us = 0;
  std::uint32_t face = 0;
  std::uint8_t decision = 0;  // Decision
  std::uint8_t flags = 0;
  std::uint16_t reserved = 0;
};
static_assert(sizeof(DecisionRecord) == 32, "DecisionRecord is a fixed 32-byte wire record");

/// The JSON header of a frame.decision batch.
struct DecisionBatchHeader {
  std::uint64_t message = 0;  // frame.decision messages sent before this one
  std::uint64_t run = 0;
  std::uint32_t count = 0;    // records in the payload
};

std::string to_json(const DecisionBatchHeader& header);
DecisionBatchHeader parse_decision_header(std::string_view json);

/// What a recorder stores as file attributes: sent at the start of a run and again with every
/// metrics snapshot (a subscriber that joins late still learns it).
struct RunInfo {
  std::uint64_t run = 0;
  std::uint64_t start_time_unix_ns = 0;
  std::string config_yaml;        // the effective pipeline configuration
  std::string model_file;
  std::string model_hash;         // SHA-256 of the model file (64 hex digits)
  double threshold = 0;           // selection threshold (logit)
  std::uint32_t prescale = 0;     // 1 in N rejected frames kept (0: none)
  std::string software_version;
};

std::string to_json(const RunInfo& info);
RunInfo parse_run_info(std::string_view json);

}  // namespace larsel::pipeline::wire
