#pragma once
// BatchNorm folding for inference and export: a BatchNorm right after a
// Conv2D or Dense becomes a per-output-channel rescale of that layer's
// weights and bias, so the exported graph (ONNX, FPGA) has no BatchNorm.
#include "larsel/models/network.hpp"

namespace larsel::models {

/// A new network with the same input shape and the same inference output
/// (forward with training = false), in which every BatchNorm that directly
/// follows a Conv2D or Dense is folded into it, with a = scale / sqrt(var + eps):
///   w' = w * a,  b' = (b - running_mean) * a + shift  (per output channel).
/// Other layers are copied. Throws std::invalid_argument for a BatchNorm that
/// does not follow a Conv2D or Dense (e.g. after a ReLU, or first).
[[nodiscard]] Network fold_batch_norm(const Network& network);

}  // namespace larsel::models
