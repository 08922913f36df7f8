// Denoise + downsize: known inputs, and bit-exact agreement of the scalar
// reference with the optimised kernel.
#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <H5Cpp.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernel_sets.hpp"
#include "support.hpp"

#include "larsel/core/errors.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/models/image_set_file.hpp"
#include "larsel/preprocess/test_support.hpp"
#include "larsel/preprocess/preprocessor.hpp"

namespace {

using larsel::daq::Frame;
using namespace larsel::preprocess;

using Adc = std::vector<std::uint16_t>;

struct Result {
  std::vector<std::uint8_t> image;
  std::vector<std::int16_t> denoised, filtered;
};

Result run(Preprocessor& pre, const Adc& adc) {
  Result r{std::vector<std::uint8_t>(pre.config().output_pixels()), std::vector<std::int16_t>(Frame::kPixels),
           std::vector<std::int16_t>(Frame::kPixels)};
  pre.process(FrameAdc(adc.data(), Frame::kPixels), {r.image, r.denoised, r.filtered});
  return r;
}

/// The image alone, as the pipeline asks for it (kernels may take a faster path without the planes).
std::vector<std::uint8_t> run_image_only(Preprocessor& pre, const Adc& adc) {
  std::vector<std::uint8_t> image(pre.config().output_pixels());
  pre.process(FrameAdc(adc.data(), Frame::kPixels), {image, {}, {}});
  return image;
}

/// Pedestal + Gaussian noise of `sigma`, plus a per-tick offset shared by each 24-wire group.
Adc noisy_frame(std::mt19937& rng, double pedestal, double sigma, double coherent_sigma = 0) {
  std::normal_distribution<double> gauss(0, 1);
  Adc adc(Frame::kPixels);
  std::vector<double> common(20 * Frame::kTicks);
  for (double& c : common) c = coherent_sigma * gauss(rng);
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    for (std::size_t t = 0; t < Frame::kTicks; ++t) {
      const double v = pedestal + sigma * gauss(rng) + common[(w / 24) * Frame::kTicks + t];
      adc[w * Frame::kTicks + t] = static_cast<std::uint16_t>(std::clamp(std::lround(v), 0L, 16383L));
    }
  }
  return adc;
}

double rms(const std::vector<std::int16_t>& v) {
  double sum2 = 0;
  for (const auto x : v) sum2 += static_cast<double>(x) * x;
  return std::sqrt(sum2 / static_cast<double>(v.size()));
}

}  // namespace

TEST_CASE("Median network leaves the two middle values in its output slots", "[preprocess]") {
  namespace support = larsel::preprocess::test_support;
  std::mt19937 rng(7);
  for (std::size_t n = 1; n <= 64; ++n) {
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<int> v(n);
      for (int& x : v) x = static_cast<int>(rng() % 21) - 10;  // many ties
      const auto [lower, upper] = support::median_network_outputs(v);
      std::sort(v.begin(), v.end());
      REQUIRE(lower == v[(n - 1) / 2]);
      REQUIRE(upper == v[n / 2]);
    }
  }
  // 24 inputs (one WIBEth stream): far fewer comparators than a full sort (Batcher 32: 191).
  CHECK(support::fixed_median_network_comparators_24() == support::median_network_comparators(24));
  CHECK(support::median_network_comparators(24) < 150);
  CHECK_THROWS_AS(support::median_network_comparators(0), std::invalid_argument);
  CHECK_THROWS_AS(support::median_network_outputs(std::vector<int>(129)), std::invalid_argument);
}

TEST_CASE("Frugal division by reciprocal multiply is exact over its range", "[preprocess]") {
  for (unsigned limit = 1; limit <= 255; ++limit) {
    const int range = static_cast<int>(limit) + 64;
    for (int a = -range; a <= range; ++a) {
      REQUIRE(larsel::preprocess::test_support::divide_by_limit(a, limit) == a / static_cast<int>(limit));
    }
  }
}

