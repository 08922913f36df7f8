#pragma once
// `larsel bench simulate`: frames per second per core of the physics
// simulation, for background and for signal frames, and of writing them to
// the HDF5 data set format.
#include <string>

#include <nlohmann/json.hpp>

namespace larsel::bench {

struct SimulateBenchOptions {
  unsigned background_frames = 3000;
  unsigned signal_frames = 300;
  unsigned repeats = 5;
  bool include_writer = true;
  std::string fixture_dir;  // ProtoDUNE-HD fixture folder: compare its collection noise with the simulation's
};

nlohmann::ordered_json run_simulate_bench(const SimulateBenchOptions& options);

}  // namespace larsel::bench
