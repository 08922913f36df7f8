// Per-frame latency of each inference backend on one core, on simulated frames
// (1 in 4 with a supernova-like neutrino) preprocessed with the model's own
// configuration. Every frame is timed alone (batch 1, as in the stream);
// medians and 99th percentiles are quoted, and ratios are taken between
// backends measured in this same run, in rounds that interleave them.
#include "larsel/bench/infer_bench.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string_view>
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

/// OpenCV dnn running the ONNX export of the model's float network (the export is read back and deleted).
struct OpencvDnn {
  cv::dnn::Net net;
  cv::Mat blob;

  explicit OpencvDnn(models::ModelFile& file) {
    models::Architecture a = file.model.architecture();
    for (auto& spec : a.layers) spec.quantization.reset();
    models::Model network(a, file.model.input_shape(), 0);
    network.copy_state_from(file.model);
    const std::filesystem::path onnx = std::filesystem::temp_directory_path() / fmt::format("larsel-bench-{}.onnx", ::getpid());
    models::export_onnx(network.network(), a.input_scale, onnx, "larsel bench infer");
    net = cv::dnn::readNetFromONNX(onnx.string());
    std::filesystem::remove(onnx);
    const models::Shape shape = file.model.input_shape();
    const int dims[4] = {1, 1, shape.height, shape.width};
    blob = cv::Mat(4, dims, CV_32F);
  }
  float score(std::span<const std::uint8_t> image) {
    std::transform(image.begin(), image.end(), blob.ptr<float>(), [](std::uint8_t p) { return static_cast<float>(p); });
    net.setInput(blob);
    return net.forward().ptr<float>()[0];
  }
};

/// One timed backend: its per-frame times, pooled over the rounds, and each round's median.
struct Timed {
  const char* name;
  std::function<void(std::size_t)> score;
  std::vector<double> us{}, round_medians{};
};

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

/// Same-run ratios (pooled, and per round: both backends timed back to back)
/// and how many rounds met each goal.
void add_ratios_and_goals(nlohmann::ordered_json& j, const std::vector<Timed>& timed) {
  const auto find = [&](std::string_view name) -> const Timed& {
    return *std::find_if(timed.begin(), timed.end(), [&](const Timed& t) { return name == t.name; });
  };
  const Timed &twin = find("twin"), &dnn = find("opencv_dnn_onnx"), &fp = find("float"), &combined = find("preprocess_plus_twin");
  const auto per_round = [&](const Timed& slow) {
    std::vector<double> r;
    for (std::size_t k = 0; k < twin.round_medians.size(); ++k) r.push_back(slow.round_medians[k] / twin.round_medians[k]);
    return r;
  };
  j["opencv_dnn_over_twin_median"] = quantile(dnn.us, 0.5) / quantile(twin.us, 0.5);
  j["opencv_dnn_over_twin_per_round"] = per_round(dnn);
  j["float_over_twin_median"] = quantile(fp.us, 0.5) / quantile(twin.us, 0.5);
  if (j.contains("csim")) j["csim_over_twin_median"] = j["csim"]["median_us"].get<double>() / quantile(twin.us, 0.5);
  constexpr double kTwinMax = 5.0, kDnnRatioMin = 10.0, kCombinedMax = 8.0;
  j["goals"] = {{"twin_median_us_max", kTwinMax}, {"opencv_dnn_over_twin_min", kDnnRatioMin}, {"preprocess_plus_twin_median_us_max", kCombinedMax}};
  const auto count = [](const std::vector<double>& v, auto met) { return std::count_if(v.begin(), v.end(), met); };
  j["rounds_meeting_goal"] = {
      {"twin_median", count(twin.round_medians, [&](double us) { return us <= kTwinMax; })},
      {"opencv_dnn_over_twin", count(per_round(dnn), [&](double r) { return r >= kDnnRatioMin; })},
      {"preprocess_plus_twin_median", count(combined.round_medians, [&](double us) { return us <= kCombinedMax; })}};
}

}  // namespace

nlohmann::ordered_json run_infer_bench(const InferBenchOptions& o) {
  models::ModelFile file = models::load_model(o.model_path);
  fpga::Twin twin(file.model);
  const BenchFrames frames = simulate_frames(file, std::max(1u, o.distinct_frames));
  float sink = 0;
  preprocess::Preprocessor pre(file.preprocess_config());
  std::vector<std::uint8_t> image(frames.image_size);
  const preprocess::FrameOutputs outputs{image, {}, {}};
  fpga::BackendOptions float_options;
  float_options.kind = "float";
  auto reference = fpga::make_backend(float_options, file.model);
  OpencvDnn dnn(file);
  double logit = 0;
  std::vector<Timed> timed;
  timed.push_back({"twin", [&](std::size_t i) { sink += static_cast<float>(twin.raw_logit(frames.image(i))); }});
  timed.push_back({"preprocess", [&](std::size_t i) { pre.process(frames.raw(i), outputs); sink += image[0]; }});
  timed.push_back({"preprocess_plus_twin", [&](std::size_t i) {
                     pre.process(frames.raw(i), outputs);
                     sink += static_cast<float>(twin.raw_logit(image));
                   }});
  timed.push_back({"float", [&](std::size_t i) {
                     reference->infer(frames.image(i), std::span(&logit, 1));
                     sink += static_cast<float>(logit);
                   }});
  timed.push_back({"opencv_dnn_onnx", [&](std::size_t i) { sink += dnn.score(frames.image(i)); }});
  // Rounds interleave the backends, so a change of the shared machine's speed
  // shows up in every backend's round medians rather than in one backend only.
  for (unsigned round = 0; round < std::max(1u, o.rounds); ++round) {
    for (Timed& t : timed) {
      const std::vector<double> us = per_frame_us(o.frames, frames.distinct, t.score);
      t.round_medians.push_back(quantile(us, 0.5));
      t.us.insert(t.us.end(), us.begin(), us.end());
    }
  }
  nlohmann::ordered_json j;
  j["model"] = o.model_path;
  j["multiply_accumulates_per_frame"] = file.model.network().multiply_accumulates();
  j["frame_period_us"] = 32.768;
  j["frames"] = fmt::format("{} simulated frames (1 in 4 with a neutrino), preprocessed with the model's configuration, cycled", frames.distinct);
  j["rounds"] = std::max(1u, o.rounds);
  for (const Timed& t : timed) {
    j[t.name] = summary(t.us);
    j[t.name]["round_medians_us"] = t.round_medians;
  }
  if (o.csim) j["csim"] = summary(time_csim(file, frames, o.csim_frames, sink));
  add_ratios_and_goals(j, timed);
  j["checksum"] = sink;  // keeps the work from being optimised away
  return j;
}

}  // namespace larsel::bench
