#include "larsel/bench/simulate_bench.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numbers>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "larsel/bench/bench_stats.hpp"
#include "larsel/daq/channel_map.hpp"
#include "larsel/daq/sim/dataset.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"

namespace larsel::bench {
namespace {

using Clock = std::chrono::steady_clock;
using daq::Frame;
using daq::sim::FrameLabel;

/// Frames per second of one simulator on this thread, per repeat.
std::vector<double> frames_per_second(daq::sim::FrameSimulator& sim, FrameLabel label, unsigned frames, unsigned repeats) {
  std::vector<std::uint16_t> pixels(Frame::kPixels);
  daq::sim::FrameTruth truth;
  std::vector<double> rates;
  std::uint64_t index = label == FrameLabel::signal ? 1'000'000 : 0;
  for (unsigned r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    for (unsigned i = 0; i < frames; ++i) {
      sim.simulate(index++, label, std::span<std::uint16_t, Frame::kPixels>(pixels.data(), Frame::kPixels), truth);
    }
    rates.push_back(frames / std::chrono::duration<double>(Clock::now() - start).count());
  }
  return rates;
}

nlohmann::ordered_json bench_writer(daq::sim::FrameSimulator& sim, unsigned frames) {
  const auto path = std::filesystem::temp_directory_path() / ("larsel-bench-" + std::to_string(std::random_device{}()) + ".h5");
  std::vector<std::uint16_t> pixels(frames * Frame::kPixels);
  std::vector<daq::sim::FrameTruth> truth(frames);
  for (unsigned i = 0; i < frames; ++i) {
    sim.simulate(i, FrameLabel::background, std::span<std::uint16_t, Frame::kPixels>(pixels.data() + i * Frame::kPixels, Frame::kPixels), truth[i]);
  }
  const auto start = Clock::now();
  {
    daq::sim::DatasetWriter writer(path, "", 1);
    for (unsigned i = 0; i < frames; ++i) {
      writer.append(std::span<const std::uint16_t, Frame::kPixels>(pixels.data() + i * Frame::kPixels, Frame::kPixels), truth[i]);
    }
    writer.close();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto bytes = std::filesystem::file_size(path);
  std::filesystem::remove(path);
  return {{"frames", frames}, {"frames_per_second", frames / seconds},
          {"compressed_bytes_per_frame", static_cast<double>(bytes) / frames},
          {"raw_bytes_per_frame", Frame::kPixels * 2}};
}

/// Noise figures of 64-tick windows of 24-channel groups (one WIBEth stream's
/// collection channels): mean per-channel RMS, common mode (per tick, the
/// median over the group) and the mean power in frequency bands.
class NoiseFigures {
 public:
  void add_group(const std::vector<std::array<double, 64>>& channels) {
    std::vector<std::array<double, 64>> centred;
    for (const auto& c : channels) {
      double mean = 0;
      for (const double v : c) mean += v / 64;
      std::array<double, 64> d{};
      double sum2 = 0;
      for (std::size_t t = 0; t < 64; ++t) {
        d[t] = c[t] - mean;
        sum2 += d[t] * d[t];
      }
      rms_.push_back(std::sqrt(sum2 / 64));
      add_spectrum(d);
      centred.push_back(d);
    }
    double cm2 = 0;
    for (std::size_t t = 0; t < 64; ++t) {
      std::vector<double> column;
      for (const auto& d : centred) column.push_back(d[t]);
      std::nth_element(column.begin(), column.begin() + static_cast<std::ptrdiff_t>(column.size() / 2), column.end());
      cm2 += column[column.size() / 2] * column[column.size() / 2];
    }
    common_.push_back(std::sqrt(cm2 / 64));
  }
  [[nodiscard]] nlohmann::ordered_json json() const {
    nlohmann::ordered_json bands = nlohmann::ordered_json::object();
    constexpr double kBinKhz = 1e3 / (64 * 0.512);  // 30.5 kHz per DFT bin of a 64-tick window
    for (const auto& [lo, hi] : kBands) {
      double p = 0;
      for (std::size_t k = lo; k < hi; ++k) p += power_[k] / static_cast<double>(windows_);
      bands[fmt::format("{:.0f}-{:.0f} kHz", lo * kBinKhz, hi * kBinKhz)] = p / static_cast<double>(hi - lo);
    }
    return {{"channel_windows", windows_}, {"rms_adc", describe(rms_)}, {"common_mode_rms_adc", describe(common_)},
            {"mean_power_per_bin", bands}};
  }

 private:
  static constexpr std::array<std::pair<std::size_t, std::size_t>, 4> kBands{{{1, 2}, {2, 4}, {4, 8}, {8, 33}}};
  void add_spectrum(const std::array<double, 64>& d) {
    for (std::size_t k = 1; k <= 32; ++k) {
      double re = 0, im = 0;
      for (std::size_t n = 0; n < 64; ++n) {
        re += d[n] * std::cos(2 * std::numbers::pi * static_cast<double>(k * n) / 64);
        im += d[n] * std::sin(2 * std::numbers::pi * static_cast<double>(k * n) / 64);
      }
      power_[k] += (re * re + im * im) / 64;
    }
    ++windows_;
  }
  std::vector<double> rms_, common_;
  std::array<double, 33> power_{};
  std::size_t windows_ = 0;
};

nlohmann::ordered_json simulated_noise() {
  daq::sim::SimConfig quiet;
  quiet.background.ar39_bq_per_kg = quiet.background.ar42_bq_per_kg = 0;
  daq::sim::FrameSimulator sim(quiet, 77);
  std::vector<std::uint16_t> pixels(Frame::kPixels);
  daq::sim::FrameTruth truth;
  NoiseFigures figures;
  for (std::uint64_t i = 0; i < 50; ++i) {
    sim.simulate(i, FrameLabel::background, std::span<std::uint16_t, Frame::kPixels>(pixels.data(), Frame::kPixels), truth);
    for (std::size_t group = 0; group < 20; ++group) {
      std::vector<std::array<double, 64>> channels(24);
      for (std::size_t k = 0; k < 24; ++k) {
        for (std::size_t t = 0; t < 64; ++t) channels[k][t] = pixels[(group * 24 + k) * 64 + t];
      }
      figures.add_group(channels);
    }
  }
  return figures.json();
}

/// The fixture's 24 collection channels (decoded golden ADCs), as two 64-tick windows.
nlohmann::ordered_json fixture_noise(const std::string& dir) {
  const auto path = std::filesystem::path(dir) / "wibeth_golden.bin";
  std::ifstream in(path, std::ios::binary);
  std::vector<std::int16_t> adc(64 * 128);
  if (!in.read(reinterpret_cast<char*>(adc.data()), static_cast<std::streamsize>(adc.size() * 2))) {
    throw std::runtime_error(fmt::format("{}: cannot read the fixture's golden ADCs", path.string()));
  }
  NoiseFigures figures;
  for (std::size_t window = 0; window < 2; ++window) {
    std::vector<std::array<double, 64>> channels;
    for (const unsigned c : daq::kXPositions) {
      std::array<double, 64> samples{};
      for (std::size_t t = 0; t < 64; ++t) samples[t] = adc[c * 128 + window * 64 + t];
      channels.push_back(samples);
    }
    figures.add_group(channels);
  }
  return figures.json();
}

}  // namespace

nlohmann::ordered_json run_simulate_bench(const SimulateBenchOptions& o) {
  daq::sim::FrameSimulator sim(daq::sim::SimConfig{}, 12345);
  const auto background = frames_per_second(sim, FrameLabel::background, o.background_frames, o.repeats);
  const auto signal = frames_per_second(sim, FrameLabel::signal, o.signal_frames, o.repeats);
  nlohmann::ordered_json j;
  j["benchmark"] = "simulate";
  j["threads"] = 1;
  j["background_frames_per_second"] = describe(background);
  j["signal_frames_per_second"] = describe(signal);
  j["goal_background_frames_per_second_per_core"] = 10000;
  if (o.include_writer) j["hdf5_writer"] = bench_writer(sim, o.background_frames);
  j["noise_simulated"] = simulated_noise();
  if (!o.fixture_dir.empty()) j["noise_protodune_hd_fixture"] = fixture_noise(o.fixture_dir);
  return j;
}

}  // namespace larsel::bench
