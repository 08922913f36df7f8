// larsel compress as a user runs it: a teacher trained by larsel train on a
// small simulated file, compressed with gate pruning to chosen counts,
// magnitude pruning, 8-bit quantization-aware fine-tuning and distillation;
// the model file, larsel inspect and larsel eval --reference read back.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "larsel/models/fixed_point_inference.hpp"
#include "larsel/models/model_file.hpp"
#include "support.hpp"

using larsel::test::run_larsel;
using larsel::test::TempDir;
namespace models = larsel::models;

namespace {

std::string quoted(const std::filesystem::path& p) { return fmt::format("'{}'", p.string()); }

/// Teacher: conv 6 -> pool -> conv 4 -> pool -> dense 8 -> logit on 16 x 8 images.
void write_teacher_recipe(const TempDir& dir) {
  std::ofstream(dir / "train.yaml") << "data: {files: [" << (dir / "sim.h5").string() << "], validation_fraction: 0.2, "
                                    << "test_fraction: 0.2, cache_dir: " << (dir / "cache").string() << "}\n"
                                    << "preprocess: {downsize: {wires: 30, ticks: 8}}\n"
                                    << "architecture:\n  input_scale: 0.0625\n  layers:\n"
                                    << "    - {conv2d: {filters: 6, kernel: 3}}\n    - relu\n    - {maxpool: {window: 2}}\n"
                                    << "    - {conv2d: {filters: 4, kernel: 3}}\n    - relu\n    - {maxpool: {window: 2}}\n"
                                    << "    - flatten\n    - {dense: {units: 8}}\n    - relu\n    - {dense: {units: 1}}\n"
                                    << "training: {max_epochs: 3, batch_size: 16, learning_rate: 0.003}\n";
}

void write_compress_recipe(const TempDir& dir) {
  std::ofstream(dir / "compress.yaml")
      << "data: {files: [" << (dir / "sim.h5").string() << "], validation_fraction: 0.2, test_fraction: 0.2, cache_dir: "
      << (dir / "cache").string() << "}\n"
      << "training: {batch_size: 16, learning_rate: 0.003}\n"
      << "teacher: " << (dir / "teacher.h5").string() << "\n"
      << "pruning: {keep: {conv1: 3, dense1: 5}, epochs: 3, lambda_budget: 0.1}\n"
      << "sparsity: {final: 0.5, rounds: 2, epochs: 1, frequency: 2, rewind: every_round}\n"
      << "quantization:\n  weight: {width: 8, integer: auto, rounding: rnd_conv, overflow: sat}\n"
      << "  layers: {dense2: {output: \"ap_fixed<16,8,AP_RND,AP_SAT>\"}}\n"
      << "finetune: {epochs: 2, learning_rate: 0.001}\n"
      << "distillation: {temperature: 3, alpha: 0.6}\n";
}

/// Every weight and bias of a quantized model sits on its format's grid, within its range.
void check_on_grid(models::Model& model) {
  const models::Architecture& a = model.architecture();
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    if (!a.layers[i].quantization) continue;
    const auto parameters = model.network().layers()[i]->parameters();
    for (const auto& [p, format] : {std::pair{0, a.layers[i].quantization->weight}, {1, a.layers[i].quantization->bias}}) {
      for (float v : *parameters[static_cast<std::size_t>(p)].values) {
        const double raw = std::ldexp(static_cast<double>(v), format.fractional_bits());
        CHECK(raw == std::nearbyint(raw));
        CHECK(raw >= static_cast<double>(format.min_raw()));
        CHECK(raw <= static_cast<double>(format.max_raw()));
      }
    }
  }
}

}  // namespace

