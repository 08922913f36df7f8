#include "larsel/models/train_recipe.hpp"

#include <fmt/format.h>

#include "larsel/core/errors.hpp"
#include "larsel/core/yaml_section.hpp"

namespace larsel::models {
namespace {


/// A YAML string as a JSON one. JSON text is UTF-8: a string that is not is refused here, naming
/// its line, rather than later by json::dump with a type_error (found by fuzz_yaml_config).
nlohmann::json json_text(const std::string& text, const YAML::Node& node, const std::string& source) {
  nlohmann::json value = text;
  try {
    (void)value.dump();
  } catch (const nlohmann::json::type_error&) {
    throw core::ConfigError(fmt::format("{}: line {}: a string that is not valid UTF-8", source, node.Mark().line + 1));
  }
  return value;
}

/// A YAML tree as JSON (integers, then floats, then booleans, else strings),
/// so the architecture has one strict reader for the YAML recipe and the model file.
nlohmann::json yaml_to_json(const YAML::Node& node, const std::string& source) {
  if (!node || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(yaml_to_json(item, source));
    return out;
  }
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& item : node) {
      // found by fuzz_yaml_config: a list or a mapping as a key was a YAML bad conversion
      out[json_text(core::scalar_text(item.first, source), item.first, source).get<std::string>()] = yaml_to_json(item.second, source);
    }
    return out;
  }
  long long integer = 0;
  double real = 0;
  bool boolean = false;
  if (YAML::convert<long long>::decode(node, integer)) return integer;
  if (YAML::convert<double>::decode(node, real)) return real;
  if (YAML::convert<bool>::decode(node, boolean)) return boolean;
  return json_text(node.Scalar(), node, source);
}

void read_data(const core::YamlSection& s, DataRecipe& d, const std::string& where) {
  if (s.has("files")) {
    const YAML::Node files = s.child("files");
    if (!files.IsSequence()) throw core::ConfigError(fmt::format("{}.files: expected a list of HDF5 files", where));
    d.files.clear();
    for (const auto& f : files) d.files.push_back(core::scalar_text(f, where + ".files"));
  }
  s.read("validation_fraction", d.validation_fraction, 0.0, 0.9);
  s.read("test_fraction", d.test_fraction, 0.0, 0.9);
  if (d.validation_fraction + d.test_fraction > 0.95) {
    throw core::ConfigError(fmt::format("{}: validation_fraction + test_fraction leave less than 5 % to train on", where));
  }
  s.read("split_seed", d.split_seed, 0, 9'000'000'000'000'000);
  s.read("warmup_frames", d.warmup_frames, 0, 100000);
  s.read("background_frames", d.background_frames, 0, 10'000'000);
  s.read("background_seed", d.background_seed, 0, 9'000'000'000'000'000);
  s.read("hard_negative_pool", d.hard_negative_pool, 0, 10'000'000);
  s.read("hard_negatives", d.hard_negatives, 0, 1'000'000);
  if (d.hard_negatives > d.hard_negative_pool) {
    throw core::ConfigError(fmt::format("{}: hard_negatives ({}) is more than hard_negative_pool ({})", where, d.hard_negatives, d.hard_negative_pool));
  }
  if (s.has("cache_dir")) d.cache_dir = s.child("cache_dir").IsNull() ? "" : core::scalar_text(s.child("cache_dir"), where + ".cache_dir");
}

void read_training(const core::YamlSection& s, TrainingConfig& t) {
  double learning_rate = t.adam.learning_rate, decay = t.adam.weight_decay;
  double signal_weight = t.class_weights.signal, background_weight = t.class_weights.background;
  s.read("seed", t.seed, 0, 9'000'000'000'000'000);
  s.read("max_epochs", t.max_epochs, 1, 10000);
  s.read("batch_size", t.batch_size, 2, 65536);
  s.read("patience", t.patience, 1, 10000);
  s.read("learning_rate", learning_rate, 1e-7, 1.0);
  s.read("weight_decay", decay, 0.0, 1.0);
  s.read("signal_weight", signal_weight, 1e-3, 1e3);
  s.read("background_weight", background_weight, 1e-3, 1e3);
  s.read("threads", t.threads, 1, 2);
  t.adam.learning_rate = static_cast<float>(learning_rate);
  t.adam.weight_decay = static_cast<float>(decay);
  t.class_weights = {static_cast<float>(signal_weight), static_cast<float>(background_weight)};
}

}  // namespace

TrainRecipe parse_train_recipe(const std::string& yaml_text, const std::string& source) try {
  const YAML::Node root = core::load_yaml(yaml_text, source);
  TrainRecipe r;
  if (root.IsNull()) return r;
  const core::YamlSection top(root, source, {"data", "preprocess", "architecture", "training"});
  read_data(core::YamlSection(top.child("data"), source + ": data",
                        {"files", "validation_fraction", "test_fraction", "split_seed", "cache_dir", "warmup_frames",
                         "background_frames", "background_seed", "hard_negative_pool", "hard_negatives"}),
            r.data, source + ": data");
  if (top.has("preprocess")) {
    YAML::Emitter text;
    text << top.child("preprocess");
    r.preprocess = preprocess::parse_preprocess_config(top.child("preprocess").IsNull() ? "" : text.c_str(), source + ": preprocess");
  }
  if (top.has("architecture")) r.architecture = architecture_from_json(yaml_to_json(top.child("architecture"), source), source);
  read_training(core::YamlSection(top.child("training"), source + ": training",
                            {"seed", "max_epochs", "batch_size", "patience", "learning_rate", "weight_decay",
                             "signal_weight", "background_weight", "threads"}),
                r.training);
  return r;
} catch (const YAML::Exception& e) {
  throw core::config_error_from(e, source);
}

nlohmann::json to_json(const TrainRecipe& r) {
  const TrainingConfig& t = r.training;
  return {{"data", {{"files", r.data.files}, {"validation_fraction", r.data.validation_fraction},
                    {"test_fraction", r.data.test_fraction}, {"split_seed", r.data.split_seed},
                    {"cache_dir", r.data.cache_dir}, {"warmup_frames", r.data.warmup_frames},
                    {"background_frames", r.data.background_frames}, {"background_seed", r.data.background_seed},
                    {"hard_negative_pool", r.data.hard_negative_pool}, {"hard_negatives", r.data.hard_negatives}}},
          {"preprocess", preprocess::to_yaml(r.preprocess)},
          {"architecture", to_json(r.architecture)},
          {"training", {{"seed", t.seed}, {"max_epochs", t.max_epochs}, {"batch_size", t.batch_size},
                        {"patience", t.patience}, {"learning_rate", t.adam.learning_rate},
                        {"weight_decay", t.adam.weight_decay}, {"signal_weight", t.class_weights.signal},
                        {"background_weight", t.class_weights.background}, {"threads", t.threads}}}};
}

Split split_of(const DataRecipe& data, std::size_t file, std::size_t frame) {
  // splitmix64 of the three numbers: a uniform draw that no other choice changes.
  std::uint64_t x = data.split_seed * 0x9E3779B97F4A7C15ULL + file * 0xBF58476D1CE4E5B9ULL + frame;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  const double u = static_cast<double>(x >> 11) * 0x1.0p-53;
  if (u < data.test_fraction) return Split::test;
  if (u < data.test_fraction + data.validation_fraction) return Split::validation;
  return Split::train;
}

}  // namespace larsel::models
