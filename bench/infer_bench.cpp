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
#include <memory>
#include <optional>

#if LARSEL_HAVE_OPENCV_DNN
#include <opencv2/dnn.hpp>
#endif
#include <fmt/format.h>

#include "bench_kernel_sets.hpp"
#include "larsel/bench/bench_stats.hpp"
#include "larsel/core/data_path.hpp"
#include "larsel/core/kernel_set.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/fpga/backend.hpp"
#include "larsel/fpga/hls_export.hpp"
#include "larsel/fpga/twin.hpp"
#include "larsel/models/fixed_point_inference.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/models/onnx_export.hpp"
#include "larsel/pipeline/model_setup.hpp"
#include "larsel/preprocess/preprocessor.hpp"

namespace larsel::bench {
namespace {

using daq::Frame;

struct BenchFrames {
  std::vector<std::uint16_t> adc;     // raw frames, distinct x 30720
  std::vector<std::uint8_t> images;   // their preprocessed CNN inputs, distinct x image size
  // The same images with a pixel of at least 1 in every row: no row is as in an empty frame, so the twin
  // computes all of them (its worst case; a frame's rows are mostly empty, and the twin skips those).
  std::vector<std::uint8_t> busy_images;
  std::size_t distinct = 0, image_size = 0;
  [[nodiscard]] preprocess::FrameAdc raw(std::size_t i) const { return preprocess::FrameAdc(adc.data() + (i % distinct) * Frame::kPixels, Frame::kPixels); }
  [[nodiscard]] std::span<const std::uint8_t> image(std::size_t i) const { return {images.data() + (i % distinct) * image_size, image_size}; }
  [[nodiscard]] std::span<const std::uint8_t> busy_image(std::size_t i) const { return {busy_images.data() + (i % distinct) * image_size, image_size}; }
};

/// Every row of each image (channel 0) given a pixel >= 1, at a column that moves from row to row.
std::vector<std::uint8_t> busy_copies(const std::vector<std::uint8_t>& images, models::Shape shape) {
  std::vector<std::uint8_t> busy = images;
  const auto width = static_cast<std::size_t>(shape.width), rows = static_cast<std::size_t>(shape.height), size = shape.size();
  for (std::size_t i = 0; i + size <= busy.size(); i += size) {
    for (std::size_t r = 0; r < rows; ++r) {
      std::uint8_t& pixel = busy[i + r * width + (r * 5 + i / size) % width];
      pixel = std::max<std::uint8_t>(pixel, 1);
    }
  }
  return busy;
}

BenchFrames simulate_frames(const models::ModelFile& file, std::size_t distinct) {
  BenchFrames f;
  f.distinct = distinct, f.image_size = file.model.input_shape().size();
  f.adc.resize(distinct * Frame::kPixels), f.images.resize(distinct * f.image_size);
  daq::sim::FrameSimulator sim(daq::sim::SimConfig{}, 20261122);
  preprocess::Preprocessor pre(pipeline::model_preprocess_config(file, "the model file"));
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
  f.busy_images = busy_copies(f.images, file.model.input_shape());
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

#if LARSEL_HAVE_OPENCV_DNN
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
#endif

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

/// The goals of issue 17 for a kernel set's twin (and issue 7's for preprocess + twin with AVX-512); none for
/// the baseline, which is there for CPUs without AVX2.
nlohmann::ordered_json goals_for(core::KernelSet set) {
  using core::KernelSet;
  if (set == KernelSet::baseline) return nlohmann::ordered_json::object();
  nlohmann::ordered_json g;
  g["twin_median_us_max"] = set == KernelSet::avx2 ? 6.0 : 3.5;
  g["opencv_dnn_over_twin_min"] = 10.0;
  if (set != KernelSet::avx2) g["preprocess_plus_twin_median_us_max"] = 8.0;
  return g;
}

/// The timed entries of one kernel set.
struct SetTimings {
  const Timed& twin;
  const Timed& busy;
  const Timed& pre;
  const Timed& combined;
};

/// One kernel set's figures: its twin, preprocess and both together, the same-run ratios to OpenCV dnn (pooled,
/// and per round: both timed back to back) and how many rounds met each goal.
nlohmann::ordered_json kernel_set_summary(core::KernelSet set, const SetTimings& t, const Timed* dnn, const std::string& twin_kernel,
                                          const std::string& pre_kernel) {
  nlohmann::ordered_json j;
  const auto add = [&](const char* key, const Timed& timed) {
    j[key] = summary(timed.us);
    j[key]["round_medians_us"] = timed.round_medians;
  };
  add("twin", t.twin);
  j["twin"]["kernel"] = twin_kernel;
  add("twin_every_row_busy", t.busy);
  add("preprocess", t.pre);
  j["preprocess"]["kernel"] = pre_kernel;
  add("preprocess_plus_twin", t.combined);
  std::vector<double> ratios;
  if (dnn != nullptr) {  // null: a build without OpenCV dnn or ONNX export
    for (std::size_t k = 0; k < t.twin.round_medians.size(); ++k) ratios.push_back(dnn->round_medians[k] / t.twin.round_medians[k]);
    j["opencv_dnn_over_twin_median"] = quantile(dnn->us, 0.5) / quantile(t.twin.us, 0.5);
    j["opencv_dnn_over_twin_per_round"] = ratios;
  }
  const nlohmann::ordered_json goals = goals_for(set);
  j["goals"] = goals;
  if (goals.empty()) return j;
  const auto count = [](const std::vector<double>& v, auto met) { return std::count_if(v.begin(), v.end(), met); };
  const double twin_max = goals["twin_median_us_max"].get<double>(), ratio_min = goals["opencv_dnn_over_twin_min"].get<double>();
  j["rounds_meeting_goal"]["twin_median"] = count(t.twin.round_medians, [&](double us) { return us <= twin_max; });
  if (dnn != nullptr) j["rounds_meeting_goal"]["opencv_dnn_over_twin"] = count(ratios, [&](double r) { return r >= ratio_min; });
  if (goals.contains("preprocess_plus_twin_median_us_max")) {
    const double max = goals["preprocess_plus_twin_median_us_max"].get<double>();
    j["rounds_meeting_goal"]["preprocess_plus_twin_median"] = count(t.combined.round_medians, [&](double us) { return us <= max; });
  }
  return j;
}

/// A kernel set's twin and preprocessor.
struct KernelSetRun {
  core::KernelSet set;
  fpga::Twin twin;
  preprocess::Preprocessor pre;
  std::vector<std::uint8_t> image;
};

/// Per kernel set: its twin, twin on busy frames, preprocess, and preprocess + twin: timed entries 4s .. 4s + 3.
constexpr std::size_t kEntriesPerSet = 4;
void add_kernel_set_entries(KernelSetRun& k, const BenchFrames& frames, float& sink, std::vector<Timed>& timed) {
  const preprocess::FrameOutputs outputs{k.image, {}, {}};
  timed.push_back({"twin", [&k, &frames, &sink](std::size_t i) { sink += static_cast<float>(k.twin.raw_logit(frames.image(i))); }});
  timed.push_back({"twin_every_row_busy", [&k, &frames, &sink](std::size_t i) { sink += static_cast<float>(k.twin.raw_logit(frames.busy_image(i))); }});
  timed.push_back({"preprocess", [&k, &frames, &sink, outputs](std::size_t i) {
                     k.pre.process(frames.raw(i), outputs);
                     sink += k.image[0];
                   }});
  timed.push_back({"preprocess_plus_twin", [&k, &frames, &sink, outputs](std::size_t i) {
                     k.pre.process(frames.raw(i), outputs);
                     sink += static_cast<float>(k.twin.raw_logit(k.image));
                   }});
}

/// The kernel set's twin against the integer reference (models::FixedPointInference) on every distinct frame,
/// as simulated and with every row busy: the frames whose raw logits differ (none, for a correct kernel).
nlohmann::ordered_json exactness(KernelSetRun& k, const models::FixedPointInference& reference, const BenchFrames& frames) {
  fpga::Twin twin = k.twin;  // its own buffers: the timed one's frame-to-frame state is left alone
  std::size_t differ = 0;
  for (std::size_t i = 0; i < frames.distinct; ++i) {
    for (const std::span<const std::uint8_t> image : {frames.image(i), frames.busy_image(i)}) differ += twin.raw_logit(image) != reference.raw_logit(image);
  }
  return {{"frames", 2 * frames.distinct}, {"differ", differ}};
}

nlohmann::ordered_json summary_with_rounds(const Timed& t) {
  nlohmann::ordered_json j = summary(t.us);
  j["round_medians_us"] = t.round_medians;
  return j;
}

}  // namespace

nlohmann::ordered_json run_infer_bench(const InferBenchOptions& o) {
  const std::string model_path = core::find_data_file(o.model_path).string();
  models::ModelFile file = models::load_model(model_path);
  const std::vector<core::KernelSet> sets = kernel_sets_to_time(o.kernel_sets, "bench infer");
  const BenchFrames frames = simulate_frames(file, std::max(1u, o.distinct_frames));
  float sink = 0;
  std::vector<std::unique_ptr<KernelSetRun>> runs;
  std::vector<Timed> timed;  // per kernel set: add_kernel_set_entries; then float, OpenCV dnn
  for (const core::KernelSet set : sets) {
    runs.push_back(std::make_unique<KernelSetRun>(KernelSetRun{set, fpga::Twin(file.model, set),
                                                               preprocess::Preprocessor(pipeline::model_preprocess_config(file, model_path), set),
                                                               std::vector<std::uint8_t>(frames.image_size)}));
    add_kernel_set_entries(*runs.back(), frames, sink, timed);
  }
  fpga::BackendOptions float_options;
  float_options.kind = "float";
  auto reference = fpga::make_backend(float_options, file.model);
  double logit = 0;
  timed.push_back({"float", [&](std::size_t i) {
                     reference->infer(frames.image(i), std::span(&logit, 1));
                     sink += static_cast<float>(logit);
                   }});
#if LARSEL_HAVE_OPENCV_DNN
  OpencvDnn dnn(file);
  timed.push_back({"opencv_dnn_onnx", [&](std::size_t i) { sink += dnn.score(frames.image(i)); }});
  constexpr bool with_dnn = true;
#else
  constexpr bool with_dnn = false;
#endif
  // Rounds interleave the backends, so a change of the shared machine's speed
  // shows up in every backend's round medians rather than in one backend only.
  for (unsigned round = 0; round < std::max(1u, o.rounds); ++round) {
    for (Timed& t : timed) {
      const std::vector<double> us = per_frame_us(o.frames, frames.distinct, t.score);
      t.round_medians.push_back(quantile(us, 0.5));
      t.us.insert(t.us.end(), us.begin(), us.end());
    }
  }
  const Timed& float_timed = timed[kEntriesPerSet * runs.size()];
  const Timed* dnn_timed = with_dnn ? &timed.back() : nullptr;
  nlohmann::ordered_json j;
  j["model"] = model_path;
  j["multiply_accumulates_per_frame"] = file.model.network().multiply_accumulates();
  j["frame_period_us"] = 32.768;
  j["frames"] = fmt::format("{} simulated frames (1 in 4 with a neutrino), preprocessed with the model's configuration, cycled", frames.distinct);
  j["rounds"] = std::max(1u, o.rounds);
  const models::FixedPointInference integer_reference(file.model);
  bool exact = true;
  for (std::size_t s = 0; s < runs.size(); ++s) {
    const std::size_t e = kEntriesPerSet * s;
    const SetTimings t{timed[e], timed[e + 1], timed[e + 2], timed[e + 3]};
    nlohmann::ordered_json& k = j["kernel_sets"][std::string(core::name(runs[s]->set))];
    k = kernel_set_summary(runs[s]->set, t, dnn_timed, runs[s]->twin.kernel_name(), runs[s]->pre.kernel_name());
    k["bit_exact_with_integer_reference"] = exactness(*runs[s], integer_reference, frames);
    exact = exact && k["bit_exact_with_integer_reference"]["differ"] == 0;
  }
  j["every_twin_bit_exact"] = exact;
  j["float"] = summary_with_rounds(float_timed);
  if (dnn_timed != nullptr) {
    j["opencv_dnn_onnx"] = summary_with_rounds(*dnn_timed);
  } else {
    j["opencv_dnn_onnx"] = "not built: OpenCV dnn (libopencv-dnn-dev) or ONNX export (libonnx-dev) missing";
  }
  const double fastest_twin = quantile(timed[0].us, 0.5);  // the highest kernel set's
  j["float_over_fastest_twin_median"] = quantile(float_timed.us, 0.5) / fastest_twin;
  if (o.csim) {
    j["csim"] = summary(time_csim(file, frames, o.csim_frames, sink));
    j["csim_over_fastest_twin_median"] = j["csim"]["median_us"].get<double>() / fastest_twin;
  }
  j["checksum"] = sink;  // keeps the work from being optimised away
  return j;
}

}  // namespace larsel::bench
