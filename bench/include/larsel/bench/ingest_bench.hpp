#pragma once
// `larsel bench ingest`: what the readout input path costs.
//  - decode: WIBEth header + 14-bit unpack throughput in GB/s of packed
//    frames on one core, next to memcpy of the same bytes (same run);
//  - builder: CPU time per datagram of validation + image building, no socket;
//  - loopback: highest lossless emulate -> receive datagram rate over UDP
//    loopback for the LArSel receiver and for a bare recvmmsg loop, trial by
//    trial at the same rates, and their ratio.
#include <nlohmann/json.hpp>

namespace larsel::bench {

struct IngestBenchOptions {
  std::size_t decode_frames = 256;     // frames per decode pass (1.8 MB, cache-resident)
  unsigned decode_repeats = 31;        // passes; the median is quoted
  double trial_seconds = 1.5;          // per loopback trial
  unsigned rate_steps = 6;             // coarse rates, geometric from 1/4 of the emulator's maximum up to it
  unsigned refine_steps = 3;           // bisection steps per receiver between lossless and lossy
  /// Same for both receivers. 32 MB absorbs a ~30 ms scheduler stall at
  /// 150k datagrams/s (common on shared VMs) yet overflows within 0.6 s when a
  /// receiver is 5 % slower than the sender, so sustained overload shows in a trial.
  std::size_t socket_buffer_bytes = 32u << 20;
  bool skip_loopback = false;
};

nlohmann::ordered_json run_ingest_bench(const IngestBenchOptions& options);

}  // namespace larsel::bench
