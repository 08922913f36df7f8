#include "larsel/bench/preprocess_bench.hpp"

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "larsel/bench/bench_stats.hpp"
#include "larsel/core/file_io.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "larsel/preprocess/preprocessor.hpp"
#include "memory_read.hpp"

namespace larsel::bench {
namespace {

using Clock = std::chrono::steady_clock;
using daq::Frame;
using preprocess::Implementation;
using preprocess::PreprocessConfig;

struct FrameRing {
  std::vector<std::uint16_t> adc;  // ring_frames x 30720
  std::size_t frames = 0;
  [[nodiscard]] preprocess::FrameAdc frame(std::size_t i) const {
    return preprocess::FrameAdc(adc.data() + (i % frames) * Frame::kPixels, Frame::kPixels);
  }
};

FrameRing simulate_ring(const PreprocessBenchOptions& o) {
  daq::sim::FrameSimulator sim(daq::sim::SimConfig{}, 20261122);
  FrameRing ring;
  ring.frames = o.ring_frames;
  ring.adc.resize(ring.frames * Frame::kPixels);
  daq::sim::FrameTruth truth;
  const std::size_t distinct = std::min<std::size_t>(o.distinct_frames, ring.frames);
  for (std::size_t i = 0; i < distinct; ++i) {
    const auto label = i % 4 == 0 ? daq::sim::FrameLabel::signal : daq::sim::FrameLabel::background;
    sim.simulate(i, label, std::span<std::uint16_t, Frame::kPixels>(ring.adc.data() + i * Frame::kPixels, Frame::kPixels), truth);
  }
  for (std::size_t i = distinct; i < ring.frames; ++i) {
    std::copy_n(ring.adc.begin() + static_cast<std::ptrdiff_t>((i % distinct) * Frame::kPixels), Frame::kPixels,
                ring.adc.begin() + static_cast<std::ptrdiff_t>(i * Frame::kPixels));
  }
  return ring;
}

struct Timings {
  std::vector<double> process_ns, read_ns;
};

/// Alternates timed reads of frame i and timed processing of frame i + ring/2:
/// each frame was last touched half a ring ago, so neither is cache-warm.
Timings time_frames(preprocess::Preprocessor& pre, const FrameRing& ring, unsigned iterations) {
  const ReadBytes read_frame = memory_read(core::selected_kernel_set());
  std::vector<std::uint8_t> image(pre.config().output_pixels());
  const preprocess::FrameOutputs out{image, {}, {}};
  for (std::size_t i = 0; i < ring.frames; ++i) pre.process(ring.frame(i), out);  // converge the channel state
  Timings t;
  t.process_ns.reserve(iterations);
  t.read_ns.reserve(iterations);
  volatile std::uint64_t sink = 0;
  for (std::size_t i = 0; i < iterations; ++i) {
    const auto t0 = Clock::now();
    sink = sink + read_frame(ring.frame(i).data(), ring.frame(i).size_bytes());
    const auto t1 = Clock::now();
    pre.process(ring.frame(i + ring.frames / 2), out);
    const auto t2 = Clock::now();
    t.read_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    t.process_ns.push_back(std::chrono::duration<double, std::nano>(t2 - t1).count());
  }
  return t;
}

nlohmann::ordered_json describe_ns(const std::vector<double>& ns) {
  auto j = describe(ns);
  j["p99"] = quantile(ns, 0.99);
  return j;
}

nlohmann::ordered_json measure(preprocess::Preprocessor pre, const FrameRing& ring, unsigned iterations) {
  const Timings t = time_frames(pre, ring, iterations);
  const double process = quantile(t.process_ns, 0.5), read = quantile(t.read_ns, 0.5);
  return {{"kernel", pre.kernel_name()},
          {"process_ns", describe_ns(t.process_ns)},
          {"memory_read_ns", describe_ns(t.read_ns)},
          {"median_ratio_to_memory_read", process / read}};
}

/// The default configuration with one optional step changed: what each costs.
nlohmann::ordered_json measure_variants(const PreprocessConfig& base, const FrameRing& ring, unsigned iterations) {
  struct Variant {
    const char* name;
    void (*change)(PreprocessConfig&);
  };
  const Variant variants[] = {
      {"as_configured", [](PreprocessConfig&) {}},
      {"coherent_off", [](PreprocessConfig& c) { c.coherent.enabled = false; }},
      {"fir_on", [](PreprocessConfig& c) { c.fir.enabled = true; }},
      {"min_ticks_over_2", [](PreprocessConfig& c) { c.threshold.min_ticks_over = 2; }},
      {"pedestal_frame_median", [](PreprocessConfig& c) { c.pedestal.method = preprocess::PedestalMethod::frame_median; }},
      {"sum_pool_4x2", [](PreprocessConfig& c) { c.downsize = {4, 2, preprocess::PoolMode::sum, 4}; }},
  };
  nlohmann::ordered_json j;
  for (const Variant& v : variants) {
    PreprocessConfig c = base;
    v.change(c);
    const auto m = measure(preprocess::Preprocessor(c), ring, iterations);
    j[v.name] = {{"median_ns", m["process_ns"]["median"]}, {"p99_ns", m["process_ns"]["p99"]},
                 {"median_ratio_to_memory_read", m["median_ratio_to_memory_read"]}};
  }
  return j;
}

/// Every optimised kernel the CPU can run the configuration with: the gain of
/// each instruction set and of the fused AVX-512 kernel, measured side by side.
nlohmann::ordered_json measure_kernels(const PreprocessConfig& config, const FrameRing& ring, unsigned iterations) {
  nlohmann::ordered_json j;
  for (const std::string& kernel : preprocess::Preprocessor::available_kernels(config)) {
    if (kernel == "scalar") continue;
    const auto m = measure(preprocess::Preprocessor(config, kernel), ring, iterations);
    j[kernel] = {{"median_ns", m["process_ns"]["median"]}, {"p99_ns", m["process_ns"]["p99"]},
                 {"median_ratio_to_memory_read", m["median_ratio_to_memory_read"]}};
  }
  return j;
}

PreprocessConfig load_config(const std::string& path) {
  if (path.empty()) return {};
  return preprocess::parse_preprocess_config(core::read_file(path, "the preprocess configuration"), path);
}

}  // namespace

nlohmann::ordered_json run_preprocess_bench(const PreprocessBenchOptions& o) {
  const PreprocessConfig config = load_config(o.config_path);
  const FrameRing ring = simulate_ring(o);
  auto optimised = measure(preprocess::Preprocessor(config), ring, o.iterations);
  auto scalar = measure(preprocess::Preprocessor(config, Implementation::scalar), ring, std::max(1u, o.iterations / 10));
  nlohmann::ordered_json j;
  j["what"] = "ns per 480x64 frame on one core; memory_read_ns = summing the same frame's 61 KB, interleaved in the same loop";
  j["goal_median_ns"] = 3000;
  j["ring_frames"] = ring.frames;
  j["optimised"] = optimised;
  j["scalar"] = scalar;
  j["speedup_optimised_over_scalar"] =
      scalar["process_ns"]["median"].get<double>() / optimised["process_ns"]["median"].get<double>();
  if (o.variants) {
    j["kernels"] = measure_kernels(config, ring, o.variant_iterations);
    j["variants_optimised"] = measure_variants(config, ring, o.variant_iterations);
  }
  return j;
}

}  // namespace larsel::bench