TEST_CASE("larsel compress keeps the asked counts, quantizes exactly and reports against its teacher", "[models][cli][compress]") {
  TempDir dir;
  REQUIRE(run_larsel("simulate --signal 80 --background 160 --seed 23 --out " + quoted(dir / "sim.h5")).exit_code == 0);
  write_teacher_recipe(dir);
  REQUIRE(run_larsel("train --config " + quoted(dir / "train.yaml") + " --out " + quoted(dir / "teacher.h5")).exit_code == 0);
  write_compress_recipe(dir);
  const auto compressed = run_larsel("compress --config " + quoted(dir / "compress.yaml") + " --out " + quoted(dir / "small.h5"));
  INFO(compressed.err);
  REQUIRE(compressed.exit_code == 0);
  CHECK_THAT(compressed.err, Catch::Contains("stage prune") && Catch::Contains("sparsify round 2/2") &&
                                 Catch::Contains("fine-tune (quantization-aware)"));

  models::ModelFile file = models::load_model(dir / "small.h5");
  const models::Architecture& a = file.model.architecture();
  CHECK(a.layers[0].filters == 3);
  CHECK(a.layers[3].filters == 4);
  CHECK(a.layers[7].units == 5);
  REQUIRE(models::is_quantized(a));
  CHECK(a.layers[0].quantization->weight.width == 8);
  CHECK(a.layers[9].quantization->output == models::parse_fixed_point_format("ap_fixed<16,8,AP_RND,AP_SAT>"));
  check_on_grid(file.model);
  const auto& exact = file.metrics["integer_inference"];
  CHECK(exact["images"].get<int>() > 30);
  CHECK(exact["bit_exact"] == exact["images"]);
  CHECK(file.metrics.contains("float_teacher"));
  CHECK(file.training["stages"].size() == 4);  // prune, two sparsify rounds, fine-tune

  const auto inspected = run_larsel("inspect " + quoted(dir / "small.h5") + " --json --chart " + quoted(dir / "w.png"));
  REQUIRE(inspected.exit_code == 0);
  const auto table = nlohmann::json::parse(inspected.out);
  // Teacher weights: 54 + 216 + 4*4*2*8 (=256) + 8 = 534; kept after removal: 27 + 108 + 160 + 5 = 300, half of them pruned.
  CHECK(table["compression"]["teacher_weights"] == 534);
  CHECK(table["weights"] == 300);
  CHECK(table["non_zero_weights"].get<int>() <= 150);
  CHECK(table["compression"]["pruned_percent"].get<double>() >= 100.0 * (1 - 150.0 / 534));
  CHECK(table["layers"][0]["weight_bits"] == 8);
  CHECK_THAT(table["layers"][0]["formats"]["accumulator"].get<std::string>(), Catch::StartsWith("ap_fixed<"));
  CHECK(std::filesystem::file_size(dir / "w.png") > 5000);

  const auto evaluated = run_larsel("eval --model " + quoted(dir / "small.h5") + " --reference " + quoted(dir / "teacher.h5") +
                                    " --data " + quoted(dir / "sim.h5") + " --cache-dir " + quoted(dir / "cache") + " --out " +
                                    quoted(dir / "report"));
  INFO(evaluated.err);
  REQUIRE(evaluated.exit_code == 0);
  CHECK_THAT(evaluated.out, Catch::Contains("reference ") && Catch::Contains("difference") &&
                                Catch::Contains("300 weights") && Catch::Contains("weights 8/8/8/8 bits"));

  // The trade-off curve from eval reports (here the same report at two settings).
  const auto curve = run_larsel("tradeoff --point 3:" + quoted(dir / "report/report.json") + " --point 5:" +
                                quoted(dir / "report/report.json") + " --x-label 'kept' --json --out " + quoted(dir / "curve.png"));
  INFO(curve.err);
  REQUIRE(curve.exit_code == 0);
  const auto points = nlohmann::json::parse(curve.out);
  REQUIRE(points.size() == 2);
  CHECK(points[0]["x"] == 3);
  CHECK(points[0]["non_zero_weights"] == table["non_zero_weights"]);
  CHECK(points[0].contains("reference_visible_ge_5mev"));
  CHECK(std::filesystem::file_size(dir / "curve.png") > 5000);
  const auto not_a_report = run_larsel("tradeoff --point 1:" + quoted(dir / "compress.yaml"));
  CHECK(not_a_report.exit_code != 0);
  CHECK_THAT(not_a_report.err, Catch::Contains("compress.yaml"));
}

