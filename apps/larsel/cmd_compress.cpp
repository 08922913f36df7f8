// larsel compress --config compress.yaml --out model.h5: the staged compression
// driver (models/compressor.hpp) from a float teacher model to a pruned,
// fixed-point model; measures both on the held-out test split and checks the
// quantization-aware forward pass against the integer inference.
#include <charconv>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "larsel/core/data_path.hpp"
#include "larsel/core/file_io.hpp"
#include "larsel/models/baseline_trigger.hpp"
#include "larsel/models/compressor.hpp"
#include "larsel/models/evaluation.hpp"
#include "larsel/models/fixed_point_inference.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/model_setup.hpp"
#include "training_data.hpp"

namespace larsel::app {
namespace {

struct CompressOptions {
  std::string config_path, output, teacher, cache_dir;
  std::vector<std::string> data, keep;
  bool no_cache = false, print_config = false;
  unsigned threads = 0;
  int weight_bits = 0;
};

/// Command-line overrides of the recipe (for trade-off scans).
void apply_overrides(const CompressOptions& o, models::CompressRecipe& r) {
  if (!o.teacher.empty()) r.teacher = o.teacher;
  if (!o.data.empty()) r.base.data.files = o.data;
  if (!o.cache_dir.empty()) r.base.data.cache_dir = o.cache_dir;
  if (o.no_cache) r.base.data.cache_dir.clear();
  if (o.threads > 0) r.base.training.threads = o.threads;
  if (o.weight_bits > 0) r.quantization.weight.format.width = o.weight_bits, r.quantization.weight.auto_integer = true;
  for (const std::string& entry : o.keep) {
    const auto eq = entry.find('=');
    int count = -1;
    const char* last = entry.data() + entry.size();
    if (eq != std::string::npos && eq > 0) {
      const auto [end, error] = std::from_chars(entry.data() + eq + 1, last, count);
      if (error != std::errc() || end != last) count = -1;
    }
    if (count < 0) {
      throw CLI::ValidationError("--keep", fmt::format("'{}' is not LAYER=COUNT (e.g. conv2=6; 0 removes the entry)", entry));
    }
    if (count == 0) r.gates.keep.erase(entry.substr(0, eq));
    else r.gates.keep[entry.substr(0, eq)] = count;
  }
}

/// How many of the first `count` test images the integer inference scores exactly as the model.
nlohmann::json check_integer_inference(models::Model& model, const SplitData& d, std::size_t count, unsigned threads) {
  const std::span<const std::size_t> sample(d.test.data(), std::min(count, d.test.size()));
  const std::vector<float> logits = model.logits(d.set, sample, threads);
  const models::FixedPointInference integer(model);
  std::size_t equal = 0;
  for (std::size_t i = 0; i < sample.size(); ++i) equal += static_cast<double>(logits[i]) == integer.logit(d.set.image(sample[i])) ? 1 : 0;
  return {{"images", sample.size()}, {"bit_exact", equal}};
}

models::CompressionCallbacks progress_callbacks(EpochProgress& progress) {
  models::CompressionCallbacks callbacks;
  callbacks.stage_started = [&progress](const std::string& stage, const models::TrainingConfig& config) {
    spdlog::info("stage {}: up to {} epochs", stage, config.max_epochs);
    return progress.callbacks(config, stage);
  };
  callbacks.stage_done = [](const models::StageRecord& r) {
    spdlog::info("stage {} done in {:.0f} s{}", r.name, r.training.seconds, r.details.empty() ? "" : ": " + r.details.dump());
  };
  return callbacks;
}

/// The teacher's weights per layer name, for the "total vs non-zero" report.
nlohmann::json teacher_summary(const std::string& path, models::Model& teacher) {
  const std::vector<std::string> names = models::layer_names(teacher.architecture());
  nlohmann::json per_layer = nlohmann::json::object();
  std::size_t total = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) continue;
    const std::size_t weights = teacher.network().layers()[i]->parameters().at(0).values->size();
    per_layer[names[i]] = weights;
    total += weights;
  }
  return {{"path", path.empty() ? "(pretrained here)" : path}, {"weights", total}, {"weights_per_layer", per_layer},
          {"multiply_accumulates", teacher.network().multiply_accumulates()}};
}

nlohmann::json evaluate(models::Model& model, const SplitData& d, unsigned threads) {
  return models::evaluate_selection(models::split_by_label(d.set, d.test, model.logits(d.set, d.test, threads)), false);
}

double at_1e4_ge_5mev(const nlohmann::json& selection) {
  return selection["at_1e-4"]["efficiency_visible_ge_5mev"]["value"].get<double>();
}

