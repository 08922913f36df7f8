// larsel display FILE [--index I [--preprocess [--pre-config Y] [--warmup N]] | --grid N [--first I] [--columns C]]
//                --out IMAGE [--range MIN:MAX|auto]
//                [--colormap viridis|inferno|coolwarm] [--wire-px N] [--tick-px N] [--truth-box] [--mark-radiological]
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "larsel/core/file_io.hpp"
#include "event_display.hpp"
#include "larsel/daq/sim/dataset.hpp"
#include "larsel/preprocess/preprocessor.hpp"

namespace larsel::app {
namespace {

using daq::Frame;

struct DisplayOptions {
  std::string input;
  std::string output;
  std::size_t index = 0;
  std::optional<std::size_t> grid;  // contact sheet of this many frames
  std::size_t first = 0;
  std::optional<int> columns;
  std::string range = "-20:200";
  std::string colour_map = "viridis";
  std::optional<int> pixels_per_wire, pixels_per_tick;
  bool truth_box = false;
  bool mark_radiological = false;
  bool preprocess = false;        // raw | denoised | CNN input, stacked
  std::string preprocess_config;  // YAML; built-in defaults when empty
  std::size_t warmup = 32;        // frames preprocessed before the shown one (pedestal and noise convergence)
};

/// How many frames to show from the first one; throws when the first is not in the data set.
std::size_t checked_frame_count(const DisplayOptions& o, std::size_t available) {
  const std::size_t first = o.grid ? o.first : o.index;
  if (available == 0) throw std::runtime_error(fmt::format("{}: the data set holds no frames", o.input));
  if (first >= available) {
    throw std::runtime_error(fmt::format("{}: frame index {} is out of range (the data set has {} frames, 0-{})",
                                         o.input, first, available, available - 1));
  }
  if (!o.grid) return 1;
  if (*o.grid > available - first) {
    spdlog::warn("{}: the data set ends at frame {}; showing {} instead of {}", o.input, available - 1,
                 available - first, *o.grid);
    return available - first;
  }
  return *o.grid;
}

std::vector<display::FrameView> load_frames(const daq::sim::DatasetReader& reader, std::size_t first,
                                            std::size_t count) {
  std::vector<std::uint16_t> adc(count * Frame::kPixels);
  reader.read_frames(first, count, adc);
  std::vector<display::FrameView> frames(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::span<const std::uint16_t, Frame::kPixels> pixels(adc.data() + i * Frame::kPixels, Frame::kPixels);
    frames[i].index = first + i;
    frames[i].above_pedestal = display::subtract_pedestals(pixels);
    frames[i].truth = reader.truth(first + i);
  }
  return frames;
}

/// The CNN input image spread back over the 480 x 64 frame, each code times
/// 2^shift: ADC above pedestal again for max pooling, so one colour scale fits all panels.
std::vector<float> expand_image(const preprocess::PreprocessConfig& config, std::span<const std::uint8_t> image) {
  const preprocess::DownsizeConfig& d = config.downsize;
  std::vector<float> out(Frame::kPixels);
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    for (std::size_t t = 0; t < Frame::kTicks; ++t) {
      const std::uint8_t code = image[(w / d.wires) * config.output_columns() + t / d.ticks];
      out[w * Frame::kTicks + t] = static_cast<float>(code) * static_cast<float>(1u << d.shift);
    }
  }
  return out;
}

/// Raw, denoised and CNN-input views of frame o.index, after running the
/// preprocessor over up to o.warmup frames before it so its channel state has converged.
std::vector<display::FrameView> before_and_after(const daq::sim::DatasetReader& reader, const DisplayOptions& o) {
  const auto config = o.preprocess_config.empty()
                          ? preprocess::PreprocessConfig{}
                          : preprocess::parse_preprocess_config(core::read_file(o.preprocess_config, "preprocess config"),
                                                                o.preprocess_config);
  preprocess::Preprocessor pre(config);
  const std::size_t first = o.index - std::min(o.index, o.warmup), count = o.index - first + 1;
  std::vector<std::uint16_t> adc(count * Frame::kPixels);
  reader.read_frames(first, count, adc);
  std::vector<std::uint8_t> image(config.output_pixels());
  std::vector<std::int16_t> denoised(Frame::kPixels);
  for (std::size_t i = 0; i < count; ++i) {
    pre.process(preprocess::FrameAdc(adc.data() + i * Frame::kPixels, Frame::kPixels), {image, denoised, {}});
  }
  std::vector<display::FrameView> views = load_frames(reader, o.index, 1);
  views.front().stage = "raw";
  views.push_back({o.index, std::vector<float>(denoised.begin(), denoised.end()), views.front().truth,
                   fmt::format("denoised ({} frames of warm-up)", count - 1)});
  const std::string pooling = config.downsize.mode == preprocess::PoolMode::max ? "max" : "sum";
  views.push_back({o.index, expand_image(config, image), views.front().truth,
                   fmt::format("CNN input {}x{} uint8 ({} pool {}x{}), code x {}", config.output_rows(),
                               config.output_columns(), pooling, config.downsize.wires, config.downsize.ticks,
                               1u << config.downsize.shift)});
  return views;
}

display::ColourMap colour_map_named(const std::string& name) {
  if (name == "inferno") return display::ColourMap::inferno;
  if (name == "coolwarm") return display::ColourMap::coolwarm;
  return display::ColourMap::viridis;
}

display::DisplayStyle display_style(const DisplayOptions& o, std::span<const display::FrameView> frames) {
  display::DisplayStyle style;
  style.pixels_per_wire = o.pixels_per_wire.value_or(o.grid ? 1 : 2);
  style.pixels_per_tick = o.pixels_per_tick.value_or(o.grid ? 4 : 8);
  style.colour_map = colour_map_named(o.colour_map);
  style.range = o.range == "auto" ? display::automatic_range(frames) : display::parse_adc_range(o.range);
  style.truth_box = o.truth_box;
  style.mark_radiological = o.mark_radiological;
  return style;
}

int run_display(const DisplayOptions& o) {
  const daq::sim::DatasetReader reader(o.input);
  const std::size_t count = checked_frame_count(o, reader.size());
  const auto frames = o.preprocess ? before_and_after(reader, o) : load_frames(reader, o.grid ? o.first : o.index, count);
  const display::DisplayStyle style = display_style(o, frames);
  const std::string source = std::filesystem::path(o.input).filename().string();
  const int columns = o.preprocess ? 1 : o.columns.value_or(static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count)))));
  const cv::Mat image = o.grid || o.preprocess ? display::render_contact_sheet(frames, columns, style, source, reader.size())
                                               : display::render_event(frames.front(), style, source);
  display::write_image(o.output, image);
  spdlog::info("wrote {} ({} x {} px, {} frame{}, colour range {}:{} ADC)", o.output, image.cols, image.rows, count,
               count == 1 ? "" : "s", style.range.min, style.range.max);
  return 0;
}

