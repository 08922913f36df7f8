// The non-firmware files of a generated HLS project (testbench, csim entry,
// vitis_hls Tcl, Makefile, link.cfg, README) and export_hls_project itself.
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "hls_firmware.hpp"
#include "hls_network.hpp"
#include "hls_support_files.hpp"
#include "larsel/fpga/hls_export.hpp"
#include "larsel/fpga/twin.hpp"

namespace larsel::fpga {
namespace {

using detail::HlsNetwork;

// Packs frames (bytes end to end) into 512-bit words, each frame from a word boundary: shared by
// the testbench and the csim entry, so both feed the kernel exactly as the host's buffers do.
constexpr const char* kPackFrames = R"(
static void pack_frames(const unsigned char* frames, unsigned n_frames, ap_uint<512>* words) {
  const unsigned pixels = config_input::frame_pixels, per_frame = config_input::words_per_frame;
  for (unsigned w = 0; w < n_frames * per_frame; w++) words[w] = 0;
  for (unsigned f = 0; f < n_frames; f++) {
    for (unsigned p = 0; p < pixels; p++) {
      words[f * per_frame + p / 64].range(8 * (p % 64) + 7, 8 * (p % 64)) = frames[f * pixels + p];
    }
  }
}
)";

std::string testbench_source() {
  return std::string(
             "// C testbench (csim_design, cosim_design, or `make csim` with g++): runs the kernel on\n"
             "// tb_data/tb_frames.bin in batches and compares every raw score with the software twin's\n"
             "// (tb_data/tb_expected_scores.txt). Usage: csim_tb [tb_data dir] [max frames]. Exit 1 on any difference.\n"
             "#include <cstdio>\n#include <cstdlib>\n#include <fstream>\n#include <iterator>\n#include <string>\n#include <vector>\n\n"
             "#include \"../firmware/larsel_cnn.h\"\n#include \"../firmware/parameters.h\"\n") +
         kPackFrames + fmt::format(R"(
int main(int argc, char** argv) {{
  const std::string dir = argc > 1 ? argv[1] : "tb_data";
  std::ifstream frame_file((dir + "/tb_frames.bin").c_str(), std::ios::binary);
  std::ifstream expected_file((dir + "/tb_expected_scores.txt").c_str());
  if (!frame_file || !expected_file) {{
    std::fprintf(stderr, "csim: cannot open %s/tb_frames.bin or tb_expected_scores.txt\n", dir.c_str());
    return 2;
  }}
  const std::vector<unsigned char> frames((std::istreambuf_iterator<char>(frame_file)), std::istreambuf_iterator<char>());
  std::vector<int> expected;
  for (int raw; expected_file >> raw;) expected.push_back(raw);
  unsigned n = static_cast<unsigned>(frames.size() / config_input::frame_pixels);
  if (frames.size() % config_input::frame_pixels != 0 || expected.size() != n) {{
    std::fprintf(stderr, "csim: %zu bytes of frames and %zu expected scores do not match %u-pixel frames\n", frames.size(),
                 expected.size(), config_input::frame_pixels);
    return 2;
  }}
  if (argc > 2 && static_cast<unsigned>(std::atoi(argv[2])) < n) n = static_cast<unsigned>(std::atoi(argv[2]));
  const unsigned batch = {0};
  std::vector<ap_uint<512> > words(batch * config_input::words_per_frame);
  std::vector<int> scores(batch);
  std::ofstream log((dir + "/csim_results.log").c_str());
  unsigned mismatches = 0;
  for (unsigned start = 0; start < n; start += batch) {{
    const unsigned count = n - start < batch ? n - start : batch;
    pack_frames(&frames[start * config_input::frame_pixels], count, &words[0]);
    larsel_cnn(&words[0], &scores[0], count);
    for (unsigned i = 0; i < count; i++) {{
      log << scores[i] << "\n";
      if (scores[i] == expected[start + i]) continue;
      if (++mismatches <= 10) std::printf("frame %u: kernel %d, twin %d\n", start + i, scores[i], expected[start + i]);
    }}
  }}
  std::printf("csim: %u frames, %u mismatches against the twin\n", n, mismatches);
  return mismatches == 0 ? 0 : 1;
}}
)",
                                   detail::kTestbenchBatchFrames);
}

