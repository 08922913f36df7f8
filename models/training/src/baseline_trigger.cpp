#include "larsel/models/baseline_trigger.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "larsel/core/json_fields.hpp"

namespace larsel::models {

namespace {

constexpr std::string_view kThresholdKey = "hit_threshold_adc";
constexpr std::string_view kWireGapKey = "max_wire_gap";
constexpr std::string_view kTickGapKey = "max_tick_gap";
constexpr std::string_view kScoreKey = "score";

[[noreturn]] void bad_field(std::string_view field, const std::string& why) { core::bad_json_field("baseline trigger config", field, why); }

void check_range(std::string_view field, int value, int low, int high) {
  if (value < low || value > high) {
    bad_field(field, "must be in [" + std::to_string(low) + ", " + std::to_string(high) + "], got " +
                         std::to_string(value));
  }
}

int read_int(const nlohmann::json& value, std::string_view field) { return core::json_int(value, "baseline trigger config", field); }

/// Bit t set where samples[t] >= threshold, for the 64 ticks of one wire.
/// SSE2 (every x86-64): a wire in 16 instructions, against ~2 cycles per
/// sample for the compiler's scalar loop; most wires are then skipped at once.
std::uint64_t hit_mask(const std::int16_t* samples, std::int16_t threshold) noexcept {
  static_assert(BaselineTrigger::kTicks == 64, "one bit per tick in a 64-bit mask");
#if defined(__SSE2__)
  const __m128i below = _mm_set1_epi16(static_cast<std::int16_t>(threshold - 1));  // threshold >= 1
  std::uint64_t mask = 0;
  for (int block = 0; block < 4; ++block) {
    const auto* base = reinterpret_cast<const __m128i*>(samples + 16 * block);
    const __m128i low = _mm_cmpgt_epi16(_mm_loadu_si128(base), below);
    const __m128i high = _mm_cmpgt_epi16(_mm_loadu_si128(base + 1), below);
    const auto bits = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(low, high)));
    mask |= static_cast<std::uint64_t>(bits) << (16 * block);
  }
  return mask;
#else
  std::uint64_t mask = 0;
  for (int tick = 0; tick < 64; ++tick) mask |= static_cast<std::uint64_t>(samples[tick] >= threshold) << tick;
  return mask;
#endif
}

BaselineConfig::Score read_score(const nlohmann::json& value) {
  if (value == "charge") return BaselineConfig::Score::charge;
  if (value == "size") return BaselineConfig::Score::size;
  bad_field(kScoreKey, "must be \"charge\" or \"size\", got " + core::shown(value));
}

}  // namespace

std::string_view to_string(BaselineConfig::Score score) noexcept {
  return score == BaselineConfig::Score::size ? "size" : "charge";
}

void validate(const BaselineConfig& config) {
  // >= 1: the denoised plane is 0 wherever there is only noise, so 0 would make every sample a hit.
  check_range(kThresholdKey, config.hit_threshold_adc, 1, INT16_MAX);
  check_range(kWireGapKey, config.max_wire_gap, 0, kMaxBaselineWireGap);
  check_range(kTickGapKey, config.max_tick_gap, 0, kMaxBaselineTickGap);
  if (config.score != BaselineConfig::Score::charge && config.score != BaselineConfig::Score::size) {
    bad_field(kScoreKey, "is not a known score kind");
  }
}

nlohmann::json to_json(const BaselineConfig& config) {
  return {{kThresholdKey, config.hit_threshold_adc},
          {kWireGapKey, config.max_wire_gap},
          {kTickGapKey, config.max_tick_gap},
          {kScoreKey, to_string(config.score)}};
}

BaselineConfig baseline_config_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::invalid_argument("baseline trigger config: expected an object, got " + core::shown(json));
  BaselineConfig config;
  for (const auto& [key, value] : json.items()) {
    if (key == kThresholdKey) {
      config.hit_threshold_adc = read_int(value, kThresholdKey);
    } else if (key == kWireGapKey) {
      config.max_wire_gap = read_int(value, kWireGapKey);
    } else if (key == kTickGapKey) {
      config.max_tick_gap = read_int(value, kTickGapKey);
    } else if (key == kScoreKey) {
      config.score = read_score(value);
    } else {
      bad_field(key, "is not a known key");
    }
  }
  validate(config);
  return config;
}

std::vector<BaselineConfig> baseline_tuning_grid() {
  // Thresholds from just above the zero-suppression level (~35 ADC) to above
  // most 39Ar peaks; tight gaps, and gaps that bridge a dead wire and the
  // ticks a steep track skips.
  constexpr int kThresholds[] = {40, 80, 160};
  constexpr std::pair<int, int> kGaps[] = {{0, 1}, {1, 3}};  // {wire gap, tick gap}
  constexpr BaselineConfig::Score kScores[] = {BaselineConfig::Score::charge, BaselineConfig::Score::size};
  std::vector<BaselineConfig> grid;
  for (const auto score : kScores) {
    for (const auto& [wire_gap, tick_gap] : kGaps) {
      for (const int threshold : kThresholds) grid.push_back({threshold, wire_gap, tick_gap, score});
    }
  }
  return grid;
}

