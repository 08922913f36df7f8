#pragma once
// larsel bench infer: per-frame inference time on one core of the backends
// that score a frame — the FPGA software twin, the float network, and OpenCV
// dnn running the ONNX export of the same float network — in the same run.
#include <string>

#include <nlohmann/json.hpp>

namespace larsel::bench {

struct InferBenchOptions {
  std::string model_path = "models/default-model.h5";  // a quantized model (larsel compress)
  unsigned frames = 3000;                               // timed one by one, per backend
};

nlohmann::ordered_json run_infer_bench(const InferBenchOptions& options);

}  // namespace larsel::bench
