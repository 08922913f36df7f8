// The start-of-run capacity estimate (larsel/pipeline/capacity.hpp).
#include "larsel/pipeline/capacity.hpp"
#include "larsel/pipeline/model_setup.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "frame_source.hpp"
#include "larsel/daq/emulator.hpp"
#include "larsel/daq/frame_builder.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/daq/wibeth.hpp"
#include "larsel/preprocess/preprocessor.hpp"

namespace larsel::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
using daq::Frame;
constexpr std::size_t kFrames = 24;  // 1 in 4 with a neutrino, as the default emulator rate is far below
constexpr int kPasses = 3;           // the median pass is quoted

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Median over passes of the mean us per frame of `work(i)` for i < kFrames.
template <typename Work>
double us_per_frame(Work&& work) {
  std::vector<double> passes;
  for (int p = 0; p < kPasses; ++p) {
    const auto start = Clock::now();
    for (std::size_t i = 0; i < kFrames; ++i) work(i);
    passes.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kFrames);
  }
  return median_of(passes);
}

std::vector<std::uint16_t> simulate_frames(const InputConfig& input) {
  daq::sim::FrameSimulator sim(daq::sim::load_sim_config(input.sim_config), input.seed * 7919 + 17);
  std::vector<std::uint16_t> adc(kFrames * Frame::kPixels);
  daq::sim::FrameTruth truth;
  for (std::size_t i = 0; i < kFrames; ++i) {
    const auto label = i % 4 == 0 ? daq::sim::FrameLabel::signal : daq::sim::FrameLabel::background;
    sim.simulate(i, label, std::span<std::uint16_t, Frame::kPixels>(adc.data() + i * Frame::kPixels, Frame::kPixels), truth);
  }
  return adc;
}

/// us per face-frame of validating and building frames from the simulated frames' WIBEth datagrams.
double build_us(const InputConfig& input, const std::vector<std::uint16_t>& adc) {
  const daq::ChannelMap map = daq::ChannelMap::emulated(1);
  const std::uint32_t face = map.faces().front();
  std::vector<std::byte> datagrams = daq::encode_face_periods(map, face, kFrames, [&](unsigned p, daq::FaceWaveforms& w) {
    std::copy_n(adc.begin() + static_cast<std::ptrdiff_t>(p * Frame::kPixels), Frame::kPixels, w.collection.begin());
    std::fill(w.induction.begin(), w.induction.end(), std::uint16_t{9400});
  });
  daq::FramePool pool(8);
  daq::ReceiveCounters counters;
  daq::FrameBuilderConfig config = input.builder;
  daq::FrameBuilder builder(map, std::span(&face, 1), pool, counters, [](daq::FrameHandle) {}, config);
  std::uint64_t period = 0;
  return us_per_frame([&](std::size_t i) {
    const auto now = Clock::now();
    for (std::size_t s = 0; s < daq::kStreamsPerFace; ++s) {
      const daq::wibeth::MutableFrameView view(datagrams.data() + (i * daq::kStreamsPerFace + s) * daq::wibeth::kFrameBytes,
                                               daq::wibeth::kFrameBytes);
      daq::wibeth::rewrite_time(view, (1ull << 30) + period * daq::wibeth::kTicksPerFrame, static_cast<std::uint16_t>(period % 4096));
      builder.on_datagram(view, daq::wibeth::kFrameBytes, now);
    }
    ++period;
  });
}

/// Each thread's share of a core at `rate`, the total with the pipeline's own work, and the verdict.
void weigh(const PipelineConfig& config, CapacityEstimate& e) {
  const double rate = e.frames_per_second;
  std::vector<std::pair<std::string, double>> threads{{"preprocess", rate * e.preprocess_us * 1e-6}};
  const unsigned workers = std::max(1u, config.model.workers);
  threads.emplace_back(workers > 1 ? "each inference worker" : "inference", rate / workers * e.inference_us * 1e-6);
  if (config.input.kind == InputKind::udp) threads.emplace_back("udp receiver", rate * e.build_us * 1e-6);
  double total = rate * kPipelineOwnUsPerFrame * 1e-6;
  for (const auto& [name, load] : threads) {
    total += name == "each inference worker" ? load * workers : load;
    if (load > e.busiest_thread_load) e.busiest_thread = name, e.busiest_thread_load = load;
  }
  e.cores_needed = total;
  e.cores = std::max(1u, std::thread::hardware_concurrency());
  e.keeps_up = rate <= 0 || (e.busiest_thread_load <= kMaxPlannedLoad && e.cores_needed <= kMaxPlannedLoad * e.cores);
}

