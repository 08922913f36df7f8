#pragma once
// ONNX export of a trained network (BatchNorm folded), for OpenCV dnn,
// onnxruntime and FPGA toolflows.
#include <filesystem>
#include <string>

#include "larsel/models/network.hpp"

namespace larsel::models {

/// False when this build has no ONNX library (export_onnx then throws saying so).
bool onnx_export_available() noexcept;

/// Writes `network` with its BatchNorms folded (fold_batch_norm) as an ONNX
/// model (opset 13, float32): input "image" [N, channels, rows, cols] holding
/// the uint8 pixel values, a Mul by `input_scale` (left out when it is 1),
/// then Conv / Relu / MaxPool / AveragePool / Flatten / Gemm nodes, output
/// "logit" [N, outputs]. N is symbolic. Throws std::invalid_argument for a
/// network that cannot be folded or expressed, std::runtime_error naming the
/// path if the file cannot be written.
void export_onnx(const Network& network, float input_scale, const std::filesystem::path& path,
                 const std::string& producer_version);

}  // namespace larsel::models