TEST_CASE("Frugal pedestal follows a pedestal step", "[preprocess]") {
  std::mt19937 rng(1);
  Preprocessor pre(PreprocessConfig{});
  for (int i = 0; i < 5; ++i) run(pre, noisy_frame(rng, 3000, 6));
  // The frugal estimate wanders by a fraction of the noise (sigma 6) around the median.
  for (std::size_t w = 0; w < Frame::kWires; ++w) REQUIRE(std::abs(pre.channels().pedestal[w] - 3000) <= 4);
  // +60 ADC: every sample is above, so each frame moves the pedestal by 64 / 10 = 6 ADC.
  for (int i = 0; i < 9; ++i) run(pre, noisy_frame(rng, 3060, 6));
  CHECK(pre.channels().pedestal[100] >= 3040);
  CHECK(pre.channels().pedestal[100] < 3060);
  for (int i = 0; i < 30; ++i) run(pre, noisy_frame(rng, 3060, 6));
  for (std::size_t w = 0; w < Frame::kWires; ++w) REQUIRE(std::abs(pre.channels().pedestal[w] - 3060) <= 4);
  // Once followed, the step leaves nothing above threshold.
  const Result r = run(pre, noisy_frame(rng, 3060, 6));
  CHECK(std::count_if(r.denoised.begin(), r.denoised.end(), [](std::int16_t v) { return v != 0; }) < 30);
}

TEST_CASE("Coherent noise removal takes out a shared per-tick offset", "[preprocess]") {
  for (const bool coherent : {true, false}) {
    std::mt19937 rng(2);
    PreprocessConfig config;
    config.coherent.enabled = coherent;
    Preprocessor pre(config);
    Result r;
    for (int i = 0; i < 20; ++i) r = run(pre, noisy_frame(rng, 2000, 3, 25));
    INFO("coherent removal " << coherent);
    if (coherent) {
      CHECK(rms(r.filtered) < 3.6);  // 3 ADC incoherent, plus the median's own noise
    } else {
      CHECK(rms(r.filtered) > 20);
    }
  }
}

TEST_CASE("A pulse above threshold survives and noise below does not", "[preprocess]") {
  std::mt19937 rng(3);
  Preprocessor pre(PreprocessConfig{});
  for (int i = 0; i < 20; ++i) run(pre, noisy_frame(rng, 1500, 5));
  Adc adc = noisy_frame(rng, 1500, 5);
  const std::size_t wire = 203;
  for (std::size_t t = 20; t < 29; ++t) adc[wire * Frame::kTicks + t] += 200;
  const Result r = run(pre, adc);
  for (std::size_t t = 20; t < 29; ++t) REQUIRE(r.denoised[wire * Frame::kTicks + t] > 150);
  std::size_t noise_survivors = 0;
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    if (w == wire) continue;
    for (std::size_t t = 0; t < Frame::kTicks; ++t) noise_survivors += r.denoised[w * Frame::kTicks + t] != 0;
  }
  CHECK(noise_survivors < 10);  // 4 sigma, one-sided: 3e-5 of 30656 samples expected
  CHECK(pre.channels().threshold[wire] >= 18);
  CHECK(pre.channels().threshold[wire] <= 23);  // 4 x 5 ADC
  // The 4 x 4 max pool holds the pulse's peak >> 2 at row 203 / 4, ticks 20-28 -> columns 5-7.
  CHECK(r.image[(wire / 4) * 16 + 5] > 37);
}

TEST_CASE("Pooling of known patterns", "[preprocess]") {
  // Noise-free frame: pedestal 1000 everywhere, so z is exactly the pattern.
  Adc adc(Frame::kPixels, 1000);
  adc[5 * 64 + 9] += 100;   // row 1, column 2 of a 4 x 4 pool
  adc[6 * 64 + 10] += 40;
  adc[479 * 64 + 63] += 255 * 4;  // last row and column, saturating after >> 2
  for (const Implementation which : {Implementation::scalar, Implementation::optimised}) {
    PreprocessConfig config;
    config.threshold.min_adc = 0;
    Preprocessor max_pool(config, which);
    Result r = run(max_pool, adc);
    CHECK(r.image[1 * 16 + 2] == 25);
    CHECK(r.image[119 * 16 + 15] == 255);
    CHECK(std::count(r.image.begin(), r.image.end(), 0) == 120 * 16 - 2);
    config.downsize = {4, 2, PoolMode::sum, 1};
    Preprocessor sum_pool(config, which);
    r = run(sum_pool, adc);
    REQUIRE(r.image.size() == 120 * 32);
    CHECK(r.image[1 * 32 + 4] == 50);   // ticks 8-9: 100 >> 1
    CHECK(r.image[1 * 32 + 5] == 20);   // ticks 10-11: 40 >> 1
  }
}

