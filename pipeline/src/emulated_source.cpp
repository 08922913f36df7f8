// The in-process emulator: simulated frames handed to the pipeline whole.
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "frame_source.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/daq/sim/parallel_simulation.hpp"
#include "larsel/daq/wibeth.hpp"
#include "thread_support.hpp"

namespace larsel::pipeline {
namespace {

using daq::Frame;
constexpr auto kPacingQuantum = std::chrono::microseconds(200);
namespace sim = daq::sim;

/// One face's preloaded frames: signal entries first, then background.
struct FacePool {
  std::vector<std::uint16_t> pixels;  // frames x 30720
  std::vector<sim::FrameTruth> truth;
  std::uint32_t signal_frames = 0, background_frames = 0;
  [[nodiscard]] const std::uint16_t* frame(std::size_t i) const noexcept { return pixels.data() + i * Frame::kPixels; }
};

class EmulatedSource final : public FrameSource {
 public:
  EmulatedSource(const InputConfig& config, RunLimits limits) : config_(config), limits_(limits) {
    const sim::SimConfig sim_config = sim::load_sim_config(config.sim_config);
    const auto start = SteadyClock::now();
    for (unsigned f = 0; f < config.faces; ++f) pools_.push_back(preload(sim_config, f));
    spdlog::info("emulator: preloaded {} background + {} signal frames per face for {} face(s) in {:.1f} s", config.pool_frames,
                 config.signal_pool_frames, config.faces, std::chrono::duration<double>(SteadyClock::now() - start).count());
  }

  void run(const std::atomic<bool>& stop, SourceOutput output) override {
    prepare_pipeline_thread("larsel-source");
    SlotFeeder feeder(output);
    const auto period = std::chrono::duration<double>(static_cast<double>(daq::wibeth::kTicksPerFrame) / daq::wibeth::kClockHz / config_.speed);
    const double signal_probability = config_.signal_rate_hz * static_cast<double>(daq::wibeth::kTicksPerFrame) / daq::wibeth::kClockHz;
    const auto start = SteadyClock::now();
    clock_ = {static_cast<std::uint64_t>(static_cast<double>(unix_now_ns()) * 0.0625), unix_now_ns(), config_.speed};
    clock_.origin_ticks -= clock_.origin_ticks % daq::wibeth::kTicksPerFrame;
    std::uint64_t period_index = 0;
    while (!stop.load(std::memory_order_relaxed) && within_limits(period_index, start)) {
      // A frame is complete at the end of its 64 ticks: hand it over then.
      const auto due = start + std::chrono::duration_cast<SteadyClock::duration>(period * static_cast<double>(period_index + 1));
      if (!config_.max_rate && SteadyClock::now() < due) {
        // Hand frames over in bursts, like a NIC's interrupt coalescing: one wake-up per
        // kPacingQuantum rather than one per 32.768 us frame (the wake-ups cost more than the frames).
        std::this_thread::sleep_until(due + kPacingQuantum);
        continue;
      }
      emit_period(feeder, period_index, signal_probability, stop);
      ++period_index;
    }
    periods_emitted_ = period_index;
  }

  [[nodiscard]] DataClock data_clock() const override { return clock_; }

  [[nodiscard]] nlohmann::ordered_json report() const override {
    return {{"kind", "emulator"},
            {"faces", config_.faces},
            {"frame_periods", periods_emitted_},
            {"signal_frames_emitted", signal_emitted_},
            {"distinct_background_frames_per_face", config_.pool_frames},
            {"distinct_signal_frames_per_face", config_.signal_pool_frames}};
  }

 private:
  FacePool preload(const sim::SimConfig& sim_config, unsigned face) const {
    FacePool pool;
    pool.signal_frames = config_.signal_pool_frames;
    pool.background_frames = config_.pool_frames;
    const std::size_t total = std::size_t{pool.signal_frames} + pool.background_frames;
    pool.pixels.resize(total * Frame::kPixels);
    pool.truth.resize(total);
    // Seeds apart from the data sets the model was trained (101) and tested (202) on.
    const std::uint64_t seed = config_.seed * 1000 + face;
    sim::simulate_frames(sim_config, seed, pool.signal_frames, pool.background_frames, 2, 64, nullptr, [&pool](const sim::FrameBlock& block) {
      std::copy(block.pixels.begin(), block.pixels.end(), pool.pixels.begin() + static_cast<std::ptrdiff_t>(block.first * Frame::kPixels));
      std::copy(block.truth.begin(), block.truth.end(), pool.truth.begin() + static_cast<std::ptrdiff_t>(block.first));
    });
    return pool;
  }

  [[nodiscard]] bool within_limits(std::uint64_t periods, SteadyClock::time_point start) const {
    if (limits_.frames > 0 && periods >= limits_.frames) return false;
    return limits_.seconds <= 0 || std::chrono::duration<double>(SteadyClock::now() - start).count() < limits_.seconds;
  }

  void emit_period(SlotFeeder& feeder, std::uint64_t period_index, double signal_probability, const std::atomic<bool>& stop) {
    const std::uint64_t timestamp = clock_.origin_ticks + period_index * daq::wibeth::kTicksPerFrame;
    for (std::uint32_t f = 0; f < pools_.size(); ++f) {
      const FacePool& pool = pools_[f];
      const bool signal = pool.signal_frames > 0 && uniform_(rng_) < signal_probability;
      const std::size_t entry = signal ? next_signal_[f]++ % pool.signal_frames : pool.signal_frames + period_index % pool.background_frames;
      signal_emitted_ += signal ? 1 : 0;
      const sim::FrameTruth& truth = pool.truth[entry];
      const auto arrival = SteadyClock::now();
      feeder.offer([&](FrameSlot& slot) {
        slot.adc = pool.frame(entry);
        slot.timestamp = timestamp;
        slot.sequence = period_index;
        slot.face = f;
        slot.face_index = f;
        slot.missing_streams = 0;
        slot.flags = wire::flag::truth_known | (truth.label == sim::FrameLabel::signal ? wire::flag::truth_signal : 0);
        slot.truth_visible_energy_mev = truth.visible_energy_mev;
        slot.truth_nu_energy_mev = truth.nu_energy_mev;
        slot.arrival = arrival;
      }, stop);
    }
  }

  InputConfig config_;
  RunLimits limits_;
  std::vector<FacePool> pools_;
  DataClock clock_;
  std::mt19937_64 rng_{config_.seed ^ 0x5eedULL};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  std::array<std::uint64_t, 8> next_signal_{};
  std::uint64_t periods_emitted_ = 0, signal_emitted_ = 0;
};

}  // namespace

std::unique_ptr<FrameSource> make_emulated_source(const InputConfig& config, RunLimits limits) {
  return std::make_unique<EmulatedSource>(config, limits);
}

}  // namespace larsel::pipeline
