// Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<target>/) with the project's
// own encoders: fuzz_make_corpus OUTDIR. The files are committed; rerun it only when a format
// changes (scripts/fuzz.sh never writes into the committed corpora).
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "larsel/daq/fragment.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "larsel/daq/wibeth.hpp"
#include "larsel/pipeline/config.hpp"
#include "larsel/pipeline/wire_format.hpp"
#include "larsel/preprocess/config.hpp"

namespace {

namespace fs = std::filesystem;
namespace wibeth = larsel::daq::wibeth;
namespace wire = larsel::pipeline::wire;
using Bytes = std::vector<std::uint8_t>;

void write_file(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
void write_text(const fs::path& path, std::uint8_t prefix, const std::string& text) {
  Bytes bytes{prefix};
  bytes.insert(bytes.end(), text.begin(), text.end());
  write_file(path, bytes);
}

/// One emulated-detector datagram: stream `stream_id` of slot `slot`, ADCs a ramp plus `offset`.
Bytes wibeth_frame(std::uint8_t slot, std::uint8_t stream_id, std::uint64_t timestamp, std::uint16_t offset) {
  std::array<std::byte, wibeth::kFrameBytes> frame{};
  wibeth::Header header;
  header.crate_id = 1, header.slot_id = slot, header.stream_id = stream_id, header.timestamp = timestamp;
  header.seq_id = static_cast<std::uint16_t>((timestamp / wibeth::kTicksPerFrame) % wibeth::kSeqIdModulus);
  header.colddata_timestamp_0 = header.colddata_timestamp_1 = static_cast<std::uint16_t>(timestamp & 0x7FFF);
  wibeth::encode_header(header, frame);
  std::array<std::uint16_t, wibeth::kAdcCount> adc{};
  for (std::size_t i = 0; i < adc.size(); ++i) adc[i] = static_cast<std::uint16_t>((3600 + offset + i % 64 * 7 + i / 64) & wibeth::kAdcMax);
  wibeth::pack_adcs(adc, frame);
  const auto* p = reinterpret_cast<const std::uint8_t*>(frame.data());
  return {p, p + frame.size()};
}

void wibeth_corpus(const fs::path& dir) {
  const std::uint64_t t0 = std::uint64_t{1} << 40;
  write_file(dir / "one-frame", wibeth_frame(0, 0, t0, 0));
  Bytes two = wibeth_frame(2, 65, t0, 100);
  const Bytes second = wibeth_frame(2, 65, t0 + wibeth::kTicksPerFrame, 200);
  two.insert(two.end(), second.begin(), second.end());
  write_file(dir / "two-frames", two);
  larsel::daq::FragmentHeader fragment;
  fragment.size = larsel::daq::kFragmentHeaderBytes + wibeth::kFrameBytes;
  fragment.run_number = 27980;
  std::array<std::byte, larsel::daq::kFragmentHeaderBytes> header{};
  larsel::daq::encode_fragment_header(fragment, header);
  Bytes fragment_bytes(reinterpret_cast<const std::uint8_t*>(header.data()), reinterpret_cast<const std::uint8_t*>(header.data()) + header.size());
  const Bytes frame = wibeth_frame(4, 67, t0, 300);
  fragment_bytes.insert(fragment_bytes.end(), frame.begin(), frame.end());
  write_file(dir / "fragment", fragment_bytes);
}

/// Frame-builder programs (fuzz_frame_builder.cpp): setup bytes, then operations.
void frame_builder_corpus(const fs::path& dir) {
  // Setup: one face (flag 0, face byte 0), window 8, timeout byte, pool extra, held frames.
  const Bytes setup = {0, 0, 6, 0x10, 0x27, 4, 2};
  Bytes complete = setup;  // 3 periods, all 20 streams in order: complete images
  for (int period = 0; period < 3; ++period) {
    for (std::uint8_t s = 0; s < 20; ++s) complete.insert(complete.end(), {0, s, static_cast<std::uint8_t>(s == 0 && period > 0 ? 16 : 0), 0});
  }
  write_file(dir / "complete-periods", complete);
  Bytes faults = setup;  // streams missing, a duplicate, a period jump, a corrupt header, a raw datagram, timeouts
  for (std::uint8_t s = 0; s < 15; ++s) faults.insert(faults.end(), {1, s, 0, 0});
  faults.insert(faults.end(), {2, 3, 0, 0});                 // duplicate of stream 3
  faults.insert(faults.end(), {3, 4, 64, 1, 0x11, 5});        // +4 periods, mutated: bad version
  faults.insert(faults.end(), {0, 5, 0, 1, 0x20, 100});       // off the grid
  faults.insert(faults.end(), {4, 0x10, 0x00, 1, 2, 3, 4});   // raw datagram of 16 bytes
  faults.insert(faults.end(), {5, 0xFF, 0xFF, 6});            // clock +65 ms, poll; release
  write_file(dir / "faults", faults);
  Bytes two_faces = {1, 8, 0x20, 0x4E, 2, 0};  // two faces, window 8
  for (std::uint8_t s = 0; s < 40; s += 3) two_faces.insert(two_faces.end(), {0, s, 0, 0});
  two_faces.insert(two_faces.end(), {7, 1, 2, 3, 4, 5, 6, 7, 0, 0, 1, 0, 0, 2, 0, 0});  // new time base
  write_file(dir / "two-faces-restart", two_faces);
}

Bytes message(const std::vector<std::string>& parts) {
  Bytes out{static_cast<std::uint8_t>(parts.size() - 1)};
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    out.push_back(static_cast<std::uint8_t>(parts[i].size() & 0xFF));
    out.push_back(static_cast<std::uint8_t>(parts[i].size() >> 8));
    out.insert(out.end(), parts[i].begin(), parts[i].end());
  }
  out.insert(out.end(), parts.back().begin(), parts.back().end());
  return out;
}

void wire_format_corpus(const fs::path& dir) {
  wire::FrameHeader frame;
  frame.message = 7, frame.run = 12, frame.face = 1, frame.timestamp = 123456789, frame.sequence = 42, frame.score = 3.5;
  frame.threshold = 2.25, frame.flags = wire::flag::truth_known | wire::flag::truth_signal, frame.truth_visible_energy_mev = 11.5f;
  frame.truth_nu_energy_mev = 14.0f, frame.arrival_to_decision_us = 55.5, frame.missing_streams = 3;
  // The payload is short (61,440 bytes would dwarf the rest): the harness checks its size.
  write_file(dir / "frame-selected", message({std::string(wire::kTopicSelected), wire::to_json(frame), std::string(64, '\1')}));
  const std::string records(2 * sizeof(wire::DecisionRecord), '\2');
  write_file(dir / "frame-decision", message({std::string(wire::kTopicDecision), wire::to_json(wire::DecisionBatchHeader{3, 12, 2}), records}));
  wire::RunInfo info;
  info.run = 12, info.config_yaml = "run: {number: 12}\n", info.model_file = "models/default-model.h5";
  info.model_hash = std::string(40, 'a'), info.threshold = 2.25, info.prescale = 100, info.software_version = "0.1.0";
  write_file(dir / "run-info", message({std::string(wire::kTopicRunInfo), wire::to_json(info)}));
  write_file(dir / "metrics", message({std::string(wire::kTopicMetrics), R"({"format":"larsel.metrics.v1","message":1})"}));
}

void yaml_corpus(const fs::path& dir, const fs::path& root) {
  write_text(dir / "pipeline-default", 0, std::string(larsel::pipeline::default_config_yaml()));
  write_text(dir / "pipeline-udp", 0, "input: {kind: udp, udp: {window_frames: 16}}\nzmq: {publish: \"\"}\n");
  write_text(dir / "preprocess-default", 1, larsel::preprocess::to_yaml(larsel::preprocess::PreprocessConfig{}));
  write_text(dir / "sim-default", 2, larsel::daq::sim::to_yaml(larsel::daq::sim::SimConfig{}));
  for (const auto& [name, prefix] : {std::pair{"default-train.yaml", 3}, {"default-compress.yaml", 4}}) {
    std::ifstream in(root / "models" / name);
    write_text(dir / name, static_cast<std::uint8_t>(prefix), std::string(std::istreambuf_iterator<char>(in), {}));
  }
}

/// Model-file programs (fuzz_model_file.cpp): the default-like network, a quantized one, a broken one.
void model_file_corpus(const fs::path& dir) {
  write_file(dir / "conv-pool-dense", {0, 3, 0, 4, 3, 1, 1, 1, 3, 5, 2, 8, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  write_file(dir / "quantized", {1, 2, 0, 2, 0, 8, 3, 1, 5, 2, 1, 8, 2, 0, 1, 8, 4, 1, 7, 1, 0, 1, 1, 0, 0});
  write_file(dir / "faults", {0, 1, 2, 16, 1, 1, 2, 1, 1, 0, 1, 0, 0, 1, 0x0F, 1, 0, 200, 3, 3, 9, 9, 9, 9});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s OUTDIR SOURCE_ROOT\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  wibeth_corpus(out / "wibeth");
  frame_builder_corpus(out / "frame_builder");
  wire_format_corpus(out / "wire_format");
  yaml_corpus(out / "yaml_config", argv[2]);
  model_file_corpus(out / "model_file");
  return 0;
}
