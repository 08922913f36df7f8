// Physics simulation: numbers a physicist can check by hand, conservation,
// rates, noise against the real fixture, reproducibility, and the data set file.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "larsel/daq/emulator.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/daq/receive_session.hpp"
#include "larsel/daq/sim/physics_source.hpp"
#include "larsel/daq/sim/dataset.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/daq/sim/parallel_simulation.hpp"
#include "larsel/daq/sim/test_support.hpp"
#include "support.hpp"

using namespace larsel::daq;
using namespace larsel::daq::sim;
namespace support = larsel::daq::sim::test_support;

namespace {

using Pixels = std::vector<std::uint16_t>;
std::span<std::uint16_t, Frame::kPixels> frame_span(Pixels& p) { return std::span<std::uint16_t, Frame::kPixels>(p.data(), Frame::kPixels); }

SimConfig quiet_config() {  // noise only: no radioactivity
  SimConfig c;
  c.background.scale = 0;
  return c;
}

double sum(const std::vector<double>& values) { return std::accumulate(values.begin(), values.end(), 0.0); }

/// Per-wire RMS and the common-mode RMS of groups of 24 wires (per tick, the
/// median over the group), the estimator used on the fixture in docs/simulation.md.
struct NoiseFigures {
  double rms = 0, common_mode_rms = 0;
};
NoiseFigures noise_figures(const std::vector<std::vector<double>>& channels) {
  NoiseFigures f;
  const std::size_t ticks = channels.front().size();
  std::vector<std::vector<double>> centred;
  for (const auto& c : channels) {
    const double mean = std::accumulate(c.begin(), c.end(), 0.0) / static_cast<double>(ticks);
    std::vector<double> d;
    for (const double v : c) d.push_back(v - mean);
    f.rms += std::sqrt(std::inner_product(d.begin(), d.end(), d.begin(), 0.0) / static_cast<double>(ticks));
    centred.push_back(d);
  }
  f.rms /= static_cast<double>(channels.size());
  double cm2 = 0;
  for (std::size_t t = 0; t < ticks; ++t) {
    std::vector<double> column;
    for (const auto& d : centred) column.push_back(d[t]);
    std::nth_element(column.begin(), column.begin() + static_cast<std::ptrdiff_t>(column.size() / 2), column.end());
    cm2 += column[column.size() / 2] * column[column.size() / 2];
  }
  f.common_mode_rms = std::sqrt(cm2 / static_cast<double>(ticks));
  return f;
}

}  // namespace

TEST_CASE("a minimum-ionising track gives the expected charge and ADC peak per collection wire", "[simulation][physics]") {
  // Worked by hand, independently of the simulation's own constants:
  // 2.1 MeV/cm x 0.479 cm = 1.006 MeV per wire; W = 23.6 eV -> 42,373 e-/MeV;
  // modified Box (ArgoNeuT): xi = 0.212 x 2.1 / (1.3954 x 0.5) = 0.6381,
  // R = ln(0.93 + 0.6381) / 0.6381 = 0.7048; charge = 30,040 e- per wire;
  // 1 e- = 1.602e-4 fC x 14 mV/fC x 8.192 ADC/mV = 0.018374 ADC at the peak.
  const double mev_per_wire = 2.1 * 0.479;
  const double xi = 0.212 * 2.1 / (1.3954 * 0.5);
  const double electrons = mev_per_wire * 1e6 / 23.6 * std::log(0.93 + xi) / xi;
  const double peak_adc = electrons * 1.602176634e-4 * 14.0 * 16384.0 / 2000.0;
  CHECK(electrons == Approx(30040).epsilon(0.005));
  CHECK(peak_adc == Approx(552).epsilon(0.01));

  // A straight track across wires 100-300 at the wire plane (no attachment, no diffusion).
  SimConfig config;
  config.detector.longitudinal_diffusion = config.detector.transverse_diffusion = 0;
  std::vector<support::PointDeposit> track;
  const double step = 0.479 / 8;
  for (double y = 100 * 0.479 + step / 2; y < 300 * 0.479; y += step) track.push_back({{0.0, y, 100.0}, 2.1 * step, 2.1});
  const std::vector<float> shaped = support::shaped_frame(config.detector, track, 20.3, 1, 1);
  for (const std::size_t wire : {120, 200, 280}) {
    const float* row = shaped.data() + wire * Frame::kTicks;
    const double peak = *std::max_element(row, row + Frame::kTicks);
    INFO("wire " << wire);
    // Sampling every 512 ns catches the 2.2 us peak to within 3 %.
    CHECK(peak <= peak_adc * 1.001);
    CHECK(peak >= peak_adc * 0.97);
  }
  CHECK(support::electrons_at_wires(config.detector, {{0, 0, 0}, mev_per_wire, 2.1}) == Approx(electrons).epsilon(1e-3));
  SECTION("electron lifetime attenuates charge drifting 2.25 ms by exp(-2.25/10)") {
    const double far = support::electrons_at_wires(config.detector, {{360, 0, 0}, mev_per_wire, 2.1});
    CHECK(far / electrons == Approx(std::exp(-2250.0 / 10000.0)).epsilon(1e-3));
  }
}

