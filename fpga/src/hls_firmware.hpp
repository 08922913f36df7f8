#pragma once
// The firmware/ sources of a generated HLS project, as text.
#include <string>

#include "hls_network.hpp"

namespace larsel::fpga::detail {

/// Frames per kernel call in the testbench: the m_axi `depth` cosim uses.
inline constexpr int kTestbenchBatchFrames = 64;

std::string defines_header(const HlsNetwork& net);
std::string parameters_header(const HlsNetwork& net);
std::string weights_header(const HlsStage& stage);
std::string kernel_header(const HlsNetwork& net);
std::string kernel_source(const HlsNetwork& net);
/// The element type name of a stage's output stream, e.g. "conv1_pixel_t".
std::string pixel_type_name(const HlsNetwork& net, std::size_t stage);
/// Depth of the FIFO after `stage` (one row of its output, at least 2).
int stream_depth(const HlsStage& stage);

}  // namespace larsel::fpga::detail
