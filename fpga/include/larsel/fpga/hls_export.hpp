#pragma once
// `larsel export-hls`: a self-contained Vitis HLS project for a quantized model.
//   firmware/  larsel_cnn.cpp (the extern "C" kernel: m_axi frames in, scores out,
//              s_axilite control, DATAFLOW over stream layers), defines.h (one
//              ap_fixed typedef per tensor), parameters.h (one constexpr config
//              struct per layer), weights/*.h (raw integers, pruned weights absent),
//              nnet/ (the layer templates)
//   tb/        C testbench and tb_data/ (frames, the twin's expected raw scores)
//   csim/      a C-ABI entry so that the csim backend can load the compiled kernel
//   hls_compat/ LArSel's ap_fixed.h, ap_int.h, hls_stream.h for csim without Vitis
//   build_prj.tcl (vitis_hls: csim, csynth, cosim, export xo), Makefile (g++ csim,
//   vitis_hls, v++ compile/link for an Alveo platform), link.cfg, README.md,
//   estimate.json / estimate.txt (resources and latency against the part).
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "larsel/models/model.hpp"

namespace larsel::fpga {

struct HlsExportOptions {
  std::filesystem::path out;
  std::string part = "xcu250-figd2104-2L-e";
  double clock_mhz = 250.0;
  std::string platform = "xilinx_u250_gen3x16_xdma_4_1_202210_1";  // v++ --platform
  std::string model_label;  // recorded in the README (e.g. the model file)
};

struct HlsExportResult {
  nlohmann::ordered_json estimate;  // also in out/estimate.json
  std::string estimate_text;        // the table printed by export-hls (out/estimate.txt)
  std::size_t test_frames = 0;
};

/// Writes the project for `model` into options.out (created; existing files overwritten), with
/// `test_frames` (frames of model input size, end to end) and the twin's raw scores for them as
/// testbench vectors. std::invalid_argument for a model or option the kernel cannot take,
/// std::runtime_error naming the file when one cannot be written.
HlsExportResult export_hls_project(models::Model& model, const HlsExportOptions& options,
                                   std::span<const std::uint8_t> test_frames);

/// The resource and latency estimate alone (what export-hls prints).
nlohmann::ordered_json estimate_hls_resources(models::Model& model, const std::string& part, double clock_mhz);
/// The estimate as an aligned text table.
std::string estimate_table(const nlohmann::ordered_json& estimate);

}  // namespace larsel::fpga