TEST_CASE("deposited energy never exceeds the particle energy, and is conserved", "[simulation][physics]") {
  for (std::uint64_t i = 0; i < 200; ++i) {
    const double energy = 0.05 + (60.0 - 0.05) * (static_cast<double>(i) + 0.5) / 200;  // evenly over 0.05-60 MeV
    const std::vector<double> electron = support::electron_deposit_energies(energy, {100, 100, 100}, 7, i);
    const std::vector<double> photon = support::photon_deposit_energies(energy, {100, 100, 100}, 7, i);
    REQUIRE(sum(electron) == Approx(energy).epsilon(1e-9));
    REQUIRE(sum(photon) == Approx(energy).epsilon(1e-9));
    for (const double e : electron) REQUIRE(e >= 0);
  }
  FrameSimulator simulator(SimConfig{}, 3);
  Pixels pixels(Frame::kPixels);
  FrameTruth truth;
  for (int i = 0; i < 100; ++i) {
    const support::InteractionEnergies event =
        support::neutrino_interaction(SignalConfig{}, {100, 100, 300}, 8, static_cast<std::uint64_t>(i));
    CHECK(event.deposited_mev == Approx(event.electron_mev + event.excitation_mev).epsilon(1e-9));
    CHECK(event.nu_mev == Approx(event.electron_mev + event.excitation_mev + 1.504).epsilon(1e-9));
    simulator.simulate(static_cast<std::uint64_t>(i), FrameLabel::signal, frame_span(pixels), truth);
    CHECK(truth.visible_energy_mev <= truth.nu_energy_mev - 1.504 + 1e-3);
    CHECK(truth.visible_energy_mev >= 0);
  }
}

TEST_CASE("39Ar decays per frame match 1.01 Bq/kg in the face's drift volume", "[simulation][physics]") {
  FrameSimulator simulator(SimConfig{}, 11);
  const double expected = simulator.mean_ar39_decays_per_frame();
  // 2.30 m x 6 m x 3.6 m x 1.3954 t/m^3 = 69.3 t; 69,300 kg x 1.01 Bq/kg x 32.768 us = 2.29.
  CHECK(expected == Approx(2.29).epsilon(0.01));
  Pixels pixels(Frame::kPixels);
  FrameTruth truth;
  const int frames = 3000;
  std::uint64_t decays = 0;
  for (int i = 0; i < frames; ++i) {
    simulator.simulate(static_cast<std::uint64_t>(i), FrameLabel::background, frame_span(pixels), truth);
    for (const auto& d : truth.radiological) {
      if (d.kind == DepositKind::ar39_beta && d.tick >= 0 && d.tick < 64) ++decays;
      if (d.kind == DepositKind::ar39_beta) CHECK(d.energy_mev <= physics::kAr39EndpointMeV + 1e-3);
    }
  }
  const double mean = static_cast<double>(decays) / frames, sigma = std::sqrt(expected / frames);
  INFO("mean " << mean << " expected " << expected << " +- " << sigma);
  CHECK(std::abs(mean - expected) < 4 * sigma);
}

