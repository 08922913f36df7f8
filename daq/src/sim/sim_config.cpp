#include "larsel/daq/sim/sim_config.hpp"

#include <map>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"
#include "larsel/core/file_io.hpp"
#include "larsel/core/yaml_section.hpp"

namespace larsel::daq::sim {
namespace {

const std::map<std::string, SpectrumKind> kSpectra = {
    {"supernova", SpectrumKind::supernova}, {"fixed", SpectrumKind::fixed}, {"uniform", SpectrumKind::uniform}};

void read_noise(const YAML::Node& n, const std::string& w, NoiseConfig& c) {
  const core::YamlSection s(n, w, {"collection_pedestal", "induction_pedestal", "pedestal_spread", "collection_incoherent_rms",
                         "collection_coherent_rms", "induction_incoherent_rms", "induction_coherent_rms", "rms_spread",
                         "coherent_group_wires", "dead_channel_fraction", "stuck_channel_fraction"});
  s.read("collection_pedestal", c.collection_pedestal, 0, 16383);
  s.read("induction_pedestal", c.induction_pedestal, 0, 16383);
  s.read("pedestal_spread", c.pedestal_spread, 0, 2000);
  s.read("collection_incoherent_rms", c.collection_incoherent_rms, 0, 1000);
  s.read("collection_coherent_rms", c.collection_coherent_rms, 0, 1000);
  s.read("induction_incoherent_rms", c.induction_incoherent_rms, 0, 1000);
  s.read("induction_coherent_rms", c.induction_coherent_rms, 0, 1000);
  s.read("rms_spread", c.rms_spread, 0, 1);
  s.read("coherent_group_wires", c.coherent_group_wires, 1, 480);
  s.read("dead_channel_fraction", c.dead_channel_fraction, 0, 1);
  s.read("stuck_channel_fraction", c.stuck_channel_fraction, 0, 1);
}

}  // namespace

SimConfig parse_sim_config(const std::string& yaml_text, const std::string& source) try {
  const YAML::Node root = core::load_yaml(yaml_text, source);
  SimConfig c;
  if (root.IsNull()) return c;
  const core::YamlSection top(root, source, {"noise", "detector", "signal", "background"});
  read_noise(root["noise"], source + ": noise", c.noise);
  const core::YamlSection d(root["detector"], source + ": detector", {"electron_lifetime_us", "longitudinal_diffusion", "transverse_diffusion"});
  d.read("electron_lifetime_us", c.detector.electron_lifetime_us, 1, 1e9);
  d.read("longitudinal_diffusion", c.detector.longitudinal_diffusion, 0, 100);
  d.read("transverse_diffusion", c.detector.transverse_diffusion, 0, 100);
  const core::YamlSection g(root["signal"], source + ": signal",
                  {"spectrum", "mean_energy_mev", "pinching", "fixed_electron_mev", "uniform_min_mev", "uniform_max_mev"});
  g.read_choice("spectrum", c.signal.spectrum, kSpectra);
  g.read("mean_energy_mev", c.signal.mean_energy_mev, 1, 100);
  g.read("pinching", c.signal.pinching, 0, 10);
  g.read("fixed_electron_mev", c.signal.fixed_electron_mev, 0.1, 200);
  g.read("uniform_min_mev", c.signal.uniform_min_mev, 0.1, 200);
  g.read("uniform_max_mev", c.signal.uniform_max_mev, 0.1, 200);
  if (c.signal.uniform_min_mev >= c.signal.uniform_max_mev) {
    throw core::ConfigError(fmt::format("{}: signal.uniform_min_mev must be below uniform_max_mev", source));
  }
  const core::YamlSection b(root["background"], source + ": background",
                            {"ar39_bq_per_kg", "ar42_bq_per_kg", "kr85_bq_per_kg", "rn222_bq_per_kg", "neutron_captures_per_s",
                             "external_gammas_per_s", "scale"});
  b.read("ar39_bq_per_kg", c.background.ar39_bq_per_kg, 0, 1000);
  b.read("ar42_bq_per_kg", c.background.ar42_bq_per_kg, 0, 1000);
  b.read("kr85_bq_per_kg", c.background.kr85_bq_per_kg, 0, 1000);
  b.read("rn222_bq_per_kg", c.background.rn222_bq_per_kg, 0, 1000);
  b.read("neutron_captures_per_s", c.background.neutron_captures_per_s, 0, 1e7);
  b.read("external_gammas_per_s", c.background.external_gammas_per_s, 0, 1e7);
  b.read("scale", c.background.scale, 0, 100);
  return c;
} catch (const YAML::Exception& e) {
  throw core::config_error_from(e, source);
}

SimConfig load_sim_config(const std::string& path) {
  if (path.empty()) return {};
  std::string text;
  try {
    text = core::read_file(path, "the simulation config");
  } catch (const std::runtime_error& e) {
    throw core::ConfigError(e.what());
  }
  return parse_sim_config(text, path);
}

std::string to_yaml(const SimConfig& c) {
  const char* spectrum = c.signal.spectrum == SpectrumKind::supernova ? "supernova"
                         : c.signal.spectrum == SpectrumKind::fixed   ? "fixed" : "uniform";
  return fmt::format(
      "noise:\n  collection_pedestal: {}\n  induction_pedestal: {}\n  pedestal_spread: {}\n"
      "  collection_incoherent_rms: {}\n  collection_coherent_rms: {}\n  induction_incoherent_rms: {}\n"
      "  induction_coherent_rms: {}\n  rms_spread: {}\n  coherent_group_wires: {}\n  dead_channel_fraction: {}\n"
      "  stuck_channel_fraction: {}\n"
      "detector:\n  electron_lifetime_us: {}\n  longitudinal_diffusion: {}\n  transverse_diffusion: {}\n"
      "signal:\n  spectrum: {}\n  mean_energy_mev: {}\n  pinching: {}\n  fixed_electron_mev: {}\n"
      "  uniform_min_mev: {}\n  uniform_max_mev: {}\n"
      "background:\n  ar39_bq_per_kg: {}\n  ar42_bq_per_kg: {}\n  kr85_bq_per_kg: {}\n  rn222_bq_per_kg: {}\n"
      "  neutron_captures_per_s: {}\n  external_gammas_per_s: {}\n  scale: {}\n",
      c.noise.collection_pedestal, c.noise.induction_pedestal, c.noise.pedestal_spread, c.noise.collection_incoherent_rms,
      c.noise.collection_coherent_rms, c.noise.induction_incoherent_rms, c.noise.induction_coherent_rms, c.noise.rms_spread,
      c.noise.coherent_group_wires, c.noise.dead_channel_fraction, c.noise.stuck_channel_fraction,
      c.detector.electron_lifetime_us, c.detector.longitudinal_diffusion, c.detector.transverse_diffusion, spectrum,
      c.signal.mean_energy_mev, c.signal.pinching, c.signal.fixed_electron_mev, c.signal.uniform_min_mev,
      c.signal.uniform_max_mev, c.background.ar39_bq_per_kg, c.background.ar42_bq_per_kg,
      c.background.kr85_bq_per_kg, c.background.rn222_bq_per_kg, c.background.neutron_captures_per_s,
      c.background.external_gammas_per_s, c.background.scale);
}

}  // namespace larsel::daq::sim
