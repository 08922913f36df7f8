#include "larsel/preprocess/config.hpp"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "larsel/core/errors.hpp"
#include "larsel/daq/frame.hpp"
#include "larsel/core/yaml_section.hpp"

namespace larsel::preprocess {
namespace {

using daq::Frame;

const std::map<std::string, PedestalMethod> kPedestalMethods = {{"frugal", PedestalMethod::frugal},
                                                                 {"frame_median", PedestalMethod::frame_median}};
const std::map<std::string, PoolMode> kPoolModes = {{"max", PoolMode::max}, {"sum", PoolMode::sum}};

void read_fir(const core::YamlSection& s, FirConfig& fir, const std::string& where) {
  s.read("enabled", fir.enabled);
  s.read("taps", fir.taps, -1024, 1024, 31);
  s.read("shift", fir.shift, 0, 20);
  long gain = 0;
  for (const int tap : fir.taps) gain += tap;
  if (gain <= 0) throw core::ConfigError(fmt::format("{}.taps: the taps must sum to a positive gain", where));
}

void read_downsize(const core::YamlSection& s, DownsizeConfig& d, const std::string& where) {
  s.read("wires", d.wires, 1, Frame::kWires);
  s.read("ticks", d.ticks, 1, Frame::kTicks);
  s.read_choice("mode", d.mode, kPoolModes);
  s.read("shift", d.shift, 0, 20);
  if (Frame::kWires % d.wires != 0) throw core::ConfigError(fmt::format("{}.wires: {} does not divide 480", where, d.wires));
  if (Frame::kTicks % d.ticks != 0) throw core::ConfigError(fmt::format("{}.ticks: {} does not divide 64", where, d.ticks));
}

}  // namespace

std::size_t PreprocessConfig::output_rows() const noexcept { return Frame::kWires / downsize.wires; }
std::size_t PreprocessConfig::output_columns() const noexcept { return Frame::kTicks / downsize.ticks; }

PreprocessConfig parse_preprocess_config(const std::string& yaml_text, const std::string& source) try {
  const YAML::Node root = core::load_yaml(yaml_text, source);
  PreprocessConfig c;
  if (root.IsNull()) return c;
  const core::YamlSection top(root, source, {"pedestal", "coherent", "fir", "threshold", "downsize"});
  const core::YamlSection p(top.child("pedestal"), source + ": pedestal", {"method", "accumulator_limit"});
  p.read_choice("method", c.pedestal.method, kPedestalMethods);
  p.read("accumulator_limit", c.pedestal.accumulator_limit, 1, 255);
  const core::YamlSection cn(top.child("coherent"), source + ": coherent", {"enabled", "group_wires"});
  cn.read("enabled", c.coherent.enabled);
  cn.read("group_wires", c.coherent.group_wires, 2, Frame::kWires);
  read_fir(core::YamlSection(top.child("fir"), source + ": fir", {"enabled", "taps", "shift"}), c.fir, source + ": fir");
  const core::YamlSection t(top.child("threshold"), source + ": threshold",
                      {"sigmas", "min_adc", "noise_update_shift", "min_ticks_over"});
  t.read("sigmas", c.threshold.sigmas, 0, 100);
  t.read("min_adc", c.threshold.min_adc, 0, 16383);
  t.read("noise_update_shift", c.threshold.noise_update_shift, 0, 12);
  t.read("min_ticks_over", c.threshold.min_ticks_over, 1, 8);
  read_downsize(core::YamlSection(top.child("downsize"), source + ": downsize", {"wires", "ticks", "mode", "shift"}),
                c.downsize, source + ": downsize");
  return c;
} catch (const YAML::Exception& e) {
  throw core::config_error_from(e, source);
}

std::string to_yaml(const PreprocessConfig& c) {
  return fmt::format(
      "pedestal:\n  method: {}\n  accumulator_limit: {}\n"
      "coherent:\n  enabled: {}\n  group_wires: {}\n"
      "fir:\n  enabled: {}\n  taps: [{}]\n  shift: {}\n"
      "threshold:\n  sigmas: {}\n  min_adc: {}\n  noise_update_shift: {}\n  min_ticks_over: {}\n"
      "downsize:\n  wires: {}\n  ticks: {}\n  mode: {}\n  shift: {}\n",
      c.pedestal.method == PedestalMethod::frugal ? "frugal" : "frame_median", c.pedestal.accumulator_limit,
      c.coherent.enabled, c.coherent.group_wires, c.fir.enabled, fmt::join(c.fir.taps, ", "), c.fir.shift,
      c.threshold.sigmas, c.threshold.min_adc, c.threshold.noise_update_shift, c.threshold.min_ticks_over,
      c.downsize.wires, c.downsize.ticks, c.downsize.mode == PoolMode::max ? "max" : "sum", c.downsize.shift);
}

PreprocessConfig parse_model_preprocess_config(const std::string& yaml_text, const std::string& model, std::size_t rows,
                                               std::size_t columns) {
  const PreprocessConfig config = parse_preprocess_config(yaml_text, model + ": preprocess_config");
  if (config.output_rows() != rows || config.output_columns() != columns) {
    throw std::runtime_error(fmt::format("{}: the preprocess configuration makes {}x{} images, the network takes {}x{}", model,
                                         config.output_rows(), config.output_columns(), rows, columns));
  }
  return config;
}

}  // namespace larsel::preprocess
