// Per-frame latency of each inference backend on one core, on simulated frames
// (1 in 4 with a supernova-like neutrino) preprocessed with the model's own
// configuration. Every frame is timed alone (batch 1, as in the stream);
// medians and 99th percentiles are quoted, and ratios are taken between
// backends measured in this same run.
#include "larsel/bench/infer_bench.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <opencv2/dnn.hpp>
#include <fmt/format.h>

#include "larsel/bench/bench_stats.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/fpga/backend.hpp"
#include "larsel/fpga/hls_export.hpp"
#include "larsel/fpga/twin.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/models/onnx_export.hpp"
#include "larsel/preprocess/preprocessor.hpp"

namespace larsel::bench {
namespace {

using daq::Frame;

struct BenchFrames {
  std::vector<std::uint16_t> adc;     // raw frames, distinct x 30720
  std::vector<std::uint8_t> images;   // their preprocessed CNN inputs, distinct x image size
  std::size_t distinct = 0, image_size = 0;
  [[nodiscard]] preprocess::FrameAdc raw(std::size_t i) const { return preprocess::FrameAdc(adc.data() + (i % distinct) * Frame::kPixels, Frame::kPixels); }
  [[nodiscard]] std::span<const std::uint8_t> image(std::size_t i) const { return {images.data() + (i % distinct) * image_size, image_size}; }
};

BenchFrames simulate_frames(const models::ModelFile& file, std::size_t distinct) {
  BenchFrames f;
  f.distinct = distinct, f.image_size = file.model.input_shape().size();
  f.adc.resize(distinct * Frame::kPixels), f.images.resize(distinct * f.image_size);
  daq::sim::FrameSimulator sim(daq::sim::SimConfig{}, 20261122);
  preprocess::Preprocessor pre(file.preprocess_config());
  daq::sim::FrameTruth truth;
  std::vector<std::uint16_t> warmup(Frame::kPixels);
  for (std::size_t i = 0; i < 32; ++i) {  // settle the pedestal and noise estimates on background first
    sim.simulate(1'000'000 + i, daq::sim::FrameLabel::background, std::span<std::uint16_t, Frame::kPixels>(warmup.data(), Frame::kPixels), truth);
    pre.process(preprocess::FrameAdc(warmup.data(), Frame::kPixels), {std::span<std::uint8_t>(f.images.data(), f.image_size), {}, {}});
  }
  for (std::size_t i = 0; i < distinct; ++i) {
    const auto label = i % 4 == 0 ? daq::sim::FrameLabel::signal : daq::sim::FrameLabel::background;
    sim.simulate(i, label, std::span<std::uint16_t, Frame::kPixels>(f.adc.data() + i * Frame::kPixels, Frame::kPixels), truth);
    pre.process(f.raw(i), {std::span<std::uint8_t>(f.images.data() + i * f.image_size, f.image_size), {}, {}});
  }
  return f;
}

/// Microseconds of `score(i)` for frames 0..count-1, after one untimed pass over the distinct frames.
template <typename Score>
std::vector<double> per_frame_us(std::size_t count, std::size_t warmup, Score&& score) {
  for (std::size_t i = 0; i < warmup; ++i) score(i);
  std::vector<double> us;
  us.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    score(i);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  return us;
}

nlohmann::ordered_json summary(const std::vector<double>& us) {
  return {{"median_us", quantile(us, 0.5)}, {"p99_us", quantile(us, 0.99)}, {"frames", us.size()}};
}

std::vector<double> time_opencv_dnn(models::ModelFile& file, const BenchFrames& frames, std::size_t count, float& sink) {
  models::Architecture a = file.model.architecture();
  for (auto& spec : a.layers) spec.quantization.reset();
  models::Model network(a, file.model.input_shape(), 0);
  network.copy_state_from(file.model);
  const std::filesystem::path onnx = std::filesystem::temp_directory_path() / fmt::format("larsel-bench-{}.onnx", ::getpid());
  models::export_onnx(network.network(), a.input_scale, onnx, "larsel bench infer");
  cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx.string());
  std::filesystem::remove(onnx);
  const models::Shape shape = file.model.input_shape();
  const int dims[4] = {1, 1, shape.height, shape.width};
  cv::Mat blob(4, dims, CV_32F);
  return per_frame_us(count, frames.distinct, [&](std::size_t i) {
    const auto image = frames.image(i);
    std::transform(image.begin(), image.end(), blob.ptr<float>(), [](std::uint8_t p) { return static_cast<float>(p); });
    net.setInput(blob);
    sink += net.forward().ptr<float>()[0];
  });
}

/// The C simulation of the generated kernel, exported to a temporary project and compiled with g++.
std::vector<double> time_csim(models::ModelFile& file, const BenchFrames& frames, std::size_t count, float& sink) {
  const std::filesystem::path project = std::filesystem::temp_directory_path() / fmt::format("larsel-bench-hls-{}", ::getpid());
  fpga::HlsExportOptions hls;
  hls.out = project;
  fpga::export_hls_project(file.model, hls, std::span(frames.images).first(frames.image_size));
  fpga::BackendOptions options;
  options.kind = "csim", options.hls_project = project;
  std::vector<double> us;
  try {
    auto csim = fpga::make_backend(options, file.model);
    double logit = 0;
    us = per_frame_us(count, 1, [&](std::size_t i) {
      csim->infer(frames.image(i), std::span(&logit, 1));
      sink += static_cast<float>(logit);
    });
  } catch (...) {
    std::filesystem::remove_all(project);
    throw;
  }
  std::filesystem::remove_all(project);
  return us;
}

}  // namespace