BaselineTrigger::BaselineTrigger(const BaselineConfig& config) : config_(config) {
  validate(config_);
  // Runs on a wire are separated by at least one empty tick: at most kTicks / 2 per wire.
  const std::size_t max_runs = kWires * (kTicks / 2);
  runs_.resize(max_runs);
  wire_runs_.resize(kWires + 1);
  parent_.resize(max_runs);
  cluster_charge_.resize(max_runs);
  cluster_wires_.resize(max_runs);
  cluster_last_wire_.resize(max_runs);
}

float BaselineTrigger::score(std::span<const std::int16_t> denoised) {
  if (denoised.size() != kPixels) {
    throw std::invalid_argument("baseline trigger: expected " + std::to_string(kPixels) + " denoised samples, got " +
                                std::to_string(denoised.size()));
  }
  find_runs(denoised);
  if (run_count_ == 0) return 0.0f;
  link_runs();
  return largest_cluster();
}

void BaselineTrigger::find_runs(std::span<const std::int16_t> denoised) {
  run_count_ = 0;
  const std::int16_t threshold = static_cast<std::int16_t>(config_.hit_threshold_adc);
  for (std::size_t wire = 0; wire < kWires; ++wire) {
    wire_runs_[wire] = static_cast<std::int32_t>(run_count_);
    const std::int16_t* samples = denoised.data() + wire * kTicks;
    const std::uint64_t hits = hit_mask(samples, threshold);
    if (hits != 0) find_wire_runs(samples, hits, static_cast<int>(wire));
  }
  wire_runs_[kWires] = static_cast<std::int32_t>(run_count_);
}

void BaselineTrigger::find_wire_runs(const std::int16_t* samples, std::uint64_t hits, int wire) {
  const int reach = config_.max_tick_gap + 1;  // largest tick distance between neighbouring hits
  bool open = false;
  for (; hits != 0; hits &= hits - 1) {  // visit the set bits only
    const int tick = std::countr_zero(hits);
    const int adc = samples[tick];
    if (open && tick - runs_[run_count_ - 1].last_tick <= reach) {
      Run& run = runs_[run_count_ - 1];
      run.charge += adc;
      run.last_tick = static_cast<std::int16_t>(tick);
      continue;
    }
    const auto index = static_cast<std::int32_t>(run_count_++);
    const auto tick16 = static_cast<std::int16_t>(tick);
    runs_[index] = {adc, static_cast<std::int16_t>(wire), tick16, tick16};
    parent_[index] = index;
    open = true;
  }
}

// Two runs on wires at most max_wire_gap + 1 apart touch when their tick spans,
// widened by max_tick_gap + 1, overlap: a run has no hole longer than that, so
// the overlap always holds a pair of hits close enough to be neighbours.
void BaselineTrigger::link_runs() {
  const int wire_reach = config_.max_wire_gap + 1;
  const int tick_reach = config_.max_tick_gap + 1;
  const auto count = static_cast<int>(run_count_);
  for (int run = 0; run < count; ++run) {
    const Run& current = runs_[run];
    // The runs of the wire_reach wires before this one (none before wire 0).
    const int earlier_begin = wire_runs_[std::max(0, current.wire - wire_reach)];
    const int earlier_end = wire_runs_[current.wire];
    for (int other = earlier_begin; other < earlier_end; ++other) {
      if (runs_[other].first_tick <= current.last_tick + tick_reach &&
          current.first_tick <= runs_[other].last_tick + tick_reach) {
        unite(run, other);
      }
    }
  }
}

float BaselineTrigger::largest_cluster() {
  const auto count = static_cast<int>(run_count_);
  std::fill_n(cluster_charge_.begin(), count, 0);
  std::fill_n(cluster_wires_.begin(), count, 0);
  std::fill_n(cluster_last_wire_.begin(), count, -1);
  std::int64_t best_charge = 0;
  std::int32_t best_wires = 0;
  // Runs come in wire order, so a cluster's wires are counted once each.
  for (int run = 0; run < count; ++run) {
    const int root = find_root(run);
    cluster_charge_[root] += runs_[run].charge;
    if (cluster_last_wire_[root] != runs_[run].wire) {
      cluster_last_wire_[root] = runs_[run].wire;
      ++cluster_wires_[root];
    }
    best_charge = std::max(best_charge, cluster_charge_[root]);
    best_wires = std::max(best_wires, cluster_wires_[root]);
  }
  return config_.score == BaselineConfig::Score::charge ? static_cast<float>(best_charge)
                                                         : static_cast<float>(best_wires);
}

int BaselineTrigger::find_root(int run) noexcept {
  while (parent_[run] != run) {
    parent_[run] = parent_[parent_[run]];  // path halving
    run = parent_[run];
  }
  return run;
}

void BaselineTrigger::unite(int a, int b) noexcept {
  const int root_a = find_root(a);
  const int root_b = find_root(b);
  // The smaller index becomes the root: cheap, and trees stay shallow because runs arrive in scan order.
  if (root_a < root_b) {
    parent_[root_b] = root_a;
  } else if (root_b < root_a) {
    parent_[root_a] = root_b;
  }
}

}  // namespace larsel::models
