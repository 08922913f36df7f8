#pragma once
// Simulate frames [0, signal + background) on several threads and hand them,
// in index order, to a consumer on the calling thread (e.g. the HDF5 writer).
// Frames 0 .. signal-1 are signal frames, the rest background; or a continuous
// stream. Each frame depends only on (seed, index), so the output does not
// depend on the thread count.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "larsel/daq/frame.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "larsel/daq/sim/truth.hpp"

namespace larsel::daq::sim {

/// Consecutive frames [first, first + truth.size()).
struct FrameBlock {
  std::uint64_t first = 0;
  std::vector<std::uint16_t> pixels;  // truth.size() x 30720
  std::vector<FrameTruth> truth;
  std::vector<EventTruth> events;     // continuous streams: the neutrino events whose vertex is in the block
  std::vector<std::byte> encoded;     // filled by the BlockEncoder, if any
};
using BlockEncoder = std::function<void(FrameBlock&)>;        // runs on the worker threads
using BlockConsumer = std::function<void(const FrameBlock&)>;  // runs on the calling thread, in order

struct ParallelSimulationStats {
  double seconds = 0;
  double frames_per_second = 0;
};

/// Blocks are `block_frames` frames (the last may be shorter).
ParallelSimulationStats simulate_frames(const SimConfig& config, std::uint64_t seed, std::uint64_t signal,
                                        std::uint64_t background, unsigned threads, std::size_t block_frames,
                                        const BlockEncoder& encode, const BlockConsumer& consume);

/// The continuous stream `plan` (FrameSimulator::simulate_stream), block by block in order.
ParallelSimulationStats simulate_stream(const SimConfig& config, std::uint64_t seed, const StreamPlan& plan, unsigned threads,
                                        std::size_t block_frames, const BlockEncoder& encode, const BlockConsumer& consume);

}  // namespace larsel::daq::sim
