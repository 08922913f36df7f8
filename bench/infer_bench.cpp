// Per-frame latency of each inference backend on one core, on images with the
// sparsity of preprocessed frames. Every frame is timed alone (batch 1, as in
// the stream); medians and 99th percentiles are quoted, and ratios are taken
// between backends measured in this same run.
#include "larsel/bench/infer_bench.hpp"

#include <chrono>
#include <filesystem>
#include <random>

#include <opencv2/dnn.hpp>
#include <fmt/format.h>

#include "larsel/bench/bench_stats.hpp"
#include "larsel/fpga/twin.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/models/onnx_export.hpp"

namespace larsel::bench {
namespace {

std::vector<std::vector<std::uint8_t>> sparse_frames(models::Shape shape, std::size_t count) {
  std::mt19937 rng(7);
  std::vector<std::vector<std::uint8_t>> frames(count, std::vector<std::uint8_t>(shape.size(), 0));
  for (auto& frame : frames) {
    for (auto& p : frame) p = rng() % 100 < 3 ? static_cast<std::uint8_t>(rng() % 200) : 0;
  }
  return frames;
}

/// Microseconds of `score(frame)` for every frame, after one warm-up pass.
template <typename Score>
std::vector<double> per_frame_us(const std::vector<std::vector<std::uint8_t>>& frames, Score&& score) {
  for (const auto& frame : frames) score(frame);
  std::vector<double> us;
  us.reserve(frames.size());
  for (const auto& frame : frames) {
    const auto start = std::chrono::steady_clock::now();
    score(frame);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  return us;
}

nlohmann::ordered_json summary(const std::vector<double>& us) {
  return {{"median_us", quantile(us, 0.5)}, {"p99_us", quantile(us, 0.99)}, {"frames", us.size()}};
}

/// The same architecture and (baked, fixed-point) weights with float layers: what the ONNX export holds.
models::Model float_copy(models::Model& model) {
  models::Architecture a = model.architecture();
  for (auto& spec : a.layers) spec.quantization.reset();
  models::Model copy(a, model.input_shape(), 0);
  copy.copy_state_from(model);
  return copy;
}

}  // namespace

nlohmann::ordered_json run_infer_bench(const InferBenchOptions& o) {
  models::ModelFile file = models::load_model(o.model_path);
  fpga::Twin twin(file.model);
  models::Model network = float_copy(file.model);
  const models::Shape shape = file.model.input_shape();
  const auto frames = sparse_frames(shape, o.frames);
  float sink = 0;
  const std::vector<double> twin_us = per_frame_us(frames, [&](const auto& f) { sink += static_cast<float>(twin.raw_logit(f)); });
  models::Batch input;
  input.reshape(1, shape);
  const float scale = network.architecture().input_scale;
  const std::vector<double> float_us = per_frame_us(frames, [&](const auto& f) {
    for (std::size_t p = 0; p < f.size(); ++p) input.values[p] = static_cast<float>(f[p]) * scale;
    sink += network.network().forward(input, false).values[0];
  });
  const std::filesystem::path onnx = std::filesystem::temp_directory_path() / fmt::format("larsel-bench-{}.onnx", ::getpid());
  models::export_onnx(network.network(), scale, onnx, "larsel bench infer");
  cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx.string());
  std::filesystem::remove(onnx);
  const int dims[4] = {1, 1, shape.height, shape.width};
  cv::Mat blob(4, dims, CV_32F);
  const std::vector<double> dnn_us = per_frame_us(frames, [&](const auto& f) {
    std::transform(f.begin(), f.end(), blob.ptr<float>(), [](std::uint8_t p) { return static_cast<float>(p); });
    net.setInput(blob);
    sink += net.forward().ptr<float>()[0];
  });
  nlohmann::ordered_json j;
  j["model"] = o.model_path;
  j["multiply_accumulates_per_frame"] = network.network().multiply_accumulates();
  j["frame_period_us"] = 32.768;
  j["twin"] = summary(twin_us);
  j["float"] = summary(float_us);
  j["opencv_dnn_onnx"] = summary(dnn_us);
  j["opencv_dnn_over_twin_median"] = quantile(dnn_us, 0.5) / quantile(twin_us, 0.5);
  j["float_over_twin_median"] = quantile(float_us, 0.5) / quantile(twin_us, 0.5);
  j["checksum"] = sink;  // keeps the work from being optimised away
  return j;
}

}  // namespace larsel::bench
