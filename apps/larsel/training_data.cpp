#include "training_data.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common.hpp"
#include "larsel/models/baseline_trigger.hpp"
#include "larsel/models/image_preparation.hpp"

namespace larsel::app {

using models::Split;

SplitData load_data(const models::TrainRecipe& recipe) {
  SplitData d;
  for (std::size_t f = 0; f < recipe.data.files.size(); ++f) {
    const std::string& file = recipe.data.files[f];
    ProgressBar bar(fmt::format("preprocess {}", file));
    const models::ImageSet part = models::prepare_images(
        file, recipe.preprocess,
        {recipe.data.cache_dir, recipe.data.warmup_frames, [&](std::size_t done, std::size_t total) { bar.update(done, total); }, warn_cache});
    bar.clear();
    const std::size_t first = d.set.size();
    d.set.append(part);
    std::size_t signal = 0;
    for (std::size_t i = 0; i < part.size(); ++i) {
      signal += part.labels[i];
      const Split split = models::split_of(recipe.data, f, i);
      (split == Split::train ? d.train : split == Split::validation ? d.validation : d.test).push_back(first + i);
    }
    spdlog::info("{}: {} frames ({} signal, {} background)", file, part.size(), signal, part.size() - signal);
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
