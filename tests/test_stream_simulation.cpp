// The radiological budget and the continuous stream: every background kind at its configured rate and
// labelled in the truth, events spread over the frames they reach with per-event truth that adds up,
// frames that do not depend on how the stream is cut into blocks, and the file that carries it all.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <map>
#include <numeric>

#include "larsel/core/errors.hpp"
#include "larsel/daq/sim/dataset.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/daq/sim/parallel_simulation.hpp"
#include "larsel/daq/sim/physics.hpp"
#include "support.hpp"

using namespace larsel::daq;
using namespace larsel::daq::sim;

namespace {

struct Stream {
  std::vector<std::uint16_t> pixels;
  std::vector<FrameTruth> truth;
  std::vector<EventTruth> events;
};

/// Frames [0, plan.frames) in calls of `step` frames.
Stream simulate(const SimConfig& config, std::uint64_t seed, const StreamPlan& plan, std::size_t step) {
  FrameSimulator simulator(config, seed);
  Stream s;
  s.pixels.resize(plan.frames * Frame::kPixels);
  s.truth.resize(plan.frames);
  for (std::uint64_t first = 0; first < plan.frames; first += step) {
    const std::size_t n = std::min<std::size_t>(step, plan.frames - first);
    simulator.simulate_stream(plan, first, n, std::span(s.pixels.data() + first * Frame::kPixels, n * Frame::kPixels),
                              std::span(s.truth.data() + first, n), s.events);
  }
  return s;
}

}  // namespace

TEST_CASE("a continuous stream does not depend on how it is cut into blocks or on the thread count", "[simulation][stream]") {
  const StreamPlan plan{96, 12};
  const Stream whole = simulate(SimConfig{}, 5, plan, 96), pieces = simulate(SimConfig{}, 5, plan, 7);
  CHECK(whole.pixels == pieces.pixels);
  REQUIRE(whole.events.size() == 12);
  REQUIRE(pieces.events.size() == 12);
  for (std::size_t k = 0; k < 12; ++k) {
    CHECK(whole.events[k].id == k);
    CHECK(pieces.events[k].frame_visible_mev == whole.events[k].frame_visible_mev);
  }
  for (std::size_t i = 0; i < plan.frames; ++i) {
    INFO("frame " << i);
    CHECK(whole.truth[i].event == pieces.truth[i].event);
    CHECK(whole.truth[i].visible_energy_mev == pieces.truth[i].visible_energy_mev);
    CHECK(whole.truth[i].radiological.size() == pieces.truth[i].radiological.size());
  }
  std::vector<std::uint16_t> threaded;
  simulate_stream(SimConfig{}, 5, plan, 2, kChunkFrames, {}, [&](const FrameBlock& b) { threaded.insert(threaded.end(), b.pixels.begin(), b.pixels.end()); });
  CHECK(threaded == whole.pixels);
  CHECK(simulate(SimConfig{}, 6, plan, 96).pixels != whole.pixels);
}

TEST_CASE("events reach several frames, per-event truth adds up and sets the frame labels", "[simulation][stream]") {
  SimConfig config;
  config.signal.spectrum = SpectrumKind::uniform;  // 5-50 MeV electrons: long enough to cross frames
  const StreamPlan plan{600, 60};
  const Stream s = simulate(config, 17, plan, 64);
  REQUIRE(s.events.size() == 60);
  std::size_t multi_frame = 0;
  for (const EventTruth& e : s.events) {
    INFO("event " << e.id);
    const double total = std::accumulate(e.frame_visible_mev.begin(), e.frame_visible_mev.end(), 0.0);
    // The frames past the end of the stream are not listed; their energy still counts in the event's.
    const bool inside = e.first_frame + e.frame_visible_mev.size() < plan.frames;
    if (inside) CHECK(total == Approx(e.visible_energy_mev).epsilon(1e-4));
    CHECK(total <= e.visible_energy_mev + 1e-3);
    CHECK(e.visible_energy_mev <= e.nu_energy_mev - physics::kNueCcThresholdMeV + 1e-3);
    // The vertex sits in its own stretch of the stream.
    CHECK(e.vertex_tick >= 64.0 * 10 * e.id);
    CHECK(e.vertex_tick < 64.0 * 10 * (e.id + 1));
    multi_frame += e.frame_visible_mev.size() > 1;
    for (std::size_t k = 0; k < e.frame_visible_mev.size(); ++k) {
      const FrameTruth& t = s.truth[e.first_frame + k];
      if (e.frame_visible_mev[k] <= 0 || t.event != static_cast<std::int32_t>(e.id)) continue;
      CHECK(t.visible_energy_mev == e.frame_visible_mev[k]);
      CHECK(t.label == (t.visible_energy_mev >= kSignalFrameShare * e.visible_energy_mev ? FrameLabel::signal : FrameLabel::partial));
    }
  }
  CHECK(multi_frame > 30);  // most 5-50 MeV events reach a second frame
  std::size_t background_only = 0;
  for (const FrameTruth& t : s.truth) {
    if (t.event < 0) {
      CHECK(t.label == FrameLabel::background);
      CHECK(t.visible_energy_mev == 0);
      ++background_only;
    }
  }
  CHECK(background_only > 0);
}

