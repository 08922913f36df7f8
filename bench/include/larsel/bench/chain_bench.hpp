#pragma once
// larsel bench chain: the whole selection chain of one APA face on ONE thread,
// from WIBEth datagrams in memory to decisions — validation and frame building
// (with the WIBEth unpack), preprocess, the twin, the selection — in CPU
// microseconds per face-frame, per kernel set, against the 32.768 us period in
// which a face delivers a frame: under it, one core keeps up with one face.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace larsel::bench {

struct ChainBenchOptions {
  std::string model_path = "models/default-model.h5";  // a quantized model (larsel compress)
  unsigned periods = 128;                               // simulated frame periods in memory (1 in 4 with a neutrino), cycled
  unsigned frames = 20000;                              // face-frames timed per kernel set and round
  unsigned rounds = 3;                                  // each times every kernel set in turn
  std::vector<std::string> kernel_sets;                 // empty: every kernel set this CPU runs
};

nlohmann::ordered_json run_chain_bench(const ChainBenchOptions& options);

}  // namespace larsel::bench
