// Float inference of the selection CNN on one core, batch 1 (a frame as it
// arrives) and batch 256 (eval), on images with the sparsity of real
// preprocessed frames (a few percent non-zero pixels; dense arithmetic does
// not care, but the data are realistic).
#include "larsel/bench/cnn_bench.hpp"

#include <chrono>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "larsel/bench/bench_stats.hpp"
#include "larsel/models/model_file.hpp"

namespace larsel::bench {
namespace {

models::ImageSet sparse_images(models::Shape shape, std::size_t count) {
  models::ImageSet set;
  set.shape = shape;
  std::mt19937 rng(1);
  set.pixels.assign(count * shape.size(), 0);
  for (auto& p : set.pixels) p = rng() % 100 < 3 ? static_cast<std::uint8_t>(rng() % 200) : 0;
  set.labels.assign(count, 0);
  set.nu_energy_mev.assign(count, 0);
  set.visible_energy_mev.assign(count, 0);
  return set;
}

/// Microseconds per frame of one pass over `indices` in batches of `batch`.
double time_pass(models::Model& model, const models::ImageSet& set, const std::vector<std::size_t>& indices, std::size_t batch) {
  models::Batch input;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t first = 0; first < indices.size(); first += batch) {
    const std::size_t n = std::min(batch, indices.size() - first);
    models::fill_batch(set, std::span(indices).subspan(first, n), model.architecture().input_scale, input);
    model.network().forward(input, false);
  }
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(indices.size());
}

}  // namespace

nlohmann::ordered_json run_cnn_bench(const CnnBenchOptions& o) {
  std::optional<models::ModelFile> file;
  if (!o.model_path.empty()) file.emplace(models::load_model(o.model_path));
  models::Model model = file ? file->model.clone() : models::Model(models::default_architecture(), {1, 120, 16}, 1);
  const models::ImageSet set = sparse_images(model.input_shape(), o.frames);
  std::vector<std::size_t> indices(o.frames);
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  nlohmann::ordered_json j;
  j["model"] = o.model_path.empty() ? "default architecture, random weights" : o.model_path;
  j["multiply_accumulates_per_frame"] = model.network().multiply_accumulates();
  j["frames_per_repeat"] = o.frames;
  j["frame_period_us"] = 32.768;
  for (const std::size_t batch : {std::size_t{1}, std::size_t{256}}) {
    std::vector<double> us;
    time_pass(model, set, indices, batch);  // warm-up
    for (unsigned r = 0; r < o.repeats; ++r) us.push_back(time_pass(model, set, indices, batch));
    const double median = quantile(us, 0.5);
    j[fmt::format("batch_{}", batch)] = {{"us_per_frame", describe(us)},
                                         {"gflops", 2.0 * static_cast<double>(model.network().multiply_accumulates()) / median / 1e3}};
  }
  return j;
}

}  // namespace larsel::bench
