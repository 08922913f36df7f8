#pragma once
// Event display of simulated 480 x 64 collection frames: one annotated frame,
// or a contact sheet of several frames with a shared colour scale.
// Picture orientation: wires on x (0-479, left to right), ticks on y
// (0-63, time increasing downward); colour = ADC above each wire's pedestal.
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "larsel/daq/frame.hpp"
#include "larsel/daq/sim/truth.hpp"

namespace larsel::app::display {

enum class ColourMap { viridis, inferno, coolwarm };

/// ADC range mapped onto the colour scale (values outside are clamped).
struct AdcRange {
  float min = -20;
  float max = 200;
};

struct DisplayStyle {
  int pixels_per_wire = 2;
  int pixels_per_tick = 8;
  ColourMap colour_map = ColourMap::viridis;
  AdcRange range;
  bool truth_box = false;          // truth wire/tick extent rectangle and vertex marker
  bool mark_radiological = false;  // circle every radiological deposit
};

/// One frame, pedestal-subtracted (wire-major like daq::Frame), with its truth.
struct FrameView {
  std::size_t index = 0;
  std::vector<float> above_pedestal;  // 480 * 64 values, adc[wire * 64 + tick] - pedestal(wire)
  daq::sim::FrameTruth truth;
  std::string stage;  // what the panel shows when not the raw frame ("denoised", ...)
};

/// Subtracts each wire's pedestal, the median of its 64 ticks.
std::vector<float> subtract_pedestals(std::span<const std::uint16_t, daq::Frame::kPixels> adc);

/// "MIN:MAX" in ADC counts; throws std::invalid_argument with a one-line reason.
AdcRange parse_adc_range(const std::string& text);

/// A range fitted to the frames: from -4 sigma of the noise up to the 99.9th
/// percentile of the pixels (at least 10 sigma), rounded to tidy numbers.
AdcRange automatic_range(std::span<const FrameView> frames);

/// A single frame with axes, colour bar and a truth title; `source` names the file.
cv::Mat render_event(const FrameView& frame, const DisplayStyle& style, const std::string& source);

/// Frames in a grid of `columns`, each with a compact title, one shared colour bar.
cv::Mat render_contact_sheet(std::span<const FrameView> frames, int columns, const DisplayStyle& style,
                             const std::string& source, std::size_t dataset_size);

/// Writes `image` (format from the extension); throws std::runtime_error naming the path.
void write_image(const std::filesystem::path& path, const cv::Mat& image);

}  // namespace larsel::app::display
