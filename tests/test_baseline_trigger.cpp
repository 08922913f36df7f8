// The baseline cluster trigger on hand-made denoised planes with known
// answers, against a brute-force flood fill on random planes, and its config.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "larsel/models/baseline_trigger.hpp"

using namespace larsel::models;
using Score = BaselineConfig::Score;

namespace {

constexpr int kWires = static_cast<int>(BaselineTrigger::kWires);
constexpr int kTicks = static_cast<int>(BaselineTrigger::kTicks);

struct Plane {
  std::vector<std::int16_t> adc = std::vector<std::int16_t>(BaselineTrigger::kPixels, 0);
  void set(int wire, int tick, int value) {
    adc.at(static_cast<std::size_t>(wire * kTicks + tick)) = static_cast<std::int16_t>(value);
  }
  [[nodiscard]] int at(int wire, int tick) const { return adc[static_cast<std::size_t>(wire * kTicks + tick)]; }
};

BaselineConfig config_of(int threshold, int wire_gap, int tick_gap, Score score) {
  BaselineConfig config;
  config.hit_threshold_adc = threshold;
  config.max_wire_gap = wire_gap;
  config.max_tick_gap = tick_gap;
  config.score = score;
  return config;
}

float score_of(const Plane& plane, const BaselineConfig& config) {
  BaselineTrigger trigger(config);
  return trigger.score(plane.adc);
}

/// The definition, pixel by pixel: flood fill over hits within the gaps.
float flood_fill_score(const Plane& plane, const BaselineConfig& config) {
  const auto hit = [&](int w, int t) { return plane.at(w, t) >= config.hit_threshold_adc; };
  std::vector<bool> seen(plane.adc.size(), false);
  double best = 0;
  for (int start = 0; start < kWires * kTicks; ++start) {
    if (seen[static_cast<std::size_t>(start)] || !hit(start / kTicks, start % kTicks)) continue;
    std::vector<int> stack{start};
    seen[static_cast<std::size_t>(start)] = true;
    double charge = 0;
    std::vector<bool> wires(kWires, false);
    while (!stack.empty()) {
      const int pixel = stack.back();
      stack.pop_back();
      const int w = pixel / kTicks;
      const int t = pixel % kTicks;
      charge += plane.adc[static_cast<std::size_t>(pixel)];
      wires[static_cast<std::size_t>(w)] = true;
      const int wire_reach = config.max_wire_gap + 1;
      const int tick_reach = config.max_tick_gap + 1;
      for (int nw = std::max(0, w - wire_reach); nw <= std::min(kWires - 1, w + wire_reach); ++nw) {
        for (int nt = std::max(0, t - tick_reach); nt <= std::min(kTicks - 1, t + tick_reach); ++nt) {
          const int next = nw * kTicks + nt;
          if (seen[static_cast<std::size_t>(next)] || !hit(nw, nt)) continue;
          seen[static_cast<std::size_t>(next)] = true;
          stack.push_back(next);
        }
      }
    }
    const auto wire_count = static_cast<double>(std::count(wires.begin(), wires.end(), true));
    const double value = config.score == Score::charge ? charge : wire_count;
    best = std::max(best, value);
  }
  return static_cast<float>(best);
}

/// `blips` small deposits (1-2 wires x 1-5 ticks, 20-300 ADC) at random places.
Plane random_blips(std::mt19937& rng, int blips) {
  std::uniform_int_distribution<int> wire(0, kWires - 2);
  std::uniform_int_distribution<int> tick(0, kTicks - 5);
  std::uniform_int_distribution<int> width(1, 2);
  std::uniform_int_distribution<int> length(1, 5);
  std::uniform_int_distribution<int> adc(20, 300);
  Plane plane;
  for (int b = 0; b < blips; ++b) {
    const int w0 = wire(rng);
    const int t0 = tick(rng);
    const int wires = width(rng);
    const int ticks = length(rng);
    for (int w = w0; w < w0 + wires; ++w) {
      for (int t = t0; t < t0 + ticks; ++t) plane.set(w, t, adc(rng));
    }
  }
  return plane;
}

}  // namespace

