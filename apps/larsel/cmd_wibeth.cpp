// larsel wibeth decode FILE [--out OUT.h5] [--det-id N] [--json]: frames validated as the UDP receiver does
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "larsel/core/file_io.hpp"
#include "larsel/daq/wibeth_file.hpp"

namespace larsel::app {
namespace {

struct DecodeOptions {
  std::string input;
  std::string output;
  unsigned det_id = daq::wibeth::kDetIdHdTpc;  // frames of another detector are skipped, as the receiver does
  bool json = false;
};

/// "2 daq_version, 1 det_id": the frames validation skipped, per reason.
std::string skipped_text(const daq::DecodedFrames& d) {
  std::string text;
  for (std::size_t fault = 1; fault < d.skipped.size(); ++fault) {
    if (d.skipped[fault] == 0) continue;
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", d.skipped[fault], daq::wibeth::name(static_cast<daq::wibeth::HeaderFault>(fault)));
  }
  return text;
}

nlohmann::ordered_json summary_json(const daq::WibEthBuffer& buffer, const daq::DecodedFrames& d,
                                    const std::vector<daq::ChannelSummary>& channels) {
  nlohmann::ordered_json j;
  j["container"] = buffer.fragment ? "fragment" : "frames";
  if (buffer.fragment) {
    j["fragment"] = {{"run_number", buffer.fragment->run_number},
                     {"trigger_number", buffer.fragment->trigger_number},
                     {"size_field", buffer.fragment->size},
                     {"source_id", buffer.fragment->source_id}};
  }
  j["frames"] = d.headers.size();
  j["frames_skipped"] = d.skipped_total();
  auto& skipped = j["frames_skipped_by_reason"] = nlohmann::ordered_json::object();
  for (std::size_t fault = 1; fault < d.skipped.size(); ++fault) {
    skipped[daq::wibeth::name(static_cast<daq::wibeth::HeaderFault>(fault))] = d.skipped[fault];
  }
  auto& frames = j["frame_headers"] = nlohmann::ordered_json::array();
  for (const auto& h : d.headers) {
    frames.push_back({{"det_id", h.det_id}, {"crate_id", h.crate_id}, {"slot_id", h.slot_id},
                      {"stream_id", h.stream_id}, {"seq_id", h.seq_id}, {"timestamp", h.timestamp}});
  }
  auto& chans = j["channels"] = nlohmann::ordered_json::array();
  for (std::size_t c = 0; c < channels.size(); ++c) {
    chans.push_back({{"channel", c}, {"pedestal", channels[c].pedestal}, {"rms", channels[c].rms}});
  }
  j["warnings"] = buffer.warnings;
  return j;
}

void print_summary(const DecodeOptions& o, const daq::WibEthBuffer& buffer, const daq::DecodedFrames& d,
                   const std::vector<daq::ChannelSummary>& channels) {
  if (buffer.fragment) {
    fmt::print("{}: DUNE-DAQ Fragment (run {}, trigger {}, source id 0x{:08x}) with {} WIBEth frames\n", o.input,
               buffer.fragment->run_number, buffer.fragment->trigger_number, buffer.fragment->source_id,
               buffer.frame_count);
  } else {
    fmt::print("{}: {} concatenated WIBEth frames\n", o.input, buffer.frame_count);
  }
  if (d.skipped_total() > 0) {
    fmt::print("  {} frames skipped, their headers invalid for det_id {} ({}); {} decoded\n", d.skipped_total(), o.det_id,
               skipped_text(d), d.headers.size());
  }
  std::set<std::tuple<int, int, int, int>> ids;
  std::size_t seq_jumps = 0, ts_jumps = 0;
  for (std::size_t i = 0; i < d.headers.size(); ++i) {
    const auto& h = d.headers[i];
    ids.emplace(h.det_id, h.crate_id, h.slot_id, h.stream_id);
    if (i == 0) continue;
    const auto& p = d.headers[i - 1];
    seq_jumps += h.seq_id != (p.seq_id + 1) % daq::wibeth::kSeqIdModulus;
    ts_jumps += h.timestamp != p.timestamp + daq::wibeth::kTicksPerFrame;
  }
  for (const auto& [det, crate, slot, stream] : ids) {
    fmt::print("  det_id {}  crate {}  slot {}  stream {}\n", det, crate, slot, stream);
  }
  const auto& first = d.headers.front();
  const auto& last = d.headers.back();
  fmt::print("  seq_id     {} .. {}  ({} jumps)\n", first.seq_id, last.seq_id, seq_jumps);
  fmt::print("  timestamp  {} .. {}  ({} steps other than 2048)\n", first.timestamp, last.timestamp, ts_jumps);
  fmt::print("  per-channel pedestal (median) and RMS over {} ticks:\n", d.ticks);
  for (std::size_t row = 0; row < 16; ++row) {
    for (std::size_t col = 0; col < 4; ++col) {
      const std::size_t c = col * 16 + row;
      fmt::print("  ch{:2d} {:7.1f} {:6.2f}  ", c, channels[c].pedestal, channels[c].rms);
    }
    fmt::print("\n");
  }
}

int run_decode(const DecodeOptions& o) {
  const auto bytes = core::read_file_bytes(o.input, "the WIBEth file");
  const daq::WibEthBuffer buffer = daq::locate_wibeth_frames(bytes, o.input);
  for (const auto& w : buffer.warnings) spdlog::warn("{}: {}", o.input, w);
  const daq::DecodedFrames decoded = daq::decode_frames(buffer, static_cast<std::uint8_t>(o.det_id));
  if (decoded.headers.empty()) {
    throw std::runtime_error(fmt::format("{}: no valid WIBEth frame: all {} headers fail the receiver's validation for det_id {} ({})",
                                         o.input, buffer.frame_count, o.det_id, skipped_text(decoded)));
  }
  const auto channels = daq::summarize_channels(decoded);
  if (o.json) {
    fmt::print("{}\n", summary_json(buffer, decoded, channels).dump(2));
  } else {
    print_summary(o, buffer, decoded, channels);
  }
  if (!o.output.empty()) {
    daq::write_decoded_hdf5(o.output, decoded, buffer, o.input);
    spdlog::info("wrote {} ({} channels x {} ticks)", o.output, daq::wibeth::kChannels, decoded.ticks);
  }
  return 0;
}

}  // namespace

void add_wibeth_command(CLI::App& app, Action& action) {
  auto* wibeth = app.add_subcommand("wibeth", "Inspect WIBEth data files");
  wibeth->require_subcommand(1);
  auto* decode = wibeth->add_subcommand(
      "decode", "Decode a DUNE-DAQ WIBEth Fragment or concatenated 7200-byte frames; summarise, optionally write HDF5");
  auto options = std::make_shared<DecodeOptions>();
  decode->add_option("FILE", options->input, "Fragment (.bin with 72-byte FragmentHeader) or raw frames")->required();
  decode->add_option("--out", options->output,
                     "Write HDF5: adc (int16 [64 channels][ticks]), timestamp, seq_id, stream_id, crate_id, slot_id");
  decode->add_option("--det-id", options->det_id,
                     "Detector id the frames must carry (3: HD TPC); frames failing the UDP receiver's header validation are skipped")
      ->check(CLI::Range(0, 63))
      ->capture_default_str();
  decode->add_flag("--json", options->json, "Print the summary as JSON");
  decode->callback([&action, options] { action = [options] { return run_decode(*options); }; });
}

}  // namespace larsel::app