std::string describe(const PipelineConfig& config, const CapacityEstimate& e) {
  const std::string costs = fmt::format("preprocess {:.1f} us ({}), inference {:.1f} us ({}{}){} per frame", e.preprocess_us,
                                        e.preprocess_kernel, e.inference_us, config.model.backend,
                                        e.inference_kernel.empty() ? "" : " " + e.inference_kernel,
                                        config.input.kind == InputKind::udp ? fmt::format(", frame building {:.1f} us", e.build_us) : "");
  if (e.frames_per_second <= 0) return fmt::format("capacity: {}; unpaced input, nothing to keep up with", costs);
  const std::string load = fmt::format("at {:.0f} frames/s ({} face(s) x speed {}) the {} thread needs {:.2f} of a core, and the run "
                                       "{:.2f} of this machine's {} cores",
                                       e.frames_per_second, config.input.faces, config.input.speed, e.busiest_thread,
                                       e.busiest_thread_load, e.cores_needed, e.cores);
  if (e.keeps_up) return fmt::format("capacity: {}: {}", costs, load);
  return fmt::format("this machine cannot keep up with this configuration: {}: {} (at most {:.0f} % planned); lower input.speed or "
                     "input.faces, raise model.workers, or run on more cores",
                     costs, load, 100 * kMaxPlannedLoad);
}

}  // namespace

nlohmann::ordered_json CapacityEstimate::to_json() const {
  return {{"frames_per_second", frames_per_second},
          {"us_per_frame", {{"preprocess", preprocess_us}, {"inference", inference_us}, {"frame_building", build_us}}},
          {"kernels", {{"preprocess", preprocess_kernel}, {"inference", inference_kernel}}},
          {"busiest_thread", busiest_thread},
          {"busiest_thread_load", busiest_thread_load},
          {"cores_needed", cores_needed},
          {"cores", cores},
          {"keeps_up", keeps_up},
          {"message", message}};
}

CapacityEstimate estimate_capacity(const PipelineConfig& config, const models::ModelFile& model, fpga::InferenceBackend& backend) {
  CapacityEstimate e;
  e.frames_per_second = config.input.max_rate ? 0.0 : config.input.faces * config.input.speed * daq::wibeth::kFrameRateHz;
  const std::vector<std::uint16_t> adc = simulate_frames(config.input);
  preprocess::Preprocessor pre(model_preprocess_config(model, "the model file"));
  std::vector<std::uint8_t> images(kFrames * backend.frame_size());
  const auto preprocess_frame = [&](std::size_t i) {
    pre.process(preprocess::FrameAdc(adc.data() + i * Frame::kPixels, Frame::kPixels),
                {std::span(images).subspan(i * backend.frame_size(), backend.frame_size()), {}, {}});
  };
  for (std::size_t i = 0; i < kFrames; ++i) preprocess_frame(i);  // the pedestals settle, the caches warm
  e.preprocess_us = us_per_frame(preprocess_frame);
  e.preprocess_kernel = pre.kernel_name();
  double logit = 0;
  e.inference_us = us_per_frame([&](std::size_t i) { backend.infer(std::span(images).subspan(i * backend.frame_size(), backend.frame_size()), std::span(&logit, 1)); });
  e.inference_kernel = backend.kernel();
  if (config.input.kind == InputKind::udp) e.build_us = build_us(config.input, adc);
  weigh(config, e);
  e.message = describe(config, e);
  return e;
}

}  // namespace larsel::pipeline
