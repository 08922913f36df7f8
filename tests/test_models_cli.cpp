// larsel train and larsel eval as a user runs them: real simulated files,
// the real executable, the model file and report read back.
#include <catch2/catch.hpp>

#include <fstream>
#include <numeric>

#include <H5Cpp.h>
#include <nlohmann/json.hpp>

#if LARSEL_HAVE_ONNX && LARSEL_HAVE_OPENCV_DNN
#include <opencv2/dnn.hpp>
#endif

#include "larsel/models/image_preparation.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/model_setup.hpp"
#include "support.hpp"

using larsel::test::run_larsel;
using larsel::test::TempDir;

namespace {

/// A recipe for a quick model on a tiny data set (16 x 8 images), cached in `dir`.
void write_recipe(const TempDir& dir) {
  std::ofstream(dir / "train.yaml") << "data: {files: [" << (dir / "sim.h5").string() << "], validation_fraction: 0.2, "
                                    << "test_fraction: 0.2, cache_dir: " << (dir / "cache").string() << "}\n"
                                    << "preprocess: {downsize: {wires: 30, ticks: 8}}\n"
                                    << "architecture:\n  input_scale: 0.0625\n  layers:\n"
                                    << "    - {conv2d: {filters: 4, kernel: 3}}\n    - relu\n    - {maxpool: {window: 2}}\n"
                                    << "    - flatten\n    - {dense: {units: 8}}\n    - relu\n    - {dense: {units: 1}}\n"
                                    << "training: {max_epochs: 3, batch_size: 16, learning_rate: 0.003}\n";
}

}  // namespace