TEST_CASE("The baseline trigger scores a straight track by its wires or its charge", "[baseline]") {
  // A track over wires 100..109 drifting one tick per wire, two ticks per wire: diagonal steps only.
  Plane plane;
  int charge = 0;
  for (int w = 100; w < 110; ++w) {
    plane.set(w, 10 + 2 * (w - 100), 200);
    plane.set(w, 11 + 2 * (w - 100), 150);
    charge += 350;
  }
  CHECK(score_of(plane, config_of(60, 0, 0, Score::size)) == 10.0f);
  CHECK(score_of(plane, config_of(60, 0, 0, Score::charge)) == static_cast<float>(charge));
  // A single blip far away is a smaller cluster and does not change the score.
  plane.set(300, 40, 1000);
  CHECK(score_of(plane, config_of(60, 0, 0, Score::size)) == 10.0f);
  CHECK(score_of(plane, config_of(60, 0, 0, Score::charge)) == static_cast<float>(charge));
}

TEST_CASE("The baseline trigger keeps blips beyond the gaps apart and merges those within", "[baseline]") {
  const int wire_gap = GENERATE(0, 1, 3);
  const int tick_gap = GENERATE(0, 2);
  const BaselineConfig charge = config_of(50, wire_gap, tick_gap, Score::charge);
  const BaselineConfig size = config_of(50, wire_gap, tick_gap, Score::size);
  Plane plane;
  plane.set(200, 30, 300);  // blip A: 300 ADC
  SECTION("across wires") {
    plane.set(200 + wire_gap + 2, 30 + tick_gap + 1, 100);  // one wire too far
    CHECK(score_of(plane, charge) == 300.0f);
    CHECK(score_of(plane, size) == 1.0f);
    plane.set(200 + wire_gap + 1, 30 - tick_gap - 1, 100);  // at the corner of the reach
    CHECK(score_of(plane, charge) == 400.0f);  // A and the corner blip, the far one is still apart
    CHECK(score_of(plane, size) == 2.0f);
  }
  SECTION("along one wire") {
    plane.set(200, 30 + tick_gap + 2, 100);  // one tick too far
    CHECK(score_of(plane, charge) == 300.0f);
    plane.set(200, 30 + tick_gap + 1, 100);
    CHECK(score_of(plane, charge) == 500.0f);
    CHECK(score_of(plane, size) == 1.0f);  // two hits on one wire count one wire
  }
  SECTION("two runs on one wire joined through the next wire") {
    plane.set(200, 30 + tick_gap + 2, 100);  // too far from A along wire 200
    plane.set(201, 30 + tick_gap + 1, 50);   // within reach of both
    CHECK(score_of(plane, charge) == 450.0f);
    CHECK(score_of(plane, size) == 2.0f);  // wire 200 counts once
  }
  SECTION("the larger of two separate clusters scores") {
    plane.set(400, 5, 120);
    plane.set(401, 5, 120);
    plane.set(402, 5, 120);
    CHECK(score_of(plane, charge) == 360.0f);
    CHECK(score_of(plane, size) == 3.0f);
  }
}

TEST_CASE("The baseline trigger ignores hits below its threshold", "[baseline]") {
  Plane plane;
  plane.set(50, 20, 100);
  plane.set(51, 20, 99);   // below: no hit, and no bridge to wire 52
  plane.set(52, 20, 100);
  CHECK(score_of(plane, config_of(100, 0, 0, Score::charge)) == 100.0f);
  CHECK(score_of(plane, config_of(100, 0, 0, Score::size)) == 1.0f);
  CHECK(score_of(plane, config_of(99, 0, 0, Score::charge)) == 299.0f);  // at the threshold it is a hit
  CHECK(score_of(plane, config_of(101, 0, 0, Score::charge)) == 0.0f);
  plane.set(60, 20, -500);  // negative samples are never hits
  CHECK(score_of(plane, config_of(101, 0, 0, Score::charge)) == 0.0f);
}

TEST_CASE("The baseline trigger scores an empty frame 0 and forgets earlier frames", "[baseline]") {
  BaselineTrigger trigger(BaselineConfig{});
  const Plane empty;
  CHECK(trigger.score(empty.adc) == 0.0f);
  Plane edges;  // hits in the corners of the frame
  edges.set(0, 0, 500);
  edges.set(kWires - 1, kTicks - 1, 400);
  edges.set(kWires - 1, kTicks - 2, 400);
  CHECK(trigger.score(edges.adc) == 800.0f);
  CHECK(trigger.score(empty.adc) == 0.0f);
  CHECK(trigger.score(edges.adc) == 800.0f);
}

