// make_xrt_backend for a build without XRT (fpga/CMakeLists.txt): one line saying how to get it.
#include <stdexcept>

#include "larsel/fpga/backend.hpp"

namespace larsel::fpga {

std::unique_ptr<InferenceBackend> make_xrt_backend(const BackendOptions&, std::size_t, const models::FixedPointFormat&) {
  throw std::runtime_error("xrt backend: this larsel was built without XRT (install libxrt-dev and uuid-dev, or set "
                           "XILINX_XRT, then rebuild)");
}

}  // namespace larsel::fpga