std::string csim_entry_source() {
  return std::string(
             "// C entry of the compiled kernel source for LArSel's csim backend (make csim-lib): frames as\n"
             "// bytes end to end, raw scores out; returns 0, or 1 with the reason in `error`.\n"
             "#include <cstdio>\n#include <exception>\n#include <vector>\n\n"
             "#include \"../firmware/larsel_cnn.h\"\n#include \"../firmware/parameters.h\"\n") +
         kPackFrames + R"(
extern "C" unsigned larsel_cnn_csim_frame_pixels() { return config_input::frame_pixels; }

extern "C" int larsel_cnn_csim(const unsigned char* frames, int* scores, unsigned n_frames, char* error, unsigned error_size) {
  try {
    std::vector<ap_uint<512> > words(static_cast<std::size_t>(n_frames) * config_input::words_per_frame + 1);
    pack_frames(frames, n_frames, &words[0]);
    larsel_cnn(&words[0], scores, n_frames);
    return 0;
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
    return 1;
  }
}
)";
}

std::string tcl_script(const HlsExportOptions& o) {
  return fmt::format(R"(# vitis_hls -f build_prj.tcl [-tclargs csim=1 synth=1 cosim=0 export=0]
# (hls4ml's build_prj.tcl flow, hls-and-fpga.md §5.2). cosim runs the testbench on its first 8 frames.
array set opt {{csim 1 synth 1 cosim 0 export 0}}
foreach arg $argv {{
  foreach {{key value}} [split $arg =] {{ set opt($key) $value }}
}}
open_project -reset larsel_cnn_prj
set_top larsel_cnn
add_files firmware/larsel_cnn.cpp -cflags "-std=c++14 -Ifirmware"
add_files -tb tb/larsel_cnn_tb.cpp -cflags "-std=c++14 -Ifirmware"
add_files -tb tb_data
open_solution -reset solution1 -flow_target vitis
set_part {{{0}}}
create_clock -period {1:.4g} -name default
set_clock_uncertainty 12.5%
config_compile -name_max_length 80
config_interface -m_axi_alignment_byte_size 64 -m_axi_max_widen_bitwidth 512
config_schedule -enable_dsp_full_reg=false
if {{$opt(csim)}} {{ csim_design -argv tb_data }}
if {{$opt(synth)}} {{ csynth_design }}
if {{$opt(cosim)}} {{ cosim_design -argv "tb_data 8" -enable_dataflow_profiling -enable_fifo_sizing -trace_level none }}
if {{$opt(export)}} {{ export_design -format xo -output larsel_cnn.xo }}
exit
)",
                     o.part, 1000.0 / o.clock_mhz);
}