TEST_CASE("The baseline trigger rejects a plane of the wrong size", "[baseline]") {
  BaselineTrigger trigger(BaselineConfig{});
  const std::vector<std::int16_t> short_plane(BaselineTrigger::kPixels - 1, 0);
  const std::vector<std::int16_t> long_plane(BaselineTrigger::kPixels + 1, 0);
  CHECK_THROWS_AS(trigger.score(short_plane), std::invalid_argument);
  CHECK_THROWS_AS(trigger.score(long_plane), std::invalid_argument);
  CHECK_THROWS_AS(trigger.score({}), std::invalid_argument);
}

TEST_CASE("The baseline trigger agrees with a flood fill on random frames", "[baseline]") {
  std::mt19937 rng(20240611);
  std::vector<BaselineConfig> configs = baseline_tuning_grid();
  configs.push_back(config_of(1, 5, 0, Score::size));  // wide wire gap, no tick gap
  configs.push_back(config_of(100, 0, 7, Score::charge));  // the reverse
  configs.push_back(config_of(20, kMaxBaselineWireGap, kMaxBaselineTickGap, Score::size));  // widest
  for (const BaselineConfig& config : configs) {
    BaselineTrigger trigger(config);
    for (int frame = 0; frame < 8; ++frame) {
      const Plane plane = random_blips(rng, 40 + 40 * frame);  // sparse to crowded
      INFO(to_json(config).dump() << " frame " << frame);
      CHECK(trigger.score(plane.adc) == flood_fill_score(plane, config));
    }
  }
}

TEST_CASE("The baseline trigger config round-trips through json and names a bad field", "[baseline]") {
  for (const BaselineConfig& config : baseline_tuning_grid()) {
    CHECK(baseline_config_from_json(to_json(config)) == config);
    CHECK(baseline_config_from_json(nlohmann::json::parse(to_json(config).dump())) == config);
  }
  CHECK(to_json(config_of(70, 2, 3, Score::size)) ==
        nlohmann::json{{"hit_threshold_adc", 70}, {"max_wire_gap", 2}, {"max_tick_gap", 3}, {"score", "size"}});
  CHECK(baseline_config_from_json(nlohmann::json::object()) == BaselineConfig{});  // defaults

  const auto throws_naming = [](const nlohmann::json& json, const std::string& field) {
    INFO(json.dump());
    CHECK_THROWS_WITH(baseline_config_from_json(json), Catch::Contains("'" + field + "'"));
    CHECK_THROWS_AS(baseline_config_from_json(json), std::invalid_argument);
  };
  throws_naming({{"hit_threshold_adc", "60"}}, "hit_threshold_adc");
  throws_naming({{"hit_threshold_adc", 0}}, "hit_threshold_adc");
  throws_naming({{"hit_threshold_adc", 2.5}}, "hit_threshold_adc");
  throws_naming({{"max_wire_gap", -1}}, "max_wire_gap");
  throws_naming({{"max_tick_gap", 1000}}, "max_tick_gap");
  throws_naming({{"max_tick_gap", 18446744073709551615ULL}}, "max_tick_gap");
  throws_naming({{"score", "energy"}}, "score");
  throws_naming({{"max_wire_gaps", 1}}, "max_wire_gaps");
  CHECK_THROWS_AS(baseline_config_from_json(nlohmann::json::array()), std::invalid_argument);
  CHECK_THROWS_AS(BaselineTrigger(config_of(60, -1, 0, Score::charge)), std::invalid_argument);
}

TEST_CASE("The baseline trigger tuning grid is small, valid and without repeats", "[baseline]") {
  const auto grid = baseline_tuning_grid();
  CHECK(grid.size() >= 8);
  CHECK(grid.size() <= 16);
  for (std::size_t i = 0; i < grid.size(); ++i) {
    CHECK_NOTHROW(validate(grid[i]));
    for (std::size_t j = i + 1; j < grid.size(); ++j) CHECK_FALSE(grid[i] == grid[j]);
  }
}