int run_compress(CompressOptions o) {
  models::CompressRecipe recipe = o.config_path.empty() ? models::CompressRecipe{}
      : models::parse_compress_recipe(core::read_file(o.config_path, "compression config"), o.config_path);
  apply_overrides(o, recipe);
  if (o.print_config) return fmt::print("{}\n", models::to_json(recipe).dump(2)), 0;
  if (o.output.empty()) throw CLI::RequiredError("--out");
  if (recipe.base.data.files.empty()) throw CLI::ValidationError("--data", "no data sets: give --data FILE or data.files in the config");
  std::optional<models::ModelFile> teacher;
  if (!recipe.teacher.empty()) {
    teacher.emplace(models::load_model(core::find_data_file(recipe.teacher)));
    if (models::is_quantized(teacher->model.architecture())) {
      throw std::runtime_error(fmt::format("{}: the teacher is already quantized; give the float model", recipe.teacher));
    }
    recipe.base.preprocess = pipeline::model_preprocess_config(*teacher, recipe.teacher);
    spdlog::info("teacher {}: {} multiply-accumulates; its preprocess configuration is used", recipe.teacher,
                 teacher->model.network().multiply_accumulates());
  }
  if (teacher) models::check_compress_recipe(recipe, teacher->model.architecture(), teacher->model.input_shape());
  const SplitData d = load_data(recipe.base);
  if (!teacher) models::check_compress_recipe(recipe, recipe.base.architecture, d.set.shape);
  models::Model start = teacher ? teacher->model.clone() : models::Model(recipe.base.architecture, d.set.shape, recipe.base.training.seed);
  EpochProgress progress;
  models::CompressionResult result = models::compress(recipe, std::move(start), d.set, d.train, d.validation, progress_callbacks(progress));
  const std::size_t baseline = teacher ? baseline_grid_column(teacher->baseline, recipe.teacher) : models::tune_baseline(d.set, d.train);
  models::ModelFile file{std::move(result.model), preprocess::to_yaml(recipe.base.preprocess),
                         models::to_json(models::baseline_tuning_grid()[baseline]), {}, {}};
  file.metrics = {{"split", "test"}, {"cnn", evaluate(file.model, d, recipe.base.training.threads)},
                  {"float_teacher", evaluate(result.teacher, d, recipe.base.training.threads)},
                  {"baseline", models::evaluate_selection(models::split_by_label(d.set, d.test, models::baseline_scores(d.set, d.test, baseline)), false)}};
  if (models::is_quantized(file.model.architecture())) {
    file.metrics["integer_inference"] = check_integer_inference(file.model, d, 1000, recipe.base.training.threads);
  }
  file.training = {{"compression", models::to_json(recipe)}, {"stages", result.to_json()},
                   {"teacher", teacher_summary(recipe.teacher, result.teacher)},
                   {"frames", {{"train", d.train.size()}, {"validation", d.validation.size()}, {"test", d.test.size()}}},
                   {"multiply_accumulates", file.model.network().multiply_accumulates()},
                   {"software", fmt::format("larsel {}", LARSEL_VERSION)}};
  models::save_model(o.output, file);
  spdlog::info("wrote {}: {} multiply-accumulates (teacher {}); test split at 1e-4, visible >= 5 MeV: {:.4f} (float teacher {:.4f})",
               o.output, file.model.network().multiply_accumulates(), result.teacher.network().multiply_accumulates(),
               at_1e4_ge_5mev(file.metrics["cnn"]), at_1e4_ge_5mev(file.metrics["float_teacher"]));
  if (file.metrics.contains("integer_inference")) {
    spdlog::info("integer inference: {} of {} test images bit-exact", file.metrics["integer_inference"]["bit_exact"].get<std::size_t>(),
                 file.metrics["integer_inference"]["images"].get<std::size_t>());
  }
  return 0;
}

}  // namespace

void add_compress_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("compress", "Prune, quantize and distil a model in stages (models/default-compress.yaml)");
  auto o = std::make_shared<CompressOptions>();
  cmd->add_option("--config", o->config_path, "Compression YAML (--print-config shows every key)")->check(CLI::ExistingFile);
  cmd->add_option("--out", o->output, "Model file to write (HDF5)");
  cmd->add_option("--teacher", o->teacher, "Float model file to start from and distil (replaces teacher)")->check(CLI::ExistingFile);
  cmd->add_option("--data", o->data, "Simulated data sets (larsel simulate), replacing data.files")->check(CLI::ExistingFile);
  cmd->add_option("--keep", o->keep, "LAYER=COUNT: filters or neurons to keep (replaces pruning.keep entries; 0 removes one)");
  cmd->add_option("--weight-bits", o->weight_bits, "Width of the default weight format (integer bits auto)")->check(CLI::Range(2, 24));
  cmd->add_option("--cache-dir", o->cache_dir, "Where preprocessed images are cached (data.cache_dir)");
  cmd->add_flag("--no-cache", o->no_cache, "Preprocess again and do not write a cache");
  cmd->add_option("--threads", o->threads, "Replace training.threads (1 or 2: the result is the same)")->check(CLI::Range(1, 2));
  cmd->add_flag("--print-config", o->print_config, "Print the full recipe as JSON and exit");
  cmd->callback([&action, o] { action = [o] { return run_compress(*o); }; });
}

}  // namespace larsel::app
