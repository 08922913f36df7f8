// export_onnx for a build without libonnx-dev / libprotobuf-dev (models/CMakeLists.txt).
#include <stdexcept>

#include "larsel/models/onnx_export.hpp"

namespace larsel::models {

bool onnx_export_available() noexcept { return false; }

void export_onnx(const Network&, float, const std::filesystem::path& path, const std::string&) {
  throw std::runtime_error(path.string() + ": this larsel was built without ONNX export (install libonnx-dev and "
                           "libprotobuf-dev, then rebuild)");
}

}  // namespace larsel::models