TEST_CASE("39Ar beta spectrum: 565 keV endpoint, mean near 220 keV", "[simulation][physics]") {
  const support::BetaDraws draws = support::sample_beta_spectrum(0.565, 19, true, 20000, 5, 5);
  const double max = *std::max_element(draws.energies_mev.begin(), draws.energies_mev.end());
  CHECK(max <= 0.565);
  CHECK(sum(draws.energies_mev) / 20000 == Approx(draws.spectrum_mean_mev).epsilon(0.02));
  CHECK(draws.spectrum_mean_mev == Approx(0.22).epsilon(0.1));  // 39Ar mean beta energy ~0.22 MeV [G]
}

TEST_CASE("noise: RMS and coherent fraction as configured, and like the real ProtoDUNE-HD collection plane", "[simulation][noise]") {
  FrameSimulator simulator(quiet_config(), 21);
  Pixels pixels(Frame::kPixels);
  FrameTruth truth;
  std::vector<double> rms, common;
  for (std::uint64_t i = 0; i < 100; ++i) {
    simulator.simulate(i, FrameLabel::background, frame_span(pixels), truth);
    for (std::size_t group = 0; group < 20; ++group) {  // the 24 wires of each stream, as in the fixture
      std::vector<std::vector<double>> channels;
      for (std::size_t w = group * 24; w < group * 24 + 24; ++w) {
        channels.emplace_back(pixels.begin() + static_cast<std::ptrdiff_t>(w * 64), pixels.begin() + static_cast<std::ptrdiff_t>(w * 64 + 64));
      }
      const NoiseFigures f = noise_figures(channels);
      rms.push_back(f.rms);
      common.push_back(f.common_mode_rms);
    }
  }
  const double mean_rms = std::accumulate(rms.begin(), rms.end(), 0.0) / static_cast<double>(rms.size());
  const double mean_common = std::accumulate(common.begin(), common.end(), 0.0) / static_cast<double>(common.size());
  // sqrt(6.8^2 + 4.9^2) = 8.38 ADC expected over long stretches; a 64-tick window
  // of low-frequency noise shows ~10 % less about its own mean.
  CHECK(mean_rms == Approx(8.38).epsilon(0.15));
  CHECK(mean_common == Approx(4.9).epsilon(0.25));

  const auto dir = larsel::test::fixture_dir();
  if (!dir) return;
  // The same estimator on the real fixture's 24 collection channels, in the
  // same 64-tick windows (its two frames): low-frequency noise makes the
  // window length matter.
  const auto golden = larsel::test::read_bytes(*dir / "wibeth_golden.bin");
  double fixture_rms = 0, fixture_common = 0;
  for (std::size_t window = 0; window < 2; ++window) {
    std::vector<std::vector<double>> real;
    for (const unsigned c : kXPositions) {
      std::vector<double> samples(64);
      for (std::size_t t = 0; t < 64; ++t) {
        std::int16_t v;
        std::memcpy(&v, golden.data() + 2 * (c * 128 + window * 64 + t), 2);
        samples[t] = v;
      }
      real.push_back(samples);
    }
    const NoiseFigures f = noise_figures(real);
    fixture_rms += f.rms / 2;
    fixture_common += f.common_mode_rms / 2;
  }
  INFO("fixture rms " << fixture_rms << " common " << fixture_common << "; simulated " << mean_rms << " " << mean_common);
  CHECK(fixture_rms == Approx(8.27).epsilon(0.01));       // 7.21 and 9.33 in its two frames
  CHECK(mean_rms == Approx(fixture_rms).epsilon(0.12));   // two real windows: ~10 % statistical precision
  CHECK(mean_common == Approx(fixture_common).epsilon(0.3));
}

