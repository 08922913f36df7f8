#include "larsel/bench/simulate_bench.hpp"

#include <chrono>
#include <filesystem>
#include <random>

#include "larsel/bench/bench_stats.hpp"
#include "larsel/daq/sim/dataset.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"

namespace larsel::bench {
namespace {

using Clock = std::chrono::steady_clock;
using daq::Frame;
using daq::sim::FrameLabel;

/// Frames per second of one simulator on this thread, per repeat.
std::vector<double> frames_per_second(daq::sim::FrameSimulator& sim, FrameLabel label, unsigned frames, unsigned repeats) {
  std::vector<std::uint16_t> pixels(Frame::kPixels);
  daq::sim::FrameTruth truth;
  std::vector<double> rates;
  std::uint64_t index = label == FrameLabel::signal ? 1'000'000 : 0;
  for (unsigned r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    for (unsigned i = 0; i < frames; ++i) {
      sim.simulate(index++, label, std::span<std::uint16_t, Frame::kPixels>(pixels.data(), Frame::kPixels), truth);
    }
    rates.push_back(frames / std::chrono::duration<double>(Clock::now() - start).count());
  }
  return rates;
}

nlohmann::ordered_json bench_writer(daq::sim::FrameSimulator& sim, unsigned frames) {
  const auto path = std::filesystem::temp_directory_path() / ("larsel-bench-" + std::to_string(std::random_device{}()) + ".h5");
  std::vector<std::uint16_t> pixels(frames * Frame::kPixels);
  std::vector<daq::sim::FrameTruth> truth(frames);
  for (unsigned i = 0; i < frames; ++i) {
    sim.simulate(i, FrameLabel::background, std::span<std::uint16_t, Frame::kPixels>(pixels.data() + i * Frame::kPixels, Frame::kPixels), truth[i]);
  }
  const auto start = Clock::now();
  {
    daq::sim::DatasetWriter writer(path, "", 1);
    for (unsigned i = 0; i < frames; ++i) {
      writer.append(std::span<const std::uint16_t, Frame::kPixels>(pixels.data() + i * Frame::kPixels, Frame::kPixels), truth[i]);
    }
    writer.close();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto bytes = std::filesystem::file_size(path);
  std::filesystem::remove(path);
  return {{"frames", frames}, {"frames_per_second", frames / seconds},
          {"compressed_bytes_per_frame", static_cast<double>(bytes) / frames},
          {"raw_bytes_per_frame", Frame::kPixels * 2}};
}

}  // namespace

nlohmann::ordered_json run_simulate_bench(const SimulateBenchOptions& o) {
  daq::sim::FrameSimulator sim(daq::sim::SimConfig{}, 12345);
  const auto background = frames_per_second(sim, FrameLabel::background, o.background_frames, o.repeats);
  const auto signal = frames_per_second(sim, FrameLabel::signal, o.signal_frames, o.repeats);
  nlohmann::ordered_json j;
  j["benchmark"] = "simulate";
  j["threads"] = 1;
  j["background_frames_per_second"] = describe(background);
  j["signal_frames_per_second"] = describe(signal);
  j["goal_background_frames_per_second_per_core"] = 10000;
  if (o.include_writer) j["hdf5_writer"] = bench_writer(sim, o.background_frames);
  return j;
}

}  // namespace larsel::bench
