#include "larsel/daq/receive_counters.hpp"

#include <nlohmann/json.hpp>

namespace larsel::daq {

std::uint64_t ReceiveCounters::anomalies() const noexcept {
  return malformed_size.get() + malformed_header.get() + unknown_stream.get() + duplicate.get() +
         out_of_order.get() + late.get() + seq_gap.get() + seq_id_mismatch.get() +
         timestamp_misaligned.get() + timestamp_jump.get() + stream_frames_lost.get() + frames_incomplete.get() +
         frames_without_data.get() + pool_exhausted.get() + face_resyncs.get() + periods_skipped.get();
}

nlohmann::ordered_json to_json(const ReceiveCounters& counters) {
  nlohmann::ordered_json j;
#define LARSEL_COUNTER_TO_JSON(name, help) j[#name] = counters.name.get();
  LARSEL_RECEIVE_COUNTERS(LARSEL_COUNTER_TO_JSON)
#undef LARSEL_COUNTER_TO_JSON
  return j;
}

}  // namespace larsel::daq
