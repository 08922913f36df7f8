#pragma once
// larsel bench infer: per-frame inference time on one core of the backends
// that score a frame — the FPGA software twin of every kernel set the CPU runs
// (or those asked for), the float network, the C simulation of the generated
// HLS kernel, and OpenCV dnn running the ONNX export of the same float network
// — and of preprocess and preprocess + twin per kernel set, in one run, on
// simulated frames preprocessed with the model's own configuration; and checks
// every kernel set's twin against the integer reference on those frames.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace larsel::bench {

struct InferBenchOptions {
  std::string model_path = "models/default-model.h5";  // a quantized model (larsel compress)
  unsigned frames = 3000;                               // timed one by one, per backend and round
  unsigned rounds = 5;                                  // each times every backend once, in turn
  unsigned csim_frames = 100;                           // the C simulation is slow: fewer frames
  bool csim = true;                                     // export the HLS project and time its C simulation
  unsigned distinct_frames = 64;                        // simulated raw frames (1 in 4 with a neutrino), cycled
  std::vector<std::string> kernel_sets;                 // empty: every kernel set this CPU runs
};

nlohmann::ordered_json run_infer_bench(const InferBenchOptions& options);

}  // namespace larsel::bench
