#include "training_data.hpp"

#include <algorithm>
#include <array>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common.hpp"
#include "larsel/models/baseline_trigger.hpp"
#include "larsel/daq/sim/dataset.hpp"
#include "larsel/models/image_preparation.hpp"

namespace larsel::app {

using models::Split;

namespace {

/// Appends `part` as source `source` of the recipe, partial-signal frames left out. A continuous stream
/// is split in blocks of kSplitBlockFrames (an event's frames stay together), other sets frame by frame.
void add_part(SplitData& d, const models::DataRecipe& data, std::size_t source, const models::ImageSet& part,
              const std::string& name, bool continuous) {
  const std::size_t block = continuous ? models::kSplitBlockFrames : 1;
  const std::size_t first = d.set.size();
  d.set.append(part);
  std::array<std::size_t, 3> count{};
  for (std::size_t i = 0; i < part.size(); ++i) {
    ++count[std::min<std::size_t>(part.labels[i], 2)];
    if (part.labels[i] > 1) continue;  // partial: neither signal nor background only
    const Split split = models::split_of(data, source, i / block);
    (split == Split::train ? d.train : split == Split::validation ? d.validation : d.test).push_back(first + i);
  }
  spdlog::info("{}: {} frames ({} signal, {} background only, {} partial signal left out)", name, part.size(), count[1],
               count[0], count[2]);
}

}  // namespace

models::PrepareOptions prepare_options(const models::DataRecipe& data, ProgressBar& bar) {
  return {data.cache_dir, data.warmup_frames, [&bar](std::size_t done, std::size_t total) { bar.update(done, total); }, warn_cache};
}

models::ImageSet simulated_background(const models::TrainRecipe& recipe, std::uint64_t seed, std::size_t frames, unsigned threads) {
  const std::string sim_config = daq::sim::DatasetReader(recipe.data.files.front()).config_yaml();
  ProgressBar bar(fmt::format("simulate background (seed {})", seed));
  models::ImageSet set = models::simulate_background_images(sim_config, seed, frames, recipe.preprocess, threads, prepare_options(recipe.data, bar));
  bar.clear();
  return set;
}

SplitData load_data(const models::TrainRecipe& recipe) {
  SplitData d;
  for (std::size_t f = 0; f < recipe.data.files.size(); ++f) {
    const std::string& file = recipe.data.files[f];
    ProgressBar bar(fmt::format("preprocess {}", file));
    const models::ImageSet part = models::prepare_images(file, recipe.preprocess, prepare_options(recipe.data, bar));
    bar.clear();
    add_part(d, recipe.data, f, part, file, daq::sim::DatasetReader(file).continuous());
  }
  if (recipe.data.background_frames > 0) {
    add_part(d, recipe.data, recipe.data.files.size(),
             simulated_background(recipe, recipe.data.background_seed, recipe.data.background_frames, recipe.training.threads),
             fmt::format("background simulated on the fly (seed {})", recipe.data.background_seed), true);
  }
  for (const auto& [name, indices] : {std::pair{"training", &d.train}, std::pair{"validation", &d.validation}}) {
    const auto signal = std::count_if(indices->begin(), indices->end(), [&](std::size_t i) { return d.set.labels[i] == 1; });
    if (signal == 0 || signal == static_cast<std::ptrdiff_t>(indices->size())) {
      throw std::runtime_error(fmt::format("the {} split has {} signal and {} background frames; it needs both "
                                           "(more frames, or both kinds in the data sets)", name, signal,
                                           static_cast<std::ptrdiff_t>(indices->size()) - signal));
    }
  }
  spdlog::info("split (seed {}): {} training, {} validation, {} test frames", recipe.data.split_seed, d.train.size(),
               d.validation.size(), d.test.size());
  return d;
}

models::ImageSet subset(const models::ImageSet& set, std::span<const std::size_t> indices) {
  models::ImageSet out;
  out.shape = set.shape;
  out.baseline_configs = set.baseline_configs;
  out.resize(indices.size());
  const std::size_t pixels = set.shape.size();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::size_t i = indices[k];
    std::copy_n(set.pixels.begin() + static_cast<std::ptrdiff_t>(i * pixels), pixels, out.pixels.begin() + static_cast<std::ptrdiff_t>(k * pixels));
    std::copy_n(set.baseline_scores.begin() + static_cast<std::ptrdiff_t>(i * set.baseline_configs), set.baseline_configs,
                out.baseline_scores.begin() + static_cast<std::ptrdiff_t>(k * set.baseline_configs));
    out.labels[k] = set.labels[i];
    out.nu_energy_mev[k] = set.nu_energy_mev[i];
    out.visible_energy_mev[k] = set.visible_energy_mev[i];
    out.events[k] = set.events[i];
    out.background_kinds[k] = set.background_kinds[i];
  }
  return out;
}