TEST_CASE("identical seeds give identical data sets, whatever the thread count", "[simulation]") {
  auto run = [](std::uint64_t seed, unsigned threads) {
    std::vector<std::uint16_t> all;
    std::vector<float> visible;
    simulate_frames(SimConfig{}, seed, 10, 30, threads, kChunkFrames, {}, [&](const FrameBlock& block) {
      all.insert(all.end(), block.pixels.begin(), block.pixels.end());
      for (const auto& t : block.truth) visible.push_back(t.visible_energy_mev);
    });
    return std::make_pair(all, visible);
  };
  const auto one = run(42, 1), two = run(42, 2), other = run(43, 2);
  CHECK(one.first.size() == 40 * Frame::kPixels);
  CHECK(one == two);
  CHECK(one.first != other.first);
}

TEST_CASE("data set file: frames and truth read back exactly, bad files get clear errors", "[simulation][dataset]") {
  larsel::test::TempDir dir;
  const auto path = dir / "set.h5";
  std::vector<std::uint16_t> expected;
  std::vector<FrameTruth> truths;
  {
    DatasetWriter writer(path, "noise: {}\n", 9);
    simulate_frames(SimConfig{}, 9, 5, 30, 2, kChunkFrames,
                    [](FrameBlock& b) { encode_chunk(b.pixels, b.encoded); },
                    [&](const FrameBlock& b) {
                      writer.append_encoded(b.encoded, b.truth);
                      expected.insert(expected.end(), b.pixels.begin(), b.pixels.end());
                      truths.insert(truths.end(), b.truth.begin(), b.truth.end());
                    });
    writer.close();
  }
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  const DatasetReader reader(path);
  REQUIRE(reader.size() == 35);  // two full chunks and a short one
  std::vector<std::uint16_t> back(35 * Frame::kPixels);
  reader.read_frames(0, 35, back);
  CHECK(back == expected);
  CHECK(reader.seed() == 9);
  CHECK(reader.config_yaml() == "noise: {}\n");
  for (std::size_t i = 0; i < 35; ++i) {
    INFO("frame " << i);
    CHECK(reader.truth(i).label == (i < 5 ? FrameLabel::signal : FrameLabel::background));
    CHECK(reader.truth(i).visible_energy_mev == truths[i].visible_energy_mev);
    CHECK(reader.truth(i).radiological.size() == truths[i].radiological.size());
  }
  std::ofstream(dir / "junk.h5") << "not hdf5";
  CHECK_THROWS_WITH(DatasetReader(dir / "junk.h5"), Catch::Contains("junk.h5"));
  CHECK_THROWS_WITH(DatasetReader(dir / "missing.h5"), Catch::Contains("no such file"));
  {
    DatasetWriter abandoned(dir / "abandoned.h5", "", 1);  // never closed: no file is left behind
  }
  CHECK_FALSE(std::filesystem::exists(dir / "abandoned.h5.tmp"));
  CHECK_FALSE(std::filesystem::exists(dir / "abandoned.h5"));
}

TEST_CASE("simulation config: defaults round-trip through YAML, errors name the key", "[simulation][config]") {
  const SimConfig defaults;
  const SimConfig again = parse_sim_config(to_yaml(defaults), "round trip");
  CHECK(to_yaml(again) == to_yaml(defaults));
  CHECK_THROWS_WITH(parse_sim_config("noise:\n  colection_pedestal: 3\n", "sim.yaml"),
                    Catch::Contains("sim.yaml: noise.colection_pedestal: unknown key"));
  CHECK_THROWS_WITH(parse_sim_config("signal:\n  spectrum: flat\n", "sim.yaml"), Catch::Contains("signal.spectrum"));
  CHECK_THROWS_WITH(parse_sim_config("detector:\n  electron_lifetime_us: -5\n", "sim.yaml"), Catch::Contains("electron_lifetime_us"));
  CHECK_THROWS_AS(parse_sim_config("noise: [1, 2\n", "sim.yaml"), larsel::core::ConfigError);
}