TEST_CASE("larsel train writes a model file that larsel eval reports on, with plots", "[models][cli]") {
  TempDir dir;
  REQUIRE(run_larsel("simulate --signal 80 --background 160 --seed 21 --out '" + (dir / "sim.h5").string() + "'").exit_code == 0);
  write_recipe(dir);
  const auto trained = run_larsel("train --config '" + (dir / "train.yaml").string() + "' --out '" + (dir / "m.h5").string() + "'");
  INFO(trained.err);
  REQUIRE(trained.exit_code == 0);
  CHECK_THAT(trained.err, Catch::Contains("epoch   3") && Catch::Contains("validation loss"));
  const larsel::models::ModelFile model = larsel::models::load_model(dir / "m.h5");
  CHECK(model.training["epochs"].size() == 3);
  CHECK(model.metrics["cnn"]["working_points"].size() == 3);
  CHECK(model.model.input_shape() == larsel::models::Shape{1, 16, 8});

  const auto report_dir = dir / "report";
  const auto evaluated = run_larsel("eval --model '" + (dir / "m.h5").string() + "' --data '" + (dir / "sim.h5").string() +
                                    "' --background-frames 500 --cache-dir '" + (dir / "cache").string() + "' --out '" +
                                    report_dir.string() + "'");
  INFO(evaluated.err);
  REQUIRE(evaluated.exit_code == 0);
  CHECK_THAT(evaluated.out, Catch::Contains("at 0.0001 background acceptance") && Catch::Contains("baseline trigger"));
  const auto report = nlohmann::json::parse(larsel::test::slurp(report_dir / "report.json"));
  CHECK(report["cnn"]["background_frames"] == 160 + 500);
  CHECK(report["cnn"]["signal_frames"] == 80);
  CHECK(report["cnn"]["working_points"][2]["statistically_limited"] == true);  // 1e-5 of 660 frames
  CHECK(report["cnn"]["roc_area"].get<double>() > 0.8);
  CHECK(report["baseline"]["at_1e-4"]["efficiency_vs_visible_energy"].size() == 14);  // fine bins through the turn-on
  for (const char* png : {"roc.png", "efficiency_vs_visible_energy.png", "efficiency_vs_visible_energy_zoom.png", "efficiency_vs_nu_energy.png"}) {
    CHECK(std::filesystem::file_size(report_dir / png) > 10000);
  }
#if LARSEL_HAVE_ONNX && LARSEL_HAVE_OPENCV_DNN
  // The exported ONNX file gives the model's logits on the real preprocessed frames in OpenCV dnn.
  REQUIRE(run_larsel("export-onnx --model '" + (dir / "m.h5").string() + "' --out '" + (dir / "m.onnx").string() + "'").exit_code == 0);
  larsel::models::ModelFile loaded = larsel::models::load_model(dir / "m.h5");
  const auto images = larsel::models::prepare_images(dir / "sim.h5", larsel::pipeline::model_preprocess_config(loaded, "model"), {});
  std::vector<std::size_t> all(images.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  const std::vector<float> logits = loaded.model.logits(images, all, 1);
  cv::dnn::Net net = cv::dnn::readNetFromONNX((dir / "m.onnx").string());
  const int dims[4] = {static_cast<int>(images.size()), 1, 16, 8};
  cv::Mat blob(4, dims, CV_32F);
  std::transform(images.pixels.begin(), images.pixels.end(), blob.ptr<float>(), [](std::uint8_t p) { return static_cast<float>(p); });
  net.setInput(blob);
  const cv::Mat out = net.forward();
  REQUIRE(out.total() == logits.size());
  double worst = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) worst = std::max(worst, std::abs(double{out.ptr<float>()[i]} - logits[i]));
  CHECK(worst <= 1e-5);
#else
  // A build without ONNX export says so in one line.
  const auto exported = run_larsel("export-onnx --model '" + (dir / "m.h5").string() + "' --out '" + (dir / "m.onnx").string() + "'");
  CHECK(exported.exit_code != 0);
  CHECK_THAT(exported.err, Catch::Contains("without ONNX export"));
  CHECK(std::count(exported.err.begin(), exported.err.end(), '\n') == 1);
#endif

  // The second evaluation reads the cached images: same numbers.
  const auto again = run_larsel("eval --model '" + (dir / "m.h5").string() + "' --data '" + (dir / "sim.h5").string() +
                                "' --background-frames 500 --cache-dir '" + (dir / "cache").string() + "'");
  CHECK(again.out == evaluated.out);
  CHECK_THAT(evaluated.err + again.err, !Catch::Contains("without the cache"));
  std::size_t cached = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "cache")) cached += entry.path().extension() == ".h5";
  CHECK(cached == 2);  // sim.h5 and the simulated background, one preprocess configuration

  // larsel inspect counts the parameters and the non-zero weights per layer.
  const auto inspected = run_larsel("inspect '" + (dir / "m.h5").string() + "' --json --chart '" + (dir / "w.png").string() + "'");
  REQUIRE(inspected.exit_code == 0);
  const auto table = nlohmann::json::parse(inspected.out);
  CHECK(table["parameters"] == 4 * 9 + 4 + 128 * 8 + 8 + 8 + 1);  // conv 4x1x3x3, dense 128 -> 8, dense 8 -> 1
  CHECK(table["non_zero_weights"].get<int>() > 1000);
  CHECK(table["multiply_accumulates"] == model.model.network().multiply_accumulates());
  CHECK(std::filesystem::file_size(dir / "w.png") > 5000);
  {
    H5::H5File h5((dir / "m.h5").string(), H5F_ACC_RDWR);  // prune the first convolution by hand
    const std::vector<float> zeros(36, 0.0f);
    h5.openDataSet("weights/layer0_conv2d/weights").write(zeros.data(), H5::PredType::NATIVE_FLOAT);
  }
  const auto pruned = nlohmann::json::parse(run_larsel("inspect '" + (dir / "m.h5").string() + "' --json").out);
  CHECK(pruned["layers"][0]["non_zero_weights"] == 0);
  CHECK(pruned["layers"][0]["parameters"] == 40);  // the biases are counted as parameters
  CHECK(pruned["non_zero_weights"].get<int>() == table["non_zero_weights"].get<int>() - 36);
}

TEST_CASE("larsel train and eval refuse bad configs and corrupt model files in one line", "[models][cli]") {
  TempDir dir;
  std::ofstream(dir / "bad.yaml") << "training: {learning_rte: 0.1}\n";
  const auto bad = run_larsel("train --config '" + (dir / "bad.yaml").string() + "' --out '" + (dir / "m.h5").string() + "' --data /dev/null");
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("learning_rte"));
  std::ofstream(dir / "corrupt.h5") << "\x89HDF\r\n\x1a\n but then nothing";
  REQUIRE(run_larsel("simulate --signal 2 --background 2 --out '" + (dir / "sim.h5").string() + "'").exit_code == 0);
  const auto corrupt = run_larsel("eval --model '" + (dir / "corrupt.h5").string() + "' --data '" + (dir / "sim.h5").string() + "'");
  CHECK(corrupt.exit_code != 0);
  CHECK_THAT(corrupt.err, Catch::Contains("corrupt.h5") && Catch::Contains("not a readable model file"));
  CHECK(std::count(corrupt.err.begin(), corrupt.err.end(), '\n') == 1);
  CHECK_FALSE(std::filesystem::exists(dir / "m.h5"));
}

