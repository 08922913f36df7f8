// larsel export-onnx --model model.h5 --out model.onnx: the float model (BatchNorms folded) as ONNX,
// for onnxruntime, OpenCV dnn or an FPGA tool flow. Input "image" [N,1,rows,cols] = uint8 pixels as float.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/models/onnx_export.hpp"

namespace larsel::app {

void add_export_onnx_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("export-onnx", "Write a model file's float network as ONNX (opset 13, BatchNorm folded)");
  auto model = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  cmd->add_option("--model", *model, "Model file (larsel train)")->required();
  cmd->add_option("--out", *out, "ONNX file to write")->required();
  cmd->callback([&action, model, out] {
    action = [model, out] {
      const models::ModelFile file = models::load_model(*model);
      if (models::is_quantized(file.model.architecture())) {
        spdlog::warn("{} is quantized: the ONNX graph has its fixed-point weights but float activations, without the "
                     "output rounding and saturation; the integer inference (and the FPGA twin) is the exact reference", *model);
      }
      models::export_onnx(file.model.network(), file.model.architecture().input_scale, *out, fmt::format("larsel {}", LARSEL_VERSION));
      spdlog::info("wrote {}: input 'image' [N, 1, {}, {}] (uint8 pixel values as float), output 'logit' [N, 1]", *out,
                   file.model.input_shape().height, file.model.input_shape().width);
      return 0;
    };
  });
}

}  // namespace larsel::app