TEST_CASE("physics emulator over UDP: injected signal periods arrive where the truth file says", "[simulation][udp]") {
  larsel::test::TempDir dir;
  const ChannelMap map = ChannelMap::emulated(1);
  ReceiveConfig rc;
  rc.listen = "127.0.0.1:0";
  std::map<std::uint64_t, double> excess;  // timestamp -> largest ADC above its wire's median
  ReceiveSession session(rc, map, [&](FrameHandle f) {
    double best = 0;
    for (std::size_t w = 0; w < Frame::kWires; ++w) {
      std::array<std::uint16_t, Frame::kTicks> row{};
      std::copy(f->wire(w).begin(), f->wire(w).end(), row.begin());
      std::nth_element(row.begin(), row.begin() + 32, row.end());
      const auto peak = *std::max_element(f->wire(w).begin(), f->wire(w).end());
      best = std::max(best, static_cast<double>(peak) - row[32]);
    }
    excess[f->timestamp] = best;
  });
  EmulatorConfig ec;
  ec.target = session.local_address();
  ec.periods = 600;
  ec.speed = 0.05;
  ec.signal_rate_hz = 3000;  // ~10 % of periods
  ec.truth_file = (dir / "truth.jsonl").string();
  PhysicsWaveformSource source(SimConfig{}, 5);
  Emulator emulator(ec, map, source);
  std::atomic<bool> stop{false};
  std::thread receiver([&] { session.run(stop, ReceiveLimits{.seconds = 60, .idle_seconds = 0.3}); });
  emulator.run(stop);
  receiver.join();

  REQUIRE(excess.size() == 600);
  std::ifstream truth_in(ec.truth_file);
  std::vector<double> signal_excess;
  std::size_t lines = 0;
  for (std::string line; std::getline(truth_in, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    const auto ts = j["timestamp"].get<std::uint64_t>();
    REQUIRE(excess.contains(ts));
    if (j["visible_energy_mev"].get<double>() > 3.0) signal_excess.push_back(excess[ts]);
    excess.erase(ts);
  }
  CHECK(lines == emulator.stats().signal_periods);
  CHECK(lines > 30);
  std::vector<double> background_excess;
  for (const auto& [ts, e] : excess) background_excess.push_back(e);
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  REQUIRE(signal_excess.size() > 10);
  INFO("median peak above pedestal: signal " << median(signal_excess) << ", background " << median(background_excess));
  CHECK(median(signal_excess) > 2 * median(background_excess));
  CHECK_THROWS_AS(Emulator(ec, map, *std::make_unique<NoiseWaveformSource>(NoiseSourceConfig{})), larsel::core::ConfigError);
}

TEST_CASE("reordered datagrams of signal periods keep their own timestamps", "[simulation][udp]") {
  // One signal entry drawn in most periods: a held (reordered) datagram must not
  // be overwritten by the next period's send of the same entry.
  const ChannelMap map = ChannelMap::emulated(1);
  ReceiveConfig rc;
  rc.listen = "127.0.0.1:0";
  rc.builder.incomplete_timeout = std::chrono::seconds(2);
  ReceiveSession session(rc, map, [](FrameHandle) {});
  EmulatorConfig ec;
  ec.target = session.local_address();
  ec.periods = 300;
  ec.speed = 0.05;
  ec.signal_rate_hz = 25000;  // ~80 % of periods
  ec.signal_pool_periods = 1;
  ec.faults.reorder = 0.05;
  PhysicsWaveformSource source(SimConfig{}, 8);
  Emulator emulator(ec, map, source);
  std::atomic<bool> stop{false};
  std::thread receiver([&] { session.run(stop, ReceiveLimits{.seconds = 60, .idle_seconds = 0.3}); });
  emulator.run(stop);
  receiver.join();
  const auto& c = session.counters();
  CHECK(emulator.stats().reordered > 100);
  CHECK(c.out_of_order.get() == emulator.stats().reordered);
  CHECK(c.duplicate.get() == 0);
  CHECK(c.datagrams_accepted.get() == 300 * 20);
  CHECK(c.frames_complete.get() == 300);
}
