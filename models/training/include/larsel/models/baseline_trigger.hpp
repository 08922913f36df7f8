#pragma once
// The baseline the CNN has to beat: a trigger-primitive style cluster trigger
// on the denoised 480 x 64 collection plane (see daq-practice.md §5.1, DUNE's
// trigger primitives / trigger activity). Hits are samples at or above a
// threshold; hits within a wire gap and a tick gap of each other form one
// cluster; the frame scores its largest cluster, by summed ADC or by the
// number of distinct wires it spans. A neutrino's electron track is long and
// bright, 39Ar betas are small blips on 1-2 wires.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "larsel/daq/frame.hpp"

namespace larsel::models {

struct BaselineConfig {
  int hit_threshold_adc = 60;  // a hit: denoised ADC >= this (noise ~8 ADC, a MIP peaks ~550 ADC per wire)
  int max_wire_gap = 1;        // empty wires allowed between neighbouring hits (0: adjacent wires only)
  int max_tick_gap = 2;        // empty ticks allowed between neighbouring hits (0: adjacent ticks only)
  enum class Score {
    charge,  // the largest summed ADC of a cluster
    size,    // the largest number of distinct wires of a cluster
  } score = Score::charge;

  bool operator==(const BaselineConfig&) const = default;
};

/// Limits of the gaps (a gap spanning the whole frame would merge everything).
inline constexpr int kMaxBaselineWireGap = 32;
inline constexpr int kMaxBaselineTickGap = 16;

std::string_view to_string(BaselineConfig::Score score) noexcept;
/// Throws std::invalid_argument naming the field if a value is out of range.
void validate(const BaselineConfig& config);

/// {"hit_threshold_adc": 60, "max_wire_gap": 1, "max_tick_gap": 2, "score": "charge"}.
nlohmann::json to_json(const BaselineConfig& config);
/// Missing keys keep their defaults. Throws std::invalid_argument naming the
/// field for an unknown key, a wrong type or a value out of range.
BaselineConfig baseline_config_from_json(const nlohmann::json& json);

/// The configurations the trainer compares on the training set (12: thresholds
/// x gap pairs x score kinds); it keeps the best at the working point.
std::vector<BaselineConfig> baseline_tuning_grid();

/// Scores one denoised plane. All buffers are sized at construction: score()
/// does not allocate. Not thread-safe: one trigger per thread.
class BaselineTrigger {
 public:
  static constexpr std::size_t kWires = daq::Frame::kWires;
  static constexpr std::size_t kTicks = daq::Frame::kTicks;
  static constexpr std::size_t kPixels = daq::Frame::kPixels;

  /// Throws std::invalid_argument for a configuration validate() rejects.
  explicit BaselineTrigger(const BaselineConfig& config);

  /// `denoised`: 480 x 64 wire-major (index wire * 64 + tick). Returns the
  /// largest cluster's charge (ADC) or wire count, 0 for a frame without hits.
  /// Throws std::invalid_argument if the span does not hold 30720 values.
  float score(std::span<const std::int16_t> denoised);

  [[nodiscard]] const BaselineConfig& config() const noexcept { return config_; }

 private:
  // A run: the hits of one wire whose successive ticks are at most
  // max_tick_gap + 1 apart, so a run is always inside a single cluster.
  struct Run {
    std::int32_t charge;
    std::int16_t wire;
    std::int16_t first_tick;
    std::int16_t last_tick;
  };

  void find_runs(std::span<const std::int16_t> denoised);
  void find_wire_runs(const std::int16_t* samples, std::uint64_t hits, int wire);
  void link_runs();
  [[nodiscard]] float largest_cluster();
  int find_root(int run) noexcept;
  void unite(int a, int b) noexcept;

  BaselineConfig config_;
  std::vector<Run> runs_;                // capacity for the worst case (every other tick a hit)
  std::size_t run_count_ = 0;
  std::vector<std::int32_t> wire_runs_;  // kWires + 1 offsets: wire w owns runs [wire_runs_[w], wire_runs_[w + 1])
  std::vector<std::int32_t> parent_;     // union-find over runs
  std::vector<std::int64_t> cluster_charge_;
  std::vector<std::int32_t> cluster_wires_;
  std::vector<std::int32_t> cluster_last_wire_;
};

}  // namespace larsel::models
