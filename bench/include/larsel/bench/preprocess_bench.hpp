#pragma once
// `larsel bench preprocess`: time per frame of the denoise + downsize stage on
// one core, scalar reference and optimised kernel, next to a plain read of the
// same frame from memory measured in the same run (interleaved, so both see
// the same cache and machine conditions). Frames come from a ring larger than
// L2 so each is read from L3/DRAM, as a frame arriving from the builder would be.
#include <string>

#include <nlohmann/json.hpp>

namespace larsel::bench {

struct PreprocessBenchOptions {
  std::string config_path;       // YAML; built-in defaults when empty
  unsigned distinct_frames = 96; // simulated frames (1 in 4 signal), repeated around the ring
  unsigned ring_frames = 256;    // 15.7 MB of frames
  unsigned iterations = 20000;   // timed frames per implementation
  unsigned variant_iterations = 4000;  // per configuration variant (cost of each optional step)
  bool variants = true;
};

nlohmann::ordered_json run_preprocess_bench(const PreprocessBenchOptions& options);

}  // namespace larsel::bench