CLI::Validator adc_range_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value == "auto") return {};
        try {
          display::parse_adc_range(value);
          return {};
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      },
      "MIN:MAX|auto");
}

CLI::Validator image_format_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (cv::haveImageWriter(value)) return {};
        return fmt::format("'{}': no image writer for this file extension (use .png or .jpg)", value);
      },
      "IMAGE");
}

void add_style_options(CLI::App& cmd, DisplayOptions& o) {
  cmd.add_option("--range", o.range,
                 "Colour scale in ADC above pedestal, MIN:MAX, or auto (fitted to the noise and the brightest pixels)")
      ->check(adc_range_validator())
      ->capture_default_str();
  cmd.add_option("--colormap", o.colour_map, "viridis, inferno, or coolwarm (diverging, white at 0, full blue at MIN)")
      ->check(CLI::IsMember({"viridis", "inferno", "coolwarm"}))
      ->capture_default_str();
  cmd.add_option("--wire-px", o.pixels_per_wire, "Pixels per wire (default 2, grid 1)")->check(CLI::Range(1, 16));
  cmd.add_option("--tick-px", o.pixels_per_tick, "Pixels per tick (default 8, grid 4)")->check(CLI::Range(1, 32));
  cmd.add_flag("--truth-box", o.truth_box, "Draw the truth wire/tick extent of the neutrino charge and its vertex");
  cmd.add_flag("--mark-radiological", o.mark_radiological, "Circle the true radiological deposits");
}

}  // namespace

void add_display_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "display", "Event display of simulated frames as an image: wires across, ticks down, ADC above pedestal in colour");
  auto options = std::make_shared<DisplayOptions>();
  cmd->add_option("FILE", options->input, "Simulated data set (HDF5, from larsel simulate)")->required();
  cmd->add_option("--out", options->output, "Image to write (.png recommended)")
      ->required()
      ->check(image_format_validator());
  auto* index = cmd->add_option("--index", options->index, "Frame to display (default 0)")->check(CLI::Range(0, 1'000'000'000));
  auto* grid = cmd->add_option("--grid", options->grid, "Contact sheet of N frames with a shared colour scale")
                   ->check(CLI::Range(1, 100));
  index->excludes(grid);
  cmd->add_option("--first", options->first, "First frame of the contact sheet")
      ->needs(grid)
      ->check(CLI::Range(0, 1'000'000'000))
      ->capture_default_str();
  cmd->add_option("--columns", options->columns, "Panels per row of the contact sheet (default about sqrt(N))")
      ->needs(grid)
      ->check(CLI::Range(1, 16));
  auto* pre = cmd->add_flag("--preprocess", options->preprocess,
                            "Before and after: the raw frame, its denoised plane and the CNN input, stacked")
                  ->excludes(grid);
  cmd->add_option("--pre-config", options->preprocess_config, "Preprocess YAML for --preprocess (default: built-in)")
      ->needs(pre)
      ->check(CLI::ExistingFile);
  cmd->add_option("--warmup", options->warmup, "Frames preprocessed before the shown one, for --preprocess")
      ->needs(pre)
      ->check(CLI::Range(0, 100'000))
      ->capture_default_str();
  add_style_options(*cmd, *options);
  cmd->callback([&action, options] { action = [options] { return run_display(*options); }; });
}

}  // namespace larsel::app