nlohmann::ordered_json run_infer_bench(const InferBenchOptions& o) {
  models::ModelFile file = models::load_model(o.model_path);
  fpga::Twin twin(file.model);
  const BenchFrames frames = simulate_frames(file, std::max(1u, o.distinct_frames));
  float sink = 0;
  const auto twin_us = per_frame_us(o.frames, frames.distinct, [&](std::size_t i) { sink += static_cast<float>(twin.raw_logit(frames.image(i))); });
  preprocess::Preprocessor pre(file.preprocess_config());
  std::vector<std::uint8_t> image(frames.image_size);
  const preprocess::FrameOutputs outputs{image, {}, {}};
  const auto pre_us = per_frame_us(o.frames, frames.distinct, [&](std::size_t i) { pre.process(frames.raw(i), outputs); sink += image[0]; });
  const auto pre_twin_us = per_frame_us(o.frames, frames.distinct, [&](std::size_t i) {
    pre.process(frames.raw(i), outputs);
    sink += static_cast<float>(twin.raw_logit(image));
  });
  fpga::BackendOptions float_options;
  float_options.kind = "float";
  auto reference = fpga::make_backend(float_options, file.model);
  double logit = 0;
  const auto float_us = per_frame_us(o.frames, frames.distinct, [&](std::size_t i) {
    reference->infer(frames.image(i), std::span(&logit, 1));
    sink += static_cast<float>(logit);
  });
  const auto dnn_us = time_opencv_dnn(file, frames, o.frames, sink);
  nlohmann::ordered_json j;
  j["model"] = o.model_path;
  j["multiply_accumulates_per_frame"] = file.model.network().multiply_accumulates();
  j["frame_period_us"] = 32.768;
  j["frames"] = fmt::format("{} simulated frames (1 in 4 with a neutrino), preprocessed with the model's configuration, cycled", frames.distinct);
  j["twin"] = summary(twin_us);
  j["preprocess"] = summary(pre_us);
  j["preprocess_plus_twin"] = summary(pre_twin_us);
  j["float"] = summary(float_us);
  j["opencv_dnn_onnx"] = summary(dnn_us);
  if (o.csim) j["csim"] = summary(time_csim(file, frames, o.csim_frames, sink));
  j["opencv_dnn_over_twin_median"] = quantile(dnn_us, 0.5) / quantile(twin_us, 0.5);
  j["float_over_twin_median"] = quantile(float_us, 0.5) / quantile(twin_us, 0.5);
  if (o.csim) j["csim_over_twin_median"] = j["csim"]["median_us"].get<double>() / quantile(twin_us, 0.5);
  j["goals"] = {{"twin_median_us_max", 5.0}, {"opencv_dnn_over_twin_min", 10.0}, {"preprocess_plus_twin_median_us_max", 8.0}};
  j["checksum"] = sink;  // keeps the work from being optimised away
  return j;
}

}  // namespace larsel::bench
