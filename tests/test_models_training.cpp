// The training tool chain: architecture YAML, deterministic two-shard
// training with early stopping, the model file (and its failures), metrics.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <random>

#include <H5Cpp.h>
#include <fmt/format.h>

#include "larsel/core/errors.hpp"
#include "larsel/core/hdf5_attributes.hpp"
#include "larsel/models/evaluation.hpp"
#include "larsel/models/metrics.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/models/train_recipe.hpp"
#include "larsel/models/trainer.hpp"
#include "larsel/pipeline/model_setup.hpp"
#include "support.hpp"

using namespace larsel::models;
using larsel::test::TempDir;

namespace {

/// 16x8 images: signal frames hold a bright 5-pixel vertical segment, all frames sparse noise hits.
ImageSet synthetic_images(std::size_t count, std::uint32_t seed) {
  ImageSet set;
  set.shape = {1, 16, 8};
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<std::uint8_t> image(set.shape.size(), 0);
    for (int k = 0; k < 6; ++k) image[rng() % image.size()] = static_cast<std::uint8_t>(20 + rng() % 60);
    const bool signal = i % 2 == 0;
    if (signal) {
      const std::size_t row = rng() % 11, column = rng() % 8;
      for (std::size_t r = row; r < row + 5; ++r) image[r * 8 + column] = 120;
    }
    set.pixels.insert(set.pixels.end(), image.begin(), image.end());
    set.labels.push_back(signal ? 1 : 0);
    set.nu_energy_mev.push_back(signal ? 15.0f : 0.0f);
    set.visible_energy_mev.push_back(signal ? 8.0f : 0.0f);
  }
  return set;
}

Architecture small_architecture() {
  return architecture_from_json(nlohmann::json::parse(R"({"input_scale": 0.02, "layers": [
      {"conv2d": {"filters": 4, "kernel": 3, "padding": "same"}}, "relu", {"maxpool": {"window": [2, 2]}},
      "flatten", {"dense": {"units": 8}}, "relu", {"dense": {"units": 1}}]})"), "test");
}

