#pragma once
// The files every generated HLS project carries verbatim: the nnet layer
// templates (fpga/hls_templates) and, for C simulation without Xilinx tools,
// LArSel's ap_fixed.h / ap_int.h / hls_stream.h (fpga/hls_compat). Embedded in
// the library at build time (fpga/cmake/embed_files.cmake).
#include <vector>

namespace larsel::fpga::detail {

struct EmbeddedFile {
  const char* path;  // relative to the project root
  const char* text;
};

const std::vector<EmbeddedFile>& hls_support_files();

}  // namespace larsel::fpga::detail