TEST_CASE("larsel compress refuses bad configs naming the key", "[models][cli][compress]") {
  TempDir dir;
  REQUIRE(run_larsel("simulate --signal 40 --background 40 --out " + quoted(dir / "sim.h5")).exit_code == 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"prunning: {epochs: 2}\n", "prunning: unknown key"},
      {"pruning: {keep: {conv1: many}}\n", "pruning.keep.conv1"},
      {"pruning: {keep: {conv7: 2}}\n", "pruning.keep.conv7: no such layer"},
      {"pruning: {keep: {conv1: 9}}\n", "pruning.keep.conv1: 9 is not in [1, 8]"},
      {"quantization: {weight: \"ap_fixed<8\"}\n", "quantization.weight"},
      {"quantization: {weight: {width: 8, integer: auto, rounding: nearest}}\n", "quantization.weight"},
      {"quantization: {layers: {dense7: {weight: \"ap_fixed<8,1>\"}}}\n", "quantization.layers.dense7: no such layer"},
      {"quantization: {weight: \"ap_fixed<32,8>\"}\n", "is wider than 24 bits"},
      {"quantization: {weight: \"ap_fixed<24,4>\", activation: \"ap_fixed<24,12>\"}\n", "accumulator"},
      {"teacher: [a, b]\n", "teacher: expected a model file path"},
      {"sparsity: {final: 1.5}\n", "sparsity.final"},
      {"distillation: {alpha: 2}\n", "distillation.alpha"},
  };
  for (const auto& [yaml, message] : cases) {
    std::ofstream(dir / "bad.yaml") << "data: {files: [" << (dir / "sim.h5").string() << "], cache_dir: '', validation_fraction: 0.3}\n"
                                    << "preprocess: {downsize: {wires: 30, ticks: 8}}\npretrain: {epochs: 1}\n" << yaml;
    const auto run = run_larsel("compress --config " + quoted(dir / "bad.yaml") + " --out " + quoted(dir / "m.h5"));
    INFO(yaml);
    CHECK(run.exit_code != 0);
    CHECK_THAT(run.err, Catch::Contains(message));
    CHECK_FALSE(std::filesystem::exists(dir / "m.h5"));
  }
}

TEST_CASE("The shipped model is the compressed one its recipe describes, and meets the compression targets", "[models][compress]") {
  const std::filesystem::path source(LARSEL_SOURCE_DIR);
  models::ModelFile shipped = models::load_model(source / "models/default-model.h5");
  models::ModelFile teacher = models::load_model(source / "models/default-float-model.h5");
  const models::Architecture& a = shipped.model.architecture();
  REQUIRE(models::is_quantized(a));
  std::size_t teacher_weights = 0, non_zero = 0;
  for (const auto& layer : teacher.model.network().layers()) {
    for (const auto& p : layer->parameters()) teacher_weights += p.name == "weights" ? p.values->size() : 0;
  }
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    if (!a.layers[i].quantization) continue;
    CHECK(a.layers[i].quantization->weight.width <= 8);
    CHECK(a.layers[i].quantization->output.width <= 16);
    const auto& w = *shipped.model.network().layers()[i]->parameters().at(0).values;
    non_zero += static_cast<std::size_t>(std::count_if(w.begin(), w.end(), [](float v) { return v != 0.0f; }));
  }
  CHECK(static_cast<double>(non_zero) <= 0.3 * static_cast<double>(teacher_weights));  // >= 70 % pruned
  check_on_grid(shipped.model);
  // The kept counts are those of models/default-compress.yaml.
  const auto printed = run_larsel("compress --config " + quoted(source / "models/default-compress.yaml") + " --print-config");
  REQUIRE(printed.exit_code == 0);
  const auto recipe = nlohmann::json::parse(printed.out);
  for (const auto& [name, kept] : recipe["pruning"]["keep"].items()) {
    const auto& spec = a.layers[static_cast<std::size_t>(models::find_layer(a, name))];
    CHECK((spec.kind == models::LayerKind::conv2d ? spec.filters : spec.units) == kept.get<int>());
  }
  CHECK(shipped.preprocess_yaml == teacher.preprocess_yaml);
  CHECK(shipped.metrics["integer_inference"]["bit_exact"] == shipped.metrics["integer_inference"]["images"]);
  const double compressed = shipped.metrics["cnn"]["at_1e-4"]["efficiency_visible_ge_5mev"]["value"].get<double>();
  const double float_model = shipped.metrics["float_teacher"]["at_1e-4"]["efficiency_visible_ge_5mev"]["value"].get<double>();
  CHECK(compressed >= float_model - 0.01);
}