std::vector<std::size_t> range(std::size_t first, std::size_t last) {
  std::vector<std::size_t> out;
  for (std::size_t i = first; i < last; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("The default architecture fits the FPGA budget and round-trips through JSON", "[models][architecture]") {
  const Architecture a = default_architecture();
  const Network network = build_network(a, {1, 120, 16}, 1);
  CHECK(network.multiply_accumulates() == 721936);  // 138,240 + 552,960 + 30,720 + 16
  CHECK(network.multiply_accumulates() <= 1'000'000);
  CHECK(to_json(architecture_from_json(to_json(a), "round trip")) == to_json(a));
}

TEST_CASE("Architecture and recipe errors name the layer or key", "[models][architecture]") {
  const auto bad = [](const char* text) { return architecture_from_json(nlohmann::json::parse(text), "t.yaml"); };
  CHECK_THROWS_WITH(bad(R"({"layers": ["relu", {"conv3d": {}}]})"), Catch::Contains("layers[1]") && Catch::Contains("conv3d"));
  CHECK_THROWS_WITH(bad(R"({"layers": [{"conv2d": {"filters": 4, "stride": 2}}]})"), Catch::Contains("stride"));
  CHECK_THROWS_AS(bad(R"({"layers": [{"dense": {"units": 0}}]})"), larsel::core::ConfigError);
  CHECK_THROWS_WITH(build_network(bad(R"({"layers": ["flatten", {"dense": {"units": 3}}]})"), {1, 8, 8}, 1),
                    Catch::Contains("not the one logit"));
  CHECK_THROWS_WITH(parse_train_recipe("training: {batch_size: 1}", "r.yaml"), Catch::Contains("batch_size"));
  CHECK_THROWS_WITH(parse_train_recipe("data: {validation_fraction: 0.5, test_fraction: 0.5}", "r.yaml"), Catch::Contains("5 %"));
  const TrainRecipe r = parse_train_recipe("architecture:\n  layers: [flatten, {dense: {units: 1}}]\ntraining: {seed: 7}\n", "r.yaml");
  CHECK(r.architecture.layers.size() == 2);
  CHECK(r.training.seed == 7);
}

TEST_CASE("Splits follow the seed alone and the requested fractions", "[models][data]") {
  DataRecipe data;
  std::size_t test = 0, validation = 0, changed = 0;
  for (std::size_t i = 0; i < 20000; ++i) {
    const Split s = split_of(data, 0, i);
    test += s == Split::test, validation += s == Split::validation;
    CHECK(split_of(data, 0, i) == s);
    DataRecipe other = data;
    other.split_seed = 2;
    changed += split_of(other, 0, i) != s;
  }
  CHECK(static_cast<double>(test) / 20000 == Approx(0.15).margin(0.01));
  CHECK(static_cast<double>(validation) / 20000 == Approx(0.15).margin(0.01));
  CHECK(changed > 5000);
}

TEST_CASE("Training learns, keeps the best epoch, and is the same on one or two threads", "[models][training]") {
  const ImageSet set = synthetic_images(1600, 3);
  const auto train_idx = range(0, 800), validation = range(800, 1600);  // >= 512: two inference workers
  TrainingConfig config;
  config.max_epochs = 6;
  config.batch_size = 32;
  config.adam.learning_rate = 3e-3f;
  std::vector<std::vector<float>> logits;
  for (const unsigned threads : {1u, 2u}) {
    config.threads = threads;
    Model model(small_architecture(), set.shape, 11);
    const TrainingResult result = train(model, set, train_idx, validation, config);
    REQUIRE(result.best_epoch >= 1);
    const auto [loss, efficiency] = validation_metrics(model, set, validation, config);
    CHECK(loss == Approx(result.epochs[static_cast<std::size_t>(result.best_epoch - 1)].validation_loss).epsilon(1e-9));
    CHECK(loss < 0.2);
    CHECK(efficiency > 0.9);
    logits.push_back(model.logits(set, validation, 1));
    CHECK(model.logits(set, validation, 2) == logits.back());  // inference split over two workers
  }
  CHECK(logits[0] == logits[1]);  // bit for bit (AlignedAllocator: tensor.hpp)
}

TEST_CASE("Early stopping ends training after `patience` epochs without a better validation loss", "[models][training]") {
  const ImageSet set = synthetic_images(400, 5);
  TrainingConfig config;
  config.max_epochs = 50;
  config.patience = 2;
  config.adam.learning_rate = 0.5f;  // far too large: the validation loss stops improving at once
  Model model(small_architecture(), set.shape, 1);
  const TrainingResult result = train(model, set, range(0, 300), range(300, 400), config);
  CHECK(result.stopped_early);
  CHECK(result.best_epoch >= 1);
  CHECK(static_cast<int>(result.epochs.size()) == result.best_epoch + config.patience);
}

TEST_CASE("Model files round-trip and bad ones are refused with the reason", "[models][model_file]") {
  TempDir dir;
  const ImageSet set = synthetic_images(64, 9);
  larsel::preprocess::PreprocessConfig pre;
  pre.downsize.wires = 30, pre.downsize.ticks = 8;  // 16 x 8 images
  ModelFile file{Model(small_architecture(), set.shape, 4), larsel::preprocess::to_yaml(pre), {{"hit_threshold_adc", 40}}, {{"note", "t"}}, {}};
  const auto all = range(0, 64);
  const std::vector<float> before = file.model.logits(set, all, 1);
  save_model(dir / "m.h5", file);
  ModelFile loaded = load_model(dir / "m.h5");
  CHECK(loaded.model.logits(set, all, 1) == before);
  CHECK(loaded.training["note"] == "t");
  // Where the model meets the preprocess stage, its configuration is built and must make its images.
  CHECK(larsel::pipeline::model_preprocess_config(loaded, "m.h5").output_rows() == 16);
  ModelFile other_size = load_model(dir / "m.h5");
  larsel::preprocess::PreprocessConfig wider = pre;
  wider.downsize.wires = 16;
  other_size.preprocess_yaml = larsel::preprocess::to_yaml(wider);
  CHECK_THROWS_WITH(larsel::pipeline::model_preprocess_config(other_size, "m.h5"),
                    Catch::Contains("m.h5") && Catch::Contains("makes 30x8 images, the network takes 16x8"));
  other_size.preprocess_yaml = "downsize: {wires: 7}\n";
  CHECK_THROWS_WITH(larsel::pipeline::model_preprocess_config(other_size, "m.h5"),
                    Catch::Contains("m.h5") && Catch::Contains("does not divide 480"));

  CHECK_THROWS_WITH(load_model(dir / "absent.h5"), Catch::Contains("absent.h5") && Catch::Contains("no such"));
  std::ofstream(dir / "garbage.h5") << "this is not HDF5";
  CHECK_THROWS_WITH(load_model(dir / "garbage.h5"), Catch::Contains("garbage.h5") && Catch::Contains("not a readable model"));
  const auto bytes = larsel::test::read_bytes(dir / "m.h5");
  std::ofstream(dir / "truncated.h5", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size() / 2));
  CHECK_THROWS_WITH(load_model(dir / "truncated.h5"), Catch::Contains("truncated.h5"));

  const auto edit = [&](const char* name, auto change) {
    std::filesystem::copy_file(dir / "m.h5", dir / name);
    H5::H5File h5((dir / name).string(), H5F_ACC_RDWR);
    change(h5);
  };
  edit("edited.h5", [](H5::H5File& h5) {
    h5.removeAttr("preprocess_config");
    larsel::core::write_string_attribute(h5, "preprocess_config", "threshold: {sigmas: 3}\ndownsize: {wires: 30, ticks: 8}\n");
  });
  CHECK_THROWS_WITH(load_model(dir / "edited.h5"), Catch::Contains("does not match its hash"));
  edit("reshaped.h5", [](H5::H5File& h5) {
    h5.unlink("weights/layer0_conv2d/bias");
    const hsize_t dims[1] = {5};
    const float values[5] = {};
    h5.createDataSet("weights/layer0_conv2d/bias", H5::PredType::NATIVE_FLOAT, H5::DataSpace(1, dims)).write(values, H5::PredType::NATIVE_FLOAT);
  });
  CHECK_THROWS_WITH(load_model(dir / "reshaped.h5"), Catch::Contains("layer0_conv2d/bias is 5, the architecture needs 4"));
  edit("future.h5", [](H5::H5File& h5) {
    const std::uint64_t version = 99;
    h5.openAttribute("format_version").write(H5::PredType::NATIVE_UINT64, &version);
  });
  CHECK_THROWS_WITH(load_model(dir / "future.h5"), Catch::Contains("version 99"));
  edit("nan.h5", [](H5::H5File& h5) {
    std::vector<float> values(4, std::numeric_limits<float>::quiet_NaN());
    h5.openDataSet("weights/layer0_conv2d/bias").write(values.data(), H5::PredType::NATIVE_FLOAT);
  });
  CHECK_THROWS_WITH(load_model(dir / "nan.h5"), Catch::Contains("nan.h5") && Catch::Contains("not finite"));
  edit("badarch.h5", [](H5::H5File& h5) {
    h5.removeAttr("architecture");
    larsel::core::write_string_attribute(h5, "architecture", R"({"layers": [{"conv2d": {"padding": 1}}]})");
  });
  CHECK_THROWS_WITH(load_model(dir / "badarch.h5"), Catch::Contains("badarch.h5") && Catch::Contains("filters: required"));
}

TEST_CASE("Quantized model files with weights off their ap_fixed grid or range, or without weights, are refused in one line",
          "[models][model_file]") {
  TempDir dir;
  const std::filesystem::path shipped = std::filesystem::path(LARSEL_SOURCE_DIR) / "models/default-model.h5";
  const ModelFile original = load_model(shipped);
  REQUIRE(original.model.architecture().layers.at(0).quantization);
  const FixedPointFormat format = original.model.architecture().layers[0].quantization->weight;
  const std::string dataset = "weights/layer0_conv2d/weights";
  const auto edited = [&](const char* name, const std::function<void(H5::H5File&)>& change) {
    std::filesystem::copy_file(shipped, dir / name);
    H5::H5File h5((dir / name).string(), H5F_ACC_RDWR);
    change(h5);
    return (dir / name).string();
  };
  const auto set_first_weight = [&](float value) {
    return [&dataset, value](H5::H5File& h5) {
      H5::DataSet set = h5.openDataSet(dataset);
      std::vector<float> values(static_cast<std::size_t>(set.getSpace().getSimpleExtentNpoints()));
      set.read(values.data(), H5::PredType::NATIVE_FLOAT);
      values[0] = value;
      set.write(values.data(), H5::PredType::NATIVE_FLOAT);
    };
  };
  const float on_grid = static_cast<float>(format.lsb() * 3);
  const float off_grid = std::nextafter(on_grid, 1.0f);
  const std::string off = edited("off_grid.h5", set_first_weight(off_grid));
  CHECK_THROWS_WITH(load_model(off), Catch::Equals(fmt::format("{}: /{} holds {}, which is off the grid of its declared format {} (steps of {})",
                                                               off, dataset, off_grid, format.to_string(), format.lsb())));
  const float too_large = static_cast<float>(format.max_value() * 4);
  const std::string large = edited("out_of_range.h5", set_first_weight(too_large));
  CHECK_THROWS_WITH(load_model(large), Catch::StartsWith(fmt::format("{}: /{} holds {}, which is outside the range", large, dataset, too_large)) &&
                                           Catch::EndsWith("of its declared format " + format.to_string()));
  CHECK_NOTHROW(load_model(edited("on_grid.h5", set_first_weight(on_grid))));
  const std::string no_weights = edited("no_weights.h5", [](H5::H5File& h5) { h5.unlink("weights"); });
  CHECK_THROWS_WITH(load_model(no_weights), Catch::Equals(no_weights + ": the group /weights is missing (it holds /" + dataset + ")"));
  const std::string no_layer = edited("no_layer.h5", [](H5::H5File& h5) { h5.unlink("weights/layer0_conv2d"); });
  CHECK_THROWS_WITH(load_model(no_layer), Catch::Contains("the group /weights/layer0_conv2d is missing"));
}

TEST_CASE("Working points, Wilson intervals and the ROC area on known scores", "[models][metrics]") {
  std::vector<float> background(10000), signal(1000);
  for (std::size_t i = 0; i < background.size(); ++i) background[i] = static_cast<float>(i);       // 0 .. 9999
  for (std::size_t i = 0; i < signal.size(); ++i) signal[i] = 9990.0f + static_cast<float>(i) * 0.02f;  // 9990 .. 10010
  const WorkingPoint w = working_point(signal, background, 1e-3);
  CHECK(w.threshold == 9989.0f);  // the 11th highest: 10 frames pass
  CHECK(w.background.passed == 10);
  CHECK(w.signal.value == Approx(1.0));
  CHECK_FALSE(w.statistically_limited);
  const WorkingPoint tight = working_point(signal, background, 1e-4);
  CHECK(tight.background.passed == 1);
  CHECK(tight.statistically_limited);
  CHECK(tight.signal.passed == 599);  // signal above 9998: i > 400
  const std::vector<RocPoint> roc = roc_curve(signal, background, 50);
  CHECK(roc.size() <= 50);
  CHECK(roc.front().background_acceptance == Approx(1e-4));  // one background frame
  CHECK(roc.back().background_acceptance == Approx(1.0));
  CHECK(roc.back().signal_efficiency == Approx(1.0));
  for (std::size_t i = 1; i < roc.size(); ++i) CHECK(roc[i].signal_efficiency >= roc[i - 1].signal_efficiency);
  const std::vector<float> energy = {1, 3, 3, 7}, scores = {5, 1, 9, 9};
  const std::vector<double> edges = {0, 2, 5, 10};
  const auto bins = efficiency_in_bins(scores, energy, 4.0f, edges);
  CHECK(bins[0].efficiency.passed == 1);
  CHECK(bins[1].efficiency.passed == 1);
  CHECK(bins[1].efficiency.total == 2);
  CHECK(bins[2].efficiency.value == 1.0);
  CHECK_THROWS_WITH(evaluate_selection(SelectionScores{signal, {}, signal, signal}, false), Catch::Contains("0 background"));
  const Efficiency e = wilson_efficiency(0, 100);
  CHECK(e.low == 0.0);
  CHECK(e.high == Approx(0.0099).margin(0.0002));
  CHECK(wilson_efficiency(50, 100).low == Approx(0.4502).margin(0.0005));
  const double area = roc_area(signal, background);  // only the last ten background frames mix with the signal
  CHECK(area > 0.9994);
  CHECK(area < 1.0);
}

TEST_CASE("Per-event efficiency: an event counts when one of its signal frames passes, background by dominant kind",
          "[models][metrics][events]") {
  using larsel::daq::sim::DepositKind;
  using larsel::daq::sim::EventTruth;
  ImageSet set;
  set.shape = {1, 2, 2};
  const std::vector<std::uint8_t> image(4, 0);
  // Frames 0-5 one stream: event 0 spans frames 0-1 (signal, partial), event 1 frames 2-3 (both signal),
  // event 2 only a partial frame 4; frame 5 background only. Frames 6-8 background from another source.
  const std::uint8_t kinds[] = {0, 0, 0, 0, 0, static_cast<std::uint8_t>(DepositKind::external_gamma),
                                static_cast<std::uint8_t>(DepositKind::ar39_beta), static_cast<std::uint8_t>(DepositKind::external_gamma),
                                kNoBackgroundKind};
  const std::uint8_t labels[] = {1, 2, 1, 1, 2, 0, 0, 0, 0};
  const std::int32_t events[] = {0, 0, 1, 1, 2, -1, -1, -1, -1};
  for (std::size_t i = 0; i < 9; ++i) set.push_back(image, labels[i], labels[i] ? 12.0f : 0.0f, labels[i] ? 3.0f : 0.0f, events[i], kinds[i]);
  const std::vector<float> scores = {0.5f, 9.0f, -1.0f, 2.0f, 8.0f, 3.0f, -5.0f, 0.0f, 1.5f};
  const std::vector<StreamEvents> streams{{0, 6, {EventTruth{0, 12, 8, 6.0f, 0, 0, 0, 0, {4, 2}},
                                                   EventTruth{1, 20, 15, 8.0f, 0, 0, 0, 2, {4, 4}},
                                                   EventTruth{2, 9, 4, 3.0f, 0, 0, 0, 4, {0.5f}}}}};
  const EventScores e = event_scores(set, streams, scores);
  REQUIRE(e.best.size() == 3);
  CHECK(e.best[0] == 0.5f);   // the partial frame's 9.0 does not count
  CHECK(e.best[1] == 2.0f);   // the better of its two signal frames
  CHECK(e.best[2] == -std::numeric_limits<float>::infinity());  // no signal frame: never selected
  const nlohmann::json r = evaluate_events(e, 1.0f);
  CHECK(r["events"] == 3);
  CHECK(r["efficiency_visible_ge_5mev"]["passed"] == 1);  // event 1 passes, event 0 (0.5) does not
  CHECK(r["efficiency_visible_ge_5mev"]["total"] == 2);
  CHECK(r["efficiency_visible_2_5mev"]["passed"] == 0);
  CHECK(r["efficiency_visible_2_5mev"]["total"] == 1);
  CHECK_THAT(r["rule"].get<std::string>(), Catch::Contains("25 %"));
  std::vector<std::size_t> all(9);
  std::iota(all.begin(), all.end(), std::size_t{0});
  const nlohmann::json kinds_table = background_by_kind(set, all, scores, 1.0f);
  std::map<std::string, std::pair<int, int>> rows;
  for (const auto& row : kinds_table) rows[row["dominant_kind"]] = {row["frames"], row["accepted"]["passed"]};
  CHECK(rows.size() == 3);
  CHECK(rows["external gamma"] == std::pair{2, 1});  // frame 5 (3.0) passes, frame 7 (0.0) does not
  CHECK(rows["Ar39"] == std::pair{1, 0});
  CHECK(rows["noise only"] == std::pair{1, 1});
  // Per frame, partial frames are neither signal nor background.
  const SelectionScores split = split_by_label(set, all, scores);
  CHECK(split.signal.size() == 3);
  CHECK(split.background.size() == 4);
}
