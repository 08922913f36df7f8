// larsel train --config train.yaml --out model.h5 [--data FILE...]: preprocess (cached) simulated data
// sets, train the selection CNN with early stopping, tune the baseline trigger on the same training
// split, measure both on the held-out test split and write the model file.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "larsel/core/file_io.hpp"
#include "larsel/models/baseline_trigger.hpp"
#include "larsel/models/evaluation.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/models/train_recipe.hpp"
#include "training_data.hpp"

namespace larsel::app {
namespace {

struct TrainOptions {
  std::string config_path, output;
  std::vector<std::string> data;
  std::string cache_dir;
  bool no_cache = false, print_config = false;
  int max_epochs = 0;
  unsigned threads = 0;
};

models::TrainingResult run_training(models::Model& model, const SplitData& d, const models::TrainingConfig& config) {
  EpochProgress progress;
  return models::train(model, d.set, d.train, d.validation, config, progress.callbacks(config));
}

nlohmann::json training_metadata(const models::TrainRecipe& recipe, const models::TrainingResult& result,
                                 const SplitData& d, const models::Model& model) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : result.epochs) {
    epochs.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"validation_loss", e.validation_loss},
                      {"validation_efficiency", e.validation_efficiency}, {"seconds", e.seconds}});
  }
  return {{"recipe", models::to_json(recipe)},
          {"frames", {{"train", d.train.size()}, {"validation", d.validation.size()}, {"test", d.test.size()}}},
          {"best_epoch", result.best_epoch},
          {"stopped_early", result.stopped_early},
          {"seconds", result.seconds},
          {"multiply_accumulates", model.network().multiply_accumulates()},
          {"epochs", epochs},
          {"software", fmt::format("larsel {}", LARSEL_VERSION)}};
}

int run_train(TrainOptions o) {
  models::TrainRecipe recipe = o.config_path.empty() ? models::TrainRecipe{}
                                                     : models::parse_train_recipe(core::read_file(o.config_path, "training config"), o.config_path);
  if (!o.data.empty()) recipe.data.files = o.data;
  if (!o.cache_dir.empty()) recipe.data.cache_dir = o.cache_dir;
  if (o.no_cache) recipe.data.cache_dir.clear();
  if (o.max_epochs > 0) recipe.training.max_epochs = o.max_epochs;
  if (o.threads > 0) recipe.training.threads = o.threads;
  if (o.print_config) return fmt::print("{}\n", models::to_json(recipe).dump(2)), 0;
  if (o.output.empty()) throw CLI::RequiredError("--out");
  if (recipe.data.files.empty()) throw CLI::ValidationError("--data", "no data sets: give --data FILE or data.files in the config");
  SplitData d = load_data(recipe);
  models::ModelFile file{models::Model(recipe.architecture, d.set.shape, recipe.training.seed), preprocess::to_yaml(recipe.preprocess), {}, {}, {}};
  spdlog::info("network: {} layers, {} multiply-accumulates per frame", file.model.network().layers().size(),
               file.model.network().multiply_accumulates());
  models::TrainingResult result = run_training(file.model, d, recipe.training);
  spdlog::info("training took {:.0f} s; keeping epoch {}", result.seconds, result.best_epoch);
  if (add_hard_negatives(d, recipe, file.model) > 0) {
    // Second stage: the same recipe from the trained weights, with the hard negatives in the training split.
    const models::TrainingResult second = run_training(file.model, d, recipe.training);
    spdlog::info("second stage with hard negatives took {:.0f} s; keeping its epoch {}", second.seconds, second.best_epoch);
    for (models::EpochRecord record : second.epochs) {
      record.epoch += static_cast<int>(result.epochs.size());
      result.epochs.push_back(record);
    }
    result.best_epoch = static_cast<int>(result.epochs.size() - second.epochs.size()) + second.best_epoch;
    result.seconds += second.seconds;
    result.stopped_early = second.stopped_early;
  }
  const std::size_t baseline = models::tune_baseline(d.set, d.train);
  file.baseline = models::to_json(models::baseline_tuning_grid()[baseline]);
  spdlog::info("baseline trigger tuned on the training split: {}", file.baseline.dump());
  const std::vector<float> logits = file.model.logits(d.set, d.test, recipe.training.threads);
  file.metrics = {{"split", "test"},
                  {"cnn", models::evaluate_selection(models::split_by_label(d.set, d.test, logits), false)},
                  {"baseline", models::evaluate_selection(models::split_by_label(d.set, d.test, models::baseline_scores(d.set, d.test, baseline)), false)}};
  file.training = training_metadata(recipe, result, d, file.model);
  models::save_model(o.output, file);
  const auto& cnn = file.metrics["cnn"]["at_1e-4"];
  spdlog::info("wrote {}; test split at 1e-4 background: efficiency {:.3f} for visible >= 5 MeV (baseline {:.3f}){}", o.output,
               cnn["efficiency_visible_ge_5mev"]["value"].get<double>(),
               file.metrics["baseline"]["at_1e-4"]["efficiency_visible_ge_5mev"]["value"].get<double>(),
               cnn["statistically_limited"].get<bool>() ? " -- too few test background frames for 1e-4: the cut sits above all of them; "
                                                          "use larsel eval --background-frames" : "");
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("train", "Train the selection CNN on simulated data sets and write the model file (HDF5)");
  auto o = std::make_shared<TrainOptions>();
  cmd->add_option("--config", o->config_path, "Training YAML (models/default-train.yaml; --print-config shows every key)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->output, "Model file to write (HDF5)");
  cmd->add_option("--data", o->data, "Simulated data sets (larsel simulate), replacing data.files")->check(CLI::ExistingFile);
  cmd->add_option("--cache-dir", o->cache_dir, "Where preprocessed images are cached (data.cache_dir)");
  cmd->add_flag("--no-cache", o->no_cache, "Preprocess again and do not write a cache");
  cmd->add_option("--max-epochs", o->max_epochs, "Replace training.max_epochs")->check(CLI::Range(1, 10000));
  cmd->add_option("--threads", o->threads, "Replace training.threads (1 or 2: the result is the same)")->check(CLI::Range(1, 2));
  cmd->add_flag("--print-config", o->print_config, "Print the full recipe as JSON and exit");
  cmd->callback([&action, o] { action = [o] { return run_train(*o); }; });
}

}  // namespace larsel::app
