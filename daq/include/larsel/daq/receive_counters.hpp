#pragma once
// Counters of the receive path, one per outcome, named after what they count
// (DUNE-DAQ readoutlibs style: never merge two loss mechanisms in one number).
// Each counter has a single writer (the receiving thread) and any number of
// readers, so increments are a relaxed load + store, not a locked RMW.
#include <atomic>
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

#include "larsel/monitoring/counter.hpp"

namespace larsel::daq {

using monitoring::Counter;

#define LARSEL_RECEIVE_COUNTERS(X)                                                              \
  X(datagrams_received, "every datagram read from the socket")                                  \
  X(bytes_received, "their payload bytes")                                                      \
  X(datagrams_accepted, "datagrams whose samples went into a frame")                            \
  X(malformed_size, "datagrams whose length is not 7200 bytes")                                 \
  X(malformed_header, "bad DAQEth version, det_id or stream_id bits")                           \
  X(unknown_stream, "valid header but (crate, slot, stream) not in the channel map")            \
  X(duplicate, "same stream and timestamp seen before")                                         \
  X(out_of_order, "older than the stream's newest frame, still placed in its image")            \
  X(late, "arrived after its image was emitted (or a window behind); not used")                 \
  X(seq_gap, "forward jumps of a stream's seq_id/timestamp by more than one frame")             \
  X(seq_id_mismatch, "seq_id disagrees with the timestamp step (mod 4096)")                     \
  X(timestamp_misaligned, "timestamp off the face's 2048-tick grid")                            \
  X(timestamp_jump, "timestamp beyond the open window ahead; dropped unless confirmed (resync)") \
  X(stream_frames_lost, "stream contributions missing from emitted images")                     \
  X(frames_complete, "images emitted with all 20 streams")                                      \
  X(frames_incomplete, "images emitted after the timeout with streams missing")                 \
  X(frames_without_data, "image periods skipped because no stream delivered anything")          \
  X(pool_exhausted, "datagrams dropped because no free frame was in the pool")                \
  X(face_resyncs, "faces moved to a new timeline confirmed by 3 datagrams")                     \
  X(periods_skipped, "image periods a resync ahead on the same grid passed over (<= 10 s)")

struct ReceiveCounters {
#define LARSEL_DECLARE_COUNTER(name, help) Counter name;
  LARSEL_RECEIVE_COUNTERS(LARSEL_DECLARE_COUNTER)
#undef LARSEL_DECLARE_COUNTER

  /// Sum of every anomaly counter (all but the received/accepted/complete ones).
  [[nodiscard]] std::uint64_t anomalies() const noexcept;
};

/// {"datagrams_received": n, ...} in declaration order.
nlohmann::ordered_json to_json(const ReceiveCounters& counters);

}  // namespace larsel::daq
