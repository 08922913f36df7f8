#pragma once
// `larsel bench pipeline`: the highest frame rate the whole pipeline
// (preprocess -> twin -> selection -> ZeroMQ -> HDF5) sustains with zero loss,
// as a multiple of one APA face's real-time rate (30,517.6 frames/s).
//  - in-process input: a capacity probe (emulator unpaced, the pipeline sets
//    the pace), then paced trials of `seconds` each from 95 % of that capacity
//    down in steps of 10 % until one loses nothing;
//  - udp input: the emulator sends WIBEth over loopback; paced trials from the
//    bare receive loop's lossless rate (measured in the same run) downwards;
//    the figure is the ratio of the two.
#include <nlohmann/json.hpp>

namespace larsel::bench {

struct PipelineBenchOptions {
  double seconds = 60;          // per confirmation trial
  double probe_seconds = 10;    // in-process capacity probe
  unsigned max_trials = 5;      // paced trials per input
  bool in_process = true;
  bool udp = true;
  unsigned workers = 1;
};

nlohmann::ordered_json run_pipeline_bench(const PipelineBenchOptions& options);

}  // namespace larsel::bench