std::size_t add_hard_negatives(SplitData& d, const models::TrainRecipe& recipe, models::Model& model) {
  const models::DataRecipe& data = recipe.data;
  if (data.hard_negatives == 0) return 0;
  const models::ImageSet pool = simulated_background(recipe, data.background_seed + 1, data.hard_negative_pool, recipe.training.threads);
  std::vector<std::size_t> all(pool.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  const std::vector<float> logits = model.logits(pool, all, recipe.training.threads);
  // The highest-scoring frames; ties broken by index, so the choice is reproducible.
  std::vector<std::size_t> order = all;
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(data.hard_negatives), order.end(),
                    [&](std::size_t a, std::size_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; });
  order.resize(data.hard_negatives);
  const float lowest = order.empty() ? 0.0f : logits[order.back()];
  std::sort(order.begin(), order.end());
  const std::size_t first = d.set.size();
  d.set.append(subset(pool, order));
  for (std::size_t k = 0; k < order.size(); ++k) d.train.push_back(first + k);
  spdlog::info("hard negatives: the {} highest-scoring of {} more background frames (logit >= {:.2f}) join the training split",
               order.size(), pool.size(), lowest);
  return order.size();
}

std::size_t baseline_grid_column(const nlohmann::json& baseline, const std::string& model) {
  const models::BaselineConfig wanted = models::baseline_config_from_json(baseline);
  const auto grid = models::baseline_tuning_grid();
  for (std::size_t c = 0; c < grid.size(); ++c) {
    if (grid[c] == wanted) return c;
  }
  throw std::runtime_error(fmt::format("{}: its baseline trigger {} is not in this larsel's tuning grid", model, baseline.dump()));
}

models::TrainingCallbacks EpochProgress::callbacks(const models::TrainingConfig& config, std::string stage) {
  epoch_seconds_sum_ = 0, epochs_done_ = 0;
  last_validation_ = "validation: after epoch 1";
  epoch_start_ = std::chrono::steady_clock::now();
  const std::string prefix = stage.empty() ? "" : stage + ": ";
  models::TrainingCallbacks callbacks;
  callbacks.batch_done = [this, config, prefix](int epoch, std::size_t batch, std::size_t batches, double loss) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
    const double this_epoch = elapsed / static_cast<double>(batch) * static_cast<double>(batches);
    const double per_epoch = epochs_done_ ? epoch_seconds_sum_ / epochs_done_ : this_epoch;
    bar_.set_label(fmt::format("{}epoch {}/{}", prefix, epoch, config.max_epochs));
    bar_.update(batch, batches, fmt::format("loss {:.4f} | {}", loss, last_validation_),
                this_epoch - elapsed + per_epoch * (config.max_epochs - epoch));  // upper bound: no early stop
  };
  callbacks.epoch_done = [this, config, prefix](const models::EpochRecord& r) {
    bar_.clear();
    epoch_seconds_sum_ += r.seconds;
    ++epochs_done_;
    spdlog::info("{}epoch {:3} train loss {:.5f}  validation loss {:.5f}  efficiency at {:g} background {:.4f}  {:.1f} s{}",
                 prefix, r.epoch, r.train_loss, r.validation_loss, config.validation_acceptance, r.validation_efficiency,
                 r.seconds, r.improved ? "  (best)" : "");
    last_validation_ = fmt::format("validation loss {:.4f}, efficiency {:.3f} at {:g}", r.validation_loss,
                                   r.validation_efficiency, config.validation_acceptance);
    epoch_start_ = std::chrono::steady_clock::now();
  };
  return callbacks;
}

}  // namespace larsel::app