TEST_CASE("the default background is DUNE's radiological budget, every kind labelled at its rate", "[simulation][stream][physics]") {
  SimConfig config;
  config.background.neutron_captures_per_s = 300;  // 1 % of frames, to see them at all
  config.background.ar42_bq_per_kg *= 100;          // 0.04 42Ar and 0.04 42K decays per frame
  const StreamPlan plan{3000, 0};
  const Stream s = simulate(config, 23, plan, 128);
  // Each decay is counted once, in the frame where the pulse of its vertex charge peaks (truth lists a
  // decay in every frame it leaves energy in): a Poisson count at the configured rate.
  const auto peaks_here = [](const RadiologicalDeposit& d) {
    return d.tick + FrameSimulator::kPeakDelayTicks >= 0 && d.tick + FrameSimulator::kPeakDelayTicks < 64;
  };
  std::map<DepositKind, double> arrivals;
  for (const FrameTruth& t : s.truth) {
    for (const RadiologicalDeposit& d : t.radiological) arrivals[d.kind] += peaks_here(d) ? 1 : 0;
  }
  const double frame_s = 64 * physics::kTickUs * 1e-6, mass = 69'300;
  const std::map<DepositKind, double> expected{
      {DepositKind::ar39_beta, physics::kAr39BqPerKg * mass * frame_s},
      {DepositKind::kr85_beta, physics::kKr85BqPerKg * mass * frame_s},
      {DepositKind::rn222_chain, 5 * physics::kRn222BqPerKg * mass * frame_s},
      {DepositKind::neutron_capture, 300 * frame_s},
      // 42Ar in the volume, 42K 80 % on the cathode where half its betas go into the CPA: 1.6-2 per 42Ar decay.
      {DepositKind::ar42_chain, 2 * config.background.ar42_bq_per_kg * mass * frame_s}};
  for (const auto& [kind, per_frame] : expected) {
    const double mean = arrivals[kind] / plan.frames, sigma = std::sqrt(per_frame / plan.frames);
    INFO(deposit_kind_name(kind) << ": " << mean << " per frame, expected " << per_frame << " +- " << sigma);
    // Cathode decays that send everything into the CPA leave no energy: up to ~25 % fewer.
    CHECK(mean <= per_frame + 5 * sigma);
    const bool partly_lost = kind == DepositKind::rn222_chain || kind == DepositKind::ar42_chain;
    CHECK(mean >= (partly_lost ? 0.7 : 1.0) * per_frame - 5 * sigma);
  }
  // External gammas convert somewhere in the volume, some not at all: seen, at no more than their rate.
  CHECK(arrivals[DepositKind::external_gamma] > 0.2 * physics::kExternalGammasPerFacePerS * frame_s * plan.frames);
  CHECK(arrivals[DepositKind::external_gamma] < 1.05 * physics::kExternalGammasPerFacePerS * frame_s * plan.frames);
  CHECK(arrivals.count(DepositKind::ar42_chain) == 1);
  SECTION("background.scale multiplies every rate") {
    SimConfig twice = config;
    twice.background.scale = 2;
    const Stream d = simulate(twice, 23, {1000, 0}, 128);
    double ar39 = 0;
    for (const FrameTruth& t : d.truth) {
      for (const RadiologicalDeposit& r : t.radiological) ar39 += r.kind == DepositKind::ar39_beta && peaks_here(r);
    }
    const double per_frame = 2 * physics::kAr39BqPerKg * mass * frame_s;
    CHECK(std::abs(ar39 / 1000 - per_frame) < 5 * std::sqrt(per_frame / 1000));
  }
}

TEST_CASE("larsel simulate --continuous writes the stream with its events and the file reads back exactly", "[simulation][stream][dataset]") {
  larsel::test::TempDir dir;
  const auto path = dir / "stream.h5";
  const auto result = larsel::test::run_larsel("simulate --continuous --frames 200 --events 20 --seed 3 --threads 2 --out '" +
                                                path.string() + "'");
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("20 neutrino events"));
  const DatasetReader reader(path);
  CHECK(reader.continuous());
  REQUIRE(reader.size() == 200);
  const Stream direct = simulate(SimConfig{}, 3, {200, 20}, 200);
  std::vector<std::uint16_t> back(200 * Frame::kPixels);
  reader.read_frames(0, 200, back);
  CHECK(back == direct.pixels);
  REQUIRE(reader.events().size() == 20);
  for (std::size_t k = 0; k < 20; ++k) {
    CHECK(reader.events()[k].first_frame == direct.events[k].first_frame);
    CHECK(reader.events()[k].frame_visible_mev == direct.events[k].frame_visible_mev);
    CHECK(reader.events()[k].vertex_tick == direct.events[k].vertex_tick);
  }
  for (std::size_t i = 0; i < 200; ++i) {
    CHECK(reader.truth(i).event == direct.truth[i].event);
    CHECK(reader.truth(i).label == direct.truth[i].label);
  }
  SECTION("bad requests get one line each") {
    const std::string out = " --out '" + (dir / "x.h5").string() + "'";
    const auto no_frames = larsel::test::run_larsel("simulate --continuous --events 3" + out);
    CHECK(no_frames.exit_code != 0);
    CHECK_THAT(no_frames.err, Catch::Contains("--frames"));
    const auto dense = larsel::test::run_larsel("simulate --continuous --frames 10 --events 8" + out);
    CHECK(dense.exit_code != 0);
    CHECK_THAT(dense.err, Catch::Contains("--events 8"));
    const auto mixed = larsel::test::run_larsel("simulate --continuous --frames 10 --signal 3" + out);
    CHECK(mixed.exit_code != 0);
    CHECK_THAT(mixed.err, Catch::Contains("--signal"));
    CHECK_FALSE(std::filesystem::exists(dir / "x.h5"));
  }
}