TEST_CASE("larsel train on a continuous stream with background and hard negatives simulated on the fly, eval per event",
          "[models][cli][events]") {
  TempDir dir;
  REQUIRE(run_larsel("simulate --continuous --frames 600 --events 120 --seed 31 --out '" + (dir / "sim.h5").string() + "'").exit_code == 0);
  write_recipe(dir);
  std::ofstream(dir / "train.yaml", std::ios::app) << "";  // the recipe with the on-the-fly background:
  std::string recipe = larsel::test::slurp(dir / "train.yaml");
  recipe.replace(recipe.find("cache_dir:"), 0, "background_frames: 300, background_seed: 5, hard_negative_pool: 400, hard_negatives: 40, ");
  std::ofstream(dir / "train.yaml") << recipe;
  const auto trained = run_larsel("train --config '" + (dir / "train.yaml").string() + "' --out '" + (dir / "m.h5").string() + "'");
  INFO(trained.err);
  REQUIRE(trained.exit_code == 0);
  CHECK_THAT(trained.err, Catch::Contains("partial signal left out") && Catch::Contains("background simulated on the fly (seed 5): 300 frames"));
  CHECK_THAT(trained.err, Catch::Contains("the 40 highest-scoring of 400 more background frames"));
  const larsel::models::ModelFile model = larsel::models::load_model(dir / "m.h5");
  CHECK(model.training["epochs"].size() == 6);  // two stages of 3 epochs
  CHECK(model.training["recipe"]["data"]["hard_negatives"] == 40);

  // A neutron-capture-enriched background stream as a probe: judged at the cuts, not moving them.
  std::ofstream(dir / "captures.yaml") << "background: {neutron_captures_per_s: 30000}\n";
  REQUIRE(run_larsel("simulate --continuous --frames 100 --seed 32 --config '" + (dir / "captures.yaml").string() + "' --out '" +
                     (dir / "captures.h5").string() + "'").exit_code == 0);
  const auto evaluated = run_larsel("eval --model '" + (dir / "m.h5").string() + "' --data '" + (dir / "sim.h5").string() +
                                    "' --background-frames 500 --cache-dir '" + (dir / "cache").string() + "' --out '" +
                                    (dir / "report").string() + "' --probe '" + (dir / "captures.h5").string() + "'");
  INFO(evaluated.err);
  REQUIRE(evaluated.exit_code == 0);
  CHECK_THAT(evaluated.out, Catch::Contains("per event (120 events") && Catch::Contains("by dominant kind"));
  CHECK_THAT(evaluated.out, Catch::Contains("probe ") && Catch::Contains("n-capture"));
  const auto report = nlohmann::json::parse(larsel::test::slurp(dir / "report" / "report.json"));
  for (const char* who : {"cnn", "baseline"}) {
    const auto& r = report[who];
    CHECK(r["events"]["events"] == 120);
    std::size_t frames = 0;
    for (const auto& row : r["at_1e-4"]["background_by_kind"]) frames += row["frames"].get<std::size_t>();
    CHECK(frames == r["background_frames"].get<std::size_t>());  // every background-only frame has one dominant kind
    CHECK(r["events"]["efficiency_vs_visible_energy"].size() == 14);
    std::size_t probe_frames = 0, captures = 0;
    for (const auto& row : r["probes"][(dir / "captures.h5").string()]) {
      probe_frames += row["frames"].get<std::size_t>();
      if (row["dominant_kind"] == "n-capture") captures = row["frames"].get<std::size_t>();
      CHECK(row["accepted"]["passed"].get<std::size_t>() <= row["frames"].get<std::size_t>());
    }
    CHECK(probe_frames == 100);  // every frame of the probe, none of them among the frames that set the cut
    CHECK(captures > 30);        // 30,000 captures per second: about one per frame
  }
}
