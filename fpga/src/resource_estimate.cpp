// Resource and latency estimate of the generated kernel, by the rules of
// thumb of hls-and-fpga.md §6.1 (hls4ml's DSP/BRAM/FF rules; ~17 LUTs per
// non-zero 6-bit MAC calibrated on the hls4ml tutorial's QKeras CNN, scaled
// by operand bits) and the stream timing of §1.2 (one pixel per cycle per
// stage; under DATAFLOW the II is the slowest stage). An estimate to plan
// with: HLS reports and Vivado synthesis are the real figures (§6.1 notes
// LUT estimates ~2x apart between the two).
#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "hls_firmware.hpp"
#include "hls_network.hpp"
#include "larsel/fpga/hls_export.hpp"

namespace larsel::fpga {
namespace {

using detail::HlsStage;
using Kind = HlsStage::Kind;

struct PartResources {
  double lut, ff, dsp, bram36;
};

/// AMD data sheets (DS962 UltraScale+ FPGAs, DS1000 Alveo): the Alveo cards' FPGAs and hls4ml's default part.
const std::map<std::string, PartResources>& known_parts() {
  static const std::map<std::string, PartResources> parts = {
      {"xcu250-figd2104-2L-e", {1'728'000, 3'456'000, 12'288, 2'688}},
      {"xcu200-fsgd2104-2-e", {1'182'240, 2'364'480, 6'840, 2'160}},
      {"xcu280-fsvh2892-2L-e", {1'303'680, 2'607'360, 9'024, 2'016}},
      {"xcu55c-fsvh2892-2L-e", {1'303'680, 2'607'360, 9'024, 2'016}},
      {"xcu50-fsvh2104-2-e", {872'000, 1'743'000, 5'952, 1'344}},
      {"xcvu9p-flga2104-2L-e", {1'182'240, 2'364'480, 6'840, 2'160}},
      {"xcvu13p-flga2577-2-e", {1'728'000, 3'456'000, 12'288, 2'688}},
  };
  return parts;
}

constexpr double kLutPerSixBitMac = 17.0;  // §6.1, all-inclusive (multiplier, adder, registers)
constexpr int kLutMultiplierMaxWeightBits = 8;  // hls4ml: weights < 9 bits become LUT multipliers, 0 DSP
constexpr int kStagePipelineDepth = 6;          // cycles a pipelined stage adds to the latency (typical HLS depth)
constexpr double kAxiMasterLut = 1'500, kAxiMasterFf = 2'500, kAxiMasterBram36 = 2;  // per m_axi port, Vitis defaults [I]

struct Cost {
  double multipliers = 0, dsp = 0, lut = 0, ff = 0, bram36 = 0;
  long long cycles = 0;
  std::string operands;
};

/// One multiplier of `weight_bits` x `data_bits` with its accumulation.
void add_multipliers(Cost& c, double count, int weight_bits, int data_bits, int accumulator_bits) {
  c.multipliers += count;
  c.operands = fmt::format("{}b weight x {}b data", weight_bits, data_bits);
  if (weight_bits <= kLutMultiplierMaxWeightBits) {
    c.lut += count * kLutPerSixBitMac * weight_bits * data_bits / 36.0;
  } else {  // DSP48E2: 27 x 18 signed (AMD AM004)
    const int a = std::max(weight_bits, data_bits), b = std::min(weight_bits, data_bits);
    c.dsp += count * std::ceil(a / 27.0) * std::ceil(b / 18.0);
    c.lut += count * accumulator_bits;  // the adder beside the DSP's own
  }
  c.ff += count * accumulator_bits;  // pipeline register per product
}

/// An array of `depth` words of `bits`: block RAM when deep, else LUT RAM or registers.
void add_memory(Cost& c, double partitions, double depth, int bits) {
  if (depth >= 128) c.bram36 += partitions * std::ceil(depth * bits / 36'864.0);
  else c.lut += partitions * bits * std::ceil(depth / 64.0);
}

Cost stage_cost(const HlsStage& s) {
  Cost c;
  const int in_bits = s.input_type.width, out_bits = s.output_type.width;
  c.cycles = detail::stage_cycles(s);
  switch (s.kind) {
    case Kind::read_frames:
    case Kind::write_scores:
      c.lut += kAxiMasterLut, c.ff += kAxiMasterFf, c.bram36 += kAxiMasterBram36;
      break;
    case Kind::zeropad: c.lut += 20 + s.input.channels * in_bits / 2.0; break;
    case Kind::relu: c.lut += s.input.channels * in_bits; break;
    case Kind::maxpool:
      c.lut += 2.0 * s.input.channels * in_bits;
      add_memory(c, 1, s.output.width, s.input.channels * in_bits);
      break;
    case Kind::conv2d: {
      add_multipliers(c, static_cast<double>(s.taps.size()), s.weight_type.width, in_bits, s.accumulator.width);
      c.ff += static_cast<double>(s.kernel_height * s.kernel_width * s.input.channels * in_bits);  // the window
      add_memory(c, (s.kernel_height - 1) * s.input.channels, s.input.width, in_bits);              // line buffers
      break;
    }
    case Kind::dense: {
      const double slots = static_cast<double>(s.output.channels * s.slots_per_unit);
      add_multipliers(c, static_cast<double>(s.output.channels * s.slots_per_cycle), s.weight_type.width, in_bits, s.accumulator.width);
      const int channel_bits = std::max(1, static_cast<int>(std::ceil(std::log2(std::max(2, s.input.channels)))));
      const double ports = static_cast<double>(s.output.channels * s.slots_per_cycle);  // ROM partitions read per cycle
      add_memory(c, ports, slots / ports * s.input.pixels(), s.weight_type.width + channel_bits);  // the weight ROM
      c.lut += ports * in_bits * s.input.channels / 6.0;                                         // channel multiplexers
      break;
    }
  }
  if (s.kind != Kind::write_scores && s.kind != Kind::read_frames) c.ff += s.output.channels * out_bits * 2.0;
  return c;
}

/// The FIFO after a stage: shift registers when shallow, else block RAM.
void add_fifo(Cost& total, const HlsStage& s) {
  const int depth = detail::stream_depth(s), bits = s.output.channels * s.output_type.width;
  if (depth <= 32) total.lut += bits * std::ceil(depth / 32.0);
  else total.bram36 += std::ceil(depth * bits / 36'864.0);
}

nlohmann::ordered_json fraction(const Cost& c, const PartResources& p) {
  return {{"lut", c.lut / p.lut}, {"ff", c.ff / p.ff}, {"dsp", c.dsp / p.dsp}, {"bram36", c.bram36 / p.bram36}};
}

}  // namespace

nlohmann::ordered_json estimate_hls_resources(models::Model& model, const std::string& part, double clock_mhz) {
  const auto found = known_parts().find(part);
  if (found == known_parts().end()) {
    std::vector<std::string> names;
    for (const auto& [name, resources] : known_parts()) names.push_back(name);
    throw std::invalid_argument(fmt::format("export-hls: no resource table for part '{}' (known: {})", part, fmt::join(names, ", ")));
  }
  if (!(clock_mhz > 0 && clock_mhz <= 1000)) throw std::invalid_argument(fmt::format("export-hls: clock {} MHz is outside (0, 1000]", clock_mhz));
  const detail::HlsNetwork net = detail::describe_hls_network(model);
  Cost total;
  long long slowest = 0, latency = 0;
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const HlsStage& s : net.stages) {
    const Cost c = stage_cost(s);
    total.multipliers += c.multipliers, total.dsp += c.dsp, total.lut += c.lut, total.ff += c.ff, total.bram36 += c.bram36;
    add_fifo(total, s);
    slowest = std::max(slowest, c.cycles);
    latency += kStagePipelineDepth;
    nlohmann::ordered_json j = {{"name", s.name}, {"cycles_per_frame", c.cycles}};
    if (c.multipliers > 0) {
      j["multipliers"] = c.multipliers, j["operands"] = c.operands;
      j["nonzero_weights"] = s.nonzero_weights, j["weights"] = s.total_weights;
    }
    j["dsp"] = c.dsp, j["lut"] = std::round(c.lut), j["ff"] = std::round(c.ff), j["bram36"] = c.bram36;
    layers.push_back(j);
  }
  const PartResources& p = found->second;
  const double ii_us = static_cast<double>(slowest) / clock_mhz, latency_us = static_cast<double>(latency + slowest) / clock_mhz;
  nlohmann::ordered_json j;
  j["part"] = part, j["clock_mhz"] = clock_mhz;
  j["part_resources"] = {{"lut", p.lut}, {"ff", p.ff}, {"dsp", p.dsp}, {"bram36", p.bram36}};
  j["layers"] = layers;
  j["total"] = {{"multipliers", total.multipliers}, {"dsp", total.dsp}, {"lut", std::round(total.lut)}, {"ff", std::round(total.ff)},
                {"bram36", total.bram36}};
  j["fraction_of_part"] = fraction(total, p);
  j["initiation_interval_cycles"] = slowest, j["initiation_interval_us"] = ii_us;
  j["latency_cycles"] = latency + slowest, j["latency_us"] = latency_us;
  j["budget_us"] = 32.0, j["frame_period_us"] = 32.768, j["meets_budget"] = ii_us <= 32.0;
  j["method"] = "hls-and-fpga.md §6.1 rules of thumb and §1.2 stream timing; plan with it, confirm with csynth and Vivado reports";
  return j;
}

std::string estimate_table(const nlohmann::ordered_json& e) {
  std::string text = fmt::format("{:<8} {:>9} {:>11} {:>6} {:>9} {:>9} {:>7}  {}\n", "layer", "cycles", "multipliers", "DSP", "LUT", "FF", "BRAM36",
                                 "multiplier operands");
  for (const auto& l : e["layers"]) {
    text += fmt::format("{:<8} {:>9} {:>11} {:>6} {:>9} {:>9} {:>7}  {}\n", l["name"].get<std::string>(), l["cycles_per_frame"].get<long long>(),
                        l.value("multipliers", 0.0), l["dsp"].get<double>(), l["lut"].get<double>(), l["ff"].get<double>(),
                        l["bram36"].get<double>(), l.value("operands", std::string{}));
  }
  const auto& t = e["total"];
  const auto& f = e["fraction_of_part"];
  text += fmt::format("total (with FIFOs): {} multipliers, {} DSP ({:.2f} %), {} LUT ({:.2f} %), {} FF ({:.2f} %), {} BRAM36 ({:.2f} %) of {}\n",
                      t["multipliers"].get<double>(), t["dsp"].get<double>(), 100 * f["dsp"].get<double>(), t["lut"].get<double>(),
                      100 * f["lut"].get<double>(), t["ff"].get<double>(), 100 * f["ff"].get<double>(), t["bram36"].get<double>(),
                      100 * f["bram36"].get<double>(), e["part"].get<std::string>());
  text += fmt::format("II {} cycles = {:.2f} us at {} MHz (budget 32 us per frame: {}); latency ~{} cycles = {:.2f} us\n",
                      e["initiation_interval_cycles"].get<long long>(), e["initiation_interval_us"].get<double>(), e["clock_mhz"].get<double>(),
                      e["meets_budget"].get<bool>() ? "met" : "NOT met", e["latency_cycles"].get<long long>(), e["latency_us"].get<double>());
  return text;
}

}  // namespace larsel::fpga