TEST_CASE("Scalar reference and every optimised kernel agree bit for bit", "[preprocess]") {
  larsel::daq::sim::FrameSimulator sim(larsel::daq::sim::SimConfig{}, 99);
  std::vector<Adc> frames;
  larsel::daq::sim::FrameTruth truth;
  for (std::size_t i = 0; i < 24; ++i) {
    Adc adc(Frame::kPixels);
    const auto label = i % 3 == 0 ? larsel::daq::sim::FrameLabel::signal : larsel::daq::sim::FrameLabel::background;
    sim.simulate(i, label, std::span<std::uint16_t, Frame::kPixels>(adc.data(), Frame::kPixels), truth);
    frames.push_back(adc);
  }
  std::mt19937 rng(4);
  for (int i = 0; i < 6; ++i) {  // wild frames: full-range random codes, pedestal jumps
    Adc adc(Frame::kPixels);
    for (auto& v : adc) v = static_cast<std::uint16_t>(rng() % 16384);
    frames.push_back(i % 2 ? adc : noisy_frame(rng, 300 + 2000 * i, 40, 60));
  }
  std::vector<std::pair<const char*, PreprocessConfig>> configs(14);
  configs[0].first = "defaults";
  configs[1] = {"fir", {}};
  configs[1].second.fir.enabled = true;
  configs[2] = {"min ticks 3 and 3 sigma", {}};
  configs[2].second.threshold.min_ticks_over = 3;
  configs[2].second.threshold.sigmas = 3;
  configs[3] = {"sum pool 4x2", {}};
  configs[3].second.downsize = {4, 2, PoolMode::sum, 4};
  configs[4] = {"frame median", {}};
  configs[4].second.pedestal.method = PedestalMethod::frame_median;
  configs[5] = {"no coherent, 1x1", {}};
  configs[5].second.coherent.enabled = false;
  configs[5].second.downsize = {1, 1, PoolMode::max, 0};
  configs[6] = {"groups of 20, pool 8x8 (not aligned)", {}};
  configs[6].second.coherent.group_wires = 20;
  configs[6].second.downsize = {8, 8, PoolMode::max, 3};
  configs[7] = {"groups of 100, pool 5x16 sum", {}};
  configs[7].second.coherent.group_wires = 100;
  configs[7].second.downsize = {5, 16, PoolMode::sum, 6};
  configs[8] = {"groups of 16, pool 4x2 max, min ticks 2", {}};
  configs[8].second.coherent.group_wires = 16;
  configs[8].second.downsize = {4, 2, PoolMode::max, 1};
  configs[8].second.threshold.min_ticks_over = 2;
  configs[9] = {"groups of 32, pool 8x4 max", {}};
  configs[9].second.coherent.group_wires = 32;
  configs[9].second.downsize = {8, 4, PoolMode::max, 2};
  configs[10] = {"the shipped model's: pool 4x4 sum, shift 5", {}};
  configs[10].second.downsize = {4, 4, PoolMode::sum, 5};
  configs[11] = {"pool 4x4 sum, shift 0: saturated sums", {}};
  configs[11].second.downsize = {4, 4, PoolMode::sum, 0};
  configs[12] = {"no coherent, pool 4x1 sum, shift 3, min ticks 2", {}};
  configs[12].second.coherent.enabled = false;
  configs[12].second.downsize = {4, 1, PoolMode::sum, 3};
  configs[12].second.threshold.min_ticks_over = 2;
  configs[13] = {"groups of 16, pool 8x2 sum, shift 7", {}};
  configs[13].second.coherent.group_wires = 16;
  configs[13].second.downsize = {8, 2, PoolMode::sum, 7};
  std::set<std::string> kernels_run;
  static_cast<void>(larsel::test::runnable_kernel_sets());  // warns about the kernel sets this CPU cannot run
  for (const auto& [name, config] : configs) {
    INFO(name);
    for (const std::string& kernel : Preprocessor::available_kernels(config)) {
      if (kernel == "scalar") continue;
      INFO("kernel " << kernel);
      kernels_run.insert(kernel);
      Preprocessor scalar(config, Implementation::scalar), optimised(config, kernel), image_only(config, kernel);
      for (std::size_t i = 0; i < frames.size(); ++i) {
        INFO("frame " << i);
        const Result a = run(scalar, frames[i]), b = run(optimised, frames[i]);
        REQUIRE(a.filtered == b.filtered);
        REQUIRE(a.denoised == b.denoised);
        REQUIRE(a.image == b.image);
        REQUIRE(run_image_only(image_only, frames[i]) == a.image);
        for (const Preprocessor* p : {&optimised, &image_only}) {
          REQUIRE(scalar.channels().pedestal == p->channels().pedestal);
          REQUIRE(scalar.channels().sigma_q4 == p->channels().sigma_q4);
          REQUIRE(scalar.channels().threshold == p->channels().threshold);
        }
      }
    }
  }
  // Every x86-64 CPU runs the baseline kernel; the default configuration gets the fastest one; the fused kernels
  // ran wherever the CPU has them.
  CHECK(kernels_run.count("baseline") == 1);
  if (larsel::core::cpu_supports(larsel::core::KernelSet::avx2)) CHECK(kernels_run.count("avx2-fused") == 1);
  if (larsel::core::cpu_supports(larsel::core::KernelSet::avx512)) CHECK(kernels_run.count("avx512-fused") == 1);
  CHECK(Preprocessor(PreprocessConfig{}).kernel_name() == Preprocessor::available_kernels(PreprocessConfig{}).front());
  CHECK_THROWS_WITH(Preprocessor(PreprocessConfig{}, "sse9"), Catch::Contains("kernel 'sse9' is not available"));
}