std::string makefile(const HlsExportOptions& o) {
  return fmt::format(R"(# LArSel HLS project: C simulation with g++ (no Xilinx tools needed), HLS with vitis_hls,
# the xclbin with v++ (hls-and-fpga.md §5.1). `make csim` is the first rung of the test ladder.
PLATFORM ?= {0}
TARGET ?= hw
CXX ?= g++
# Vitis's own headers when XILINX_HLS is set, else LArSel's compatible ones.
HLS_INCLUDE := $(if $(XILINX_HLS),-I$(XILINX_HLS)/include,-Ihls_compat)
CSIM_FLAGS := -std=c++17 -O2 -Wno-unknown-pragmas $(HLS_INCLUDE) -Ifirmware
FIRMWARE := firmware/larsel_cnn.cpp
HEADERS := $(wildcard firmware/*.h firmware/nnet/*.h firmware/weights/*.h hls_compat/*.h)

.PHONY: csim csim-lib hls xo xclbin clean
csim: build/csim_tb
	./build/csim_tb tb_data

build/csim_tb: tb/larsel_cnn_tb.cpp $(FIRMWARE) $(HEADERS)
	mkdir -p build
	$(CXX) $(CSIM_FLAGS) -o $@ tb/larsel_cnn_tb.cpp $(FIRMWARE)

csim-lib: build/liblarsel_cnn_csim.so
build/liblarsel_cnn_csim.so: csim/larsel_cnn_csim.cpp $(FIRMWARE) $(HEADERS)
	mkdir -p build
	$(CXX) $(CSIM_FLAGS) -shared -fPIC -o $@ csim/larsel_cnn_csim.cpp $(FIRMWARE)

hls:
	vitis_hls -f build_prj.tcl -tclargs csim=1 synth=1 cosim=1 export=1

xo: larsel_cnn.xo
larsel_cnn.xo: $(FIRMWARE) $(HEADERS)
	v++ -c -t $(TARGET) --platform $(PLATFORM) -k larsel_cnn --hls.clock {1}:larsel_cnn -Ifirmware -o $@ $(FIRMWARE)

xclbin: larsel_cnn.xclbin
larsel_cnn.xclbin: larsel_cnn.xo link.cfg
	v++ -l -t $(TARGET) --platform $(PLATFORM) --config link.cfg -o $@ larsel_cnn.xo

clean:
	rm -rf build larsel_cnn_prj _x .Xil *.xo *.xclbin *.log
)",
                     o.platform, static_cast<long long>(o.clock_mhz * 1e6));
}

constexpr const char* kLinkConfig = R"([connectivity]
# One compute unit; frames and scores in DDR bank 0 (the host allocates with kernel.group_id()).
nk=larsel_cnn:1:larsel_cnn_1
sp=larsel_cnn_1.frames:DDR[0]
sp=larsel_cnn_1.scores:DDR[0]
)";

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream file(path, std::ios::binary);
  if (!(file << text) || !file.flush()) throw std::runtime_error(fmt::format("{}: cannot write", path.string()));
}

std::string hls_readme(const HlsNetwork& net, const HlsExportOptions& o, const std::string& table, std::size_t test_frames) {
  std::string layers;
  for (const detail::HlsStage& s : net.stages) layers += (layers.empty() ? "" : " -> ") + s.name;
  return fmt::format(R"(# larsel_cnn — HLS kernel generated by `larsel export-hls`

Model: {0}. Part {1}, clock {2} MHz, platform {3}.

## The kernel
`extern "C" void larsel_cnn(const ap_uint<512>* frames, int* scores, unsigned n_frames)`
(`firmware/larsel_cnn.h`): `frames` and `scores` are two `m_axi` masters (bundles `gmem0`,
`gmem1`), their addresses, `n_frames` and the return are `s_axilite` registers (bundle
`control`). Frame f starts at word f * {4}; pixel b of a word is bits [8b+7:8b], the raw
{5}. `scores[f]` is the raw two's-complement value of frame f's logit, {6}
(logit = raw * 2^-{7}). The body is one `DATAFLOW` region of stream layers, one pixel
(all channels) per stream element, in raster order:

    {8}

- `firmware/defines.h`: one ap_fixed typedef per tensor; accumulators are wide enough that no
  sum rounds or overflows, so the bits equal LArSel's twin and integer reference.
- `firmware/parameters.h`: one config struct of compile-time constants per layer.
- `firmware/weights/`: raw integers; convolutions list only their non-zero weights (one
  constant multiplier each, RF = 1), dense layers keep per pixel and unit the non-zero
  weights' channels and values, padded with zero slots to the longest row.
- `firmware/nnet/`: the layer templates (line-buffer convolution after hls4ml's
  `nnet_conv2d_stream.h`, zero padding, max pooling, ReLU, streaming dense, AXI reader/writer).
- `hls_compat/`: LArSel's `ap_fixed.h`, `ap_int.h`, `hls_stream.h` for C simulation without
  Xilinx tools. With Vitis, `XILINX_HLS` puts Xilinx's own headers first.

## Run
- `make csim`: g++ C simulation of the testbench on the {9} frames of `tb_data/` against the
  raw scores LArSel's software twin gave; exits 1 on any difference.
- `make csim-lib`: the kernel as a shared library for `larsel ... --backend csim --hls-project .`.
- `make hls` (or `vitis_hls -f build_prj.tcl -tclargs csim=1 synth=1 cosim=1 export=1`):
  csim, csynth, cosim on 8 frames (dataflow profiling and FIFO sizing on), export `.xo`.
- `make xclbin PLATFORM=...`: `v++ -c` and `v++ -l --config link.cfg` for the Alveo card;
  the host side is LArSel's `xrt` backend (`--backend xrt --xclbin larsel_cnn.xclbin`).

## Estimate (before synthesis; `estimate.json`)
Rules of thumb of hls4ml (LUT multipliers for weights under 9 bits, ~17 LUTs per
non-zero 6-bit MAC scaled by operand bits, DSP48E2 27x18 otherwise), one pixel per cycle
per stage, II = the slowest stage under DATAFLOW. FIFO depths are one output row; size them
by cosim FIFO profiling before trusting the BRAM figure.

```
{10}```
)",
                     o.model_label.empty() ? "(unnamed)" : o.model_label, o.part, o.clock_mhz, o.platform, net.words_per_frame(),
                     detail::hls_type(net.stages.front().output_type), detail::hls_type(net.logit_type), net.logit_type.fractional_bits(),
                     layers, test_frames, table);
}

}  // namespace

HlsExportResult export_hls_project(models::Model& model, const HlsExportOptions& o, std::span<const std::uint8_t> test_frames) {
  const HlsNetwork net = detail::describe_hls_network(model);
  const std::size_t frame = static_cast<std::size_t>(net.frame_pixels());
  if (test_frames.empty() || test_frames.size() % frame != 0) {
    throw std::invalid_argument(fmt::format("export-hls: {} bytes of test frames are not whole {}-pixel frames", test_frames.size(), frame));
  }
  HlsExportResult result;
  result.estimate = estimate_hls_resources(model, o.part, o.clock_mhz);
  result.estimate_text = estimate_table(result.estimate);
  result.test_frames = test_frames.size() / frame;
  const std::filesystem::path& out = o.out;
  write_text(out / "firmware/defines.h", detail::defines_header(net));
  write_text(out / "firmware/parameters.h", detail::parameters_header(net));
  write_text(out / "firmware/larsel_cnn.h", detail::kernel_header(net));
  write_text(out / "firmware/larsel_cnn.cpp", detail::kernel_source(net));
  for (const detail::HlsStage& s : net.stages) {
    if (s.kind == detail::HlsStage::Kind::conv2d || s.kind == detail::HlsStage::Kind::dense) {
      write_text(out / fmt::format("firmware/weights/w_{}.h", s.name), detail::weights_header(s));
    }
  }
  for (const detail::EmbeddedFile& f : detail::hls_support_files()) write_text(out / f.path, f.text);
  write_text(out / "tb/larsel_cnn_tb.cpp", testbench_source());
  write_text(out / "csim/larsel_cnn_csim.cpp", csim_entry_source());
  write_text(out / "build_prj.tcl", tcl_script(o));
  write_text(out / "Makefile", makefile(o));
  write_text(out / "link.cfg", kLinkConfig);
  write_text(out / "estimate.json", result.estimate.dump(2) + "\n");
  write_text(out / "estimate.txt", result.estimate_text);
  write_text(out / "tb_data/tb_frames.bin", std::string(reinterpret_cast<const char*>(test_frames.data()), test_frames.size()));
  Twin twin(model);
  std::string expected;
  for (std::size_t i = 0; i < result.test_frames; ++i) expected += fmt::format("{}\n", twin.raw_logit(test_frames.subspan(i * frame, frame)));
  write_text(out / "tb_data/tb_expected_scores.txt", expected);
  write_text(out / "README.md", hls_readme(net, o, result.estimate_text, result.test_frames));
  return result;
}

}  // namespace larsel::fpga
