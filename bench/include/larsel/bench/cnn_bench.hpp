#pragma once
// larsel bench cnn: float CNN inference time per frame on one core.
#include <string>

#include <nlohmann/json.hpp>

namespace larsel::bench {

struct CnnBenchOptions {
  std::string model_path;  // empty: the default architecture with random weights
  unsigned repeats = 15;
  unsigned frames = 2048;  // per repeat
};

nlohmann::ordered_json run_cnn_bench(const CnnBenchOptions& options);

}  // namespace larsel::bench