TEST_CASE("Preprocess configuration reads back what it writes and names bad keys", "[preprocess]") {
  PreprocessConfig c;
  c.pedestal.method = PedestalMethod::frame_median;
  c.fir.enabled = true;
  c.threshold.sigmas = 3.5;
  c.downsize = {4, 2, PoolMode::sum, 3};
  const PreprocessConfig back = parse_preprocess_config(to_yaml(c), "roundtrip");
  CHECK(to_yaml(back) == to_yaml(c));
  CHECK(back.output_rows() == 120);
  CHECK(back.output_columns() == 32);
  CHECK_THROWS_WITH(parse_preprocess_config("threshold:\n  sigma: 3\n", "pre.yaml"), "pre.yaml: threshold.sigma: unknown key");
  CHECK_THROWS_WITH(parse_preprocess_config("downsize:\n  wires: 7\n", "pre.yaml"), Catch::Contains("does not divide 480"));
  CHECK_THROWS_WITH(parse_preprocess_config("pedestal:\n  method: mean\n", "pre.yaml"), Catch::Contains("not one of"));
  CHECK_THROWS_AS(parse_preprocess_config("threshold: [1, 2", "pre.yaml"), larsel::core::ConfigError);
  std::vector<std::uint8_t> wrong(10);
  Preprocessor pre(c);
  const Adc adc(Frame::kPixels, 100);
  CHECK_THROWS_AS(pre.process(FrameAdc(adc.data(), Frame::kPixels), {wrong, {}, {}}), std::invalid_argument);
}

TEST_CASE("larsel preprocess writes images and a quality report from a simulated data set", "[preprocess][cli]") {
  larsel::test::TempDir dir;
  const auto raw = dir.path() / "raw.h5", images = dir.path() / "images.h5", report = dir.path() / "quality.json";
  REQUIRE(larsel::test::run_larsel(fmt::format("simulate --signal 12 --background 12 --seed 3 --out {}", raw.string())).exit_code == 0);
  const auto run = larsel::test::run_larsel(
      fmt::format("preprocess {} --out {} --quality {} --warmup 8", raw.string(), images.string(), report.string()));
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  // The image-set format training reads: every frame in file order, with its truth.
  const larsel::models::ImageSetFile written = larsel::models::read_image_set(images);
  CHECK(written.set.size() == 24);
  CHECK(written.set.shape.height == 120);
  CHECK(written.set.shape.width == 16);
  CHECK(std::count(written.set.labels.begin(), written.set.labels.end(), 1) == 12);
  CHECK(written.attributes.source == raw.string());
  CHECK(written.attributes.preprocess_config == to_yaml(PreprocessConfig{}));
  CHECK(std::all_of(written.set.pixels.begin(), written.set.pixels.end(), [](std::uint8_t p) { return p == 0; }) == false);
  for (std::size_t i = 0; i < written.set.size(); ++i) {
    CHECK((written.set.labels[i] == 1) == (written.set.nu_energy_mev[i] > 0));
  }
  // Another HDF5 file (the simulated data set itself) is refused with its name, not read as images.
  CHECK_THROWS_WITH(larsel::models::read_image_set(raw), Catch::Contains(raw.string()) && Catch::Contains("not a valid image set"));
  const auto json = nlohmann::json::parse(larsel::test::slurp(report));
  CHECK(json["frames"] == 24);
  CHECK(json["noise_only_pixels_surviving_fraction"].get<double>() < 1e-3);
  CHECK(json["noise_rms_adc"]["after_pedestal_coherent_fir"].get<double>() <
        json["noise_rms_adc"]["raw_minus_frame_median"].get<double>());
  // Bad configuration: one line, exit 2.
  std::ofstream(dir.path() / "bad.yaml") << "downsize:\n  wires: 7\n";
  const auto bad = larsel::test::run_larsel(fmt::format("preprocess {} --out {} --config {}", raw.string(),
                                                       images.string(), (dir.path() / "bad.yaml").string()));
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("does not divide 480"));
}
