// Event display rendering with OpenCV (core, imgproc, imgcodecs).
#include "event_display.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace larsel::app::display {
namespace {

using daq::Frame;
using daq::sim::FrameLabel;
using daq::sim::FrameTruth;

constexpr int kWires = static_cast<int>(Frame::kWires);
constexpr int kTicks = static_cast<int>(Frame::kTicks);
constexpr int kFontFace = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kPaper(255, 255, 255);  // colours are BGR
const cv::Scalar kInk(20, 20, 20);
const cv::Scalar kFaintInk(100, 100, 100);
const cv::Scalar kSignalInk(40, 40, 200);
const cv::Scalar kBackgroundInk(150, 90, 30);

struct Font {
  double scale = 0.5;
  int thickness = 1;
};

enum class Align { left, centre, right };

/// Where the frame's pixels sit on the canvas and how large one wire/tick is.
struct PlotGeometry {
  cv::Rect area;
  int pixels_per_wire = 1;
  int pixels_per_tick = 1;
};

// ---------------------------------------------------------------- text

cv::Size text_size(const std::string& text, Font font) {
  int baseline = 0;
  return cv::getTextSize(text, kFontFace, font.scale, font.thickness, &baseline);
}

/// Draws `text` with the middle of its capitals at anchor.y, aligned at anchor.x.
void draw_text(cv::Mat& canvas, const std::string& text, cv::Point anchor, Align align, Font font,
               const cv::Scalar& colour = kInk) {
  const cv::Size size = text_size(text, font);
  int x = anchor.x;
  if (align == Align::centre) x -= size.width / 2;
  if (align == Align::right) x -= size.width;
  cv::putText(canvas, text, {x, anchor.y + size.height / 2}, kFontFace, font.scale, colour, font.thickness,
              cv::LINE_AA);
}

/// Text reading bottom to top, centred on `centre` (clipped to the canvas).
void draw_vertical_text(cv::Mat& canvas, const std::string& text, cv::Point centre, Font font) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, kFontFace, font.scale, font.thickness, &baseline);
  cv::Mat label(size.height + baseline + 4, size.width + 4, canvas.type(), kPaper);
  cv::putText(label, text, {2, size.height + 2}, kFontFace, font.scale, kInk, font.thickness, cv::LINE_AA);
  cv::Mat rotated;
  cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect wanted(centre.x - rotated.cols / 2, centre.y - rotated.rows / 2, rotated.cols, rotated.rows);
  const cv::Rect visible = wanted & cv::Rect(0, 0, canvas.cols, canvas.rows);
  if (visible.empty()) return;
  rotated(visible - wanted.tl()).copyTo(canvas(visible));
}

// ---------------------------------------------------------------- scales

/// A step of 1, 2 or 5 times a power of ten giving at most `max_ticks` intervals over `span`.
double tidy_step(double span, double max_ticks) {
  const double raw = span / std::max(1.0, max_ticks);
  if (!(raw > 0)) return 1.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double multiple : {1.0, 2.0, 5.0}) {
    if (multiple * magnitude >= raw) return multiple * magnitude;
  }
  return 10.0 * magnitude;
}

std::vector<double> tick_values(double low, double high, double step) {
  std::vector<double> values;
  for (auto k = static_cast<long>(std::ceil(low / step - 1e-9)); k * step <= high + 1e-9 * step; ++k) {
    values.push_back(static_cast<double>(k) * step);
  }
  return values;
}

std::string number_label(double value) { return fmt::format("{:g}", std::abs(value) < 1e-9 ? 0.0 : value); }

// ---------------------------------------------------------------- colours

cv::Vec3b mix(const cv::Vec3b& a, const cv::Vec3b& b, double t) {
  cv::Vec3b out;
  for (int c = 0; c < 3; ++c) out[c] = cv::saturate_cast<uchar>(a[c] + (b[c] - a[c]) * t);
  return out;
}

/// Blue below zero, near-white at zero, red above: each side saturates at its end of the range.
cv::Mat coolwarm_lut(AdcRange range) {
  const cv::Vec3b blue(192, 76, 59), white(235, 235, 235), red(38, 4, 180);  // BGR (Moreland's cool-warm)
  const double zero = std::clamp(-range.min / (range.max - range.min), 0.0f, 1.0f);
  cv::Mat lut(256, 1, CV_8UC3);
  for (int i = 0; i < 256; ++i) {
    const double f = i / 255.0;
    lut.at<cv::Vec3b>(i) = f < zero ? mix(blue, white, f / zero) : mix(white, red, (f - zero) / std::max(1e-9, 1 - zero));
  }
  return lut;
}

/// 256 BGR colours from the low to the high end of `range`.
cv::Mat colour_lut(ColourMap map, AdcRange range) {
  if (map == ColourMap::coolwarm) return coolwarm_lut(range);
  cv::Mat ramp(256, 1, CV_8U);
  for (int i = 0; i < 256; ++i) ramp.at<uchar>(i) = static_cast<uchar>(i);
  cv::Mat lut;
  cv::applyColorMap(ramp, lut, map == ColourMap::inferno ? cv::COLORMAP_INFERNO : cv::COLORMAP_VIRIDIS);
  return lut;
}

/// Boxes and markers must stand out against the colour map's background.
cv::Scalar overlay_colour(ColourMap map) { return map == ColourMap::coolwarm ? cv::Scalar(0, 140, 0) : cv::Scalar(255, 255, 255); }

/// The frame as a colour picture, one pixel per wire (x) and tick (y, time downward).
cv::Mat coloured_frame(const FrameView& frame, const cv::Mat& lut, AdcRange range) {
  const cv::Mat wire_major(kWires, kTicks, CV_32F, const_cast<float*>(frame.above_pedestal.data()));
  cv::Mat tick_rows;
  cv::transpose(wire_major, tick_rows);
  const double gain = 255.0 / (range.max - range.min);
  cv::Mat indices;
  tick_rows.convertTo(indices, CV_8U, gain, -range.min * gain);  // saturates outside the range
  cv::Mat colours;
  cv::applyColorMap(indices, colours, lut);
  return colours;
}

// ---------------------------------------------------------------- drawing

void draw_frame_pixels(cv::Mat& canvas, const PlotGeometry& plot, const FrameView& frame, const cv::Mat& lut,
                       AdcRange range) {
  cv::Mat scaled;
  cv::resize(coloured_frame(frame, lut, range), scaled, plot.area.size(), 0, 0, cv::INTER_NEAREST);
  scaled.copyTo(canvas(plot.area));
}

/// Continuous (wire, tick) to a pixel inside the plot area.
cv::Point plot_point(const PlotGeometry& plot, double wire, double tick) {
  return {static_cast<int>(std::lround(wire * plot.pixels_per_wire)),
          static_cast<int>(std::lround(tick * plot.pixels_per_tick))};
}

void draw_truth_overlay(cv::Mat& canvas, const PlotGeometry& plot, const FrameTruth& truth, const DisplayStyle& style) {
  cv::Mat pixels = canvas(plot.area);  // drawing here clips to the plot
  const cv::Scalar colour = overlay_colour(style.colour_map);
  if (style.truth_box && truth.wire_min >= 0 && truth.tick_min >= 0) {
    const cv::Point top_left = plot_point(plot, truth.wire_min, truth.tick_min);
    const cv::Point bottom_right = plot_point(plot, truth.wire_max + 1, truth.tick_max + 1) - cv::Point(1, 1);
    cv::rectangle(pixels, top_left, bottom_right, colour, 1, cv::LINE_8);
  }
  const bool vertex_in_frame = truth.vertex_wire >= 0 && truth.vertex_tick >= 0 && truth.vertex_tick < kTicks;
  if (style.truth_box && vertex_in_frame) {
    cv::drawMarker(pixels, plot_point(plot, truth.vertex_wire, truth.vertex_tick), colour, cv::MARKER_CROSS,
                   4 * plot.pixels_per_tick, 2, cv::LINE_AA);
  }
  if (!style.mark_radiological) return;
  for (const auto& deposit : truth.radiological) {
    if (deposit.kind == daq::sim::DepositKind::neutrino) continue;
    cv::circle(pixels, plot_point(plot, deposit.wire, deposit.tick), 2 * plot.pixels_per_tick, colour, 1, cv::LINE_AA);
  }
}

/// Frame border, tick marks at wire/tick centres and their numbers.
void draw_axes(cv::Mat& canvas, const PlotGeometry& plot, Font font, int tick_spacing_px) {
  const cv::Rect& a = plot.area;
  cv::rectangle(canvas, a.tl() - cv::Point(1, 1), a.br(), kInk, 1);
  const int mark = 5, label_height = text_size("0", font).height;
  const double wire_step = tidy_step(kWires - 1, static_cast<double>(a.width) / tick_spacing_px);
  for (const double wire : tick_values(0, kWires - 1, wire_step)) {
    const int x = a.x + static_cast<int>((wire + 0.5) * plot.pixels_per_wire);
    cv::line(canvas, {x, a.br().y}, {x, a.br().y + mark}, kInk, 1);
    draw_text(canvas, number_label(wire), {x, a.br().y + mark + 4 + label_height / 2}, Align::centre, font);
  }
  const double tick_step = tidy_step(kTicks - 1, static_cast<double>(a.height) / tick_spacing_px);
  for (const double tick : tick_values(0, kTicks - 1, tick_step)) {
    const int y = a.y + static_cast<int>((tick + 0.5) * plot.pixels_per_tick);
    cv::line(canvas, {a.x - 1 - mark, y}, {a.x - 1, y}, kInk, 1);
    draw_text(canvas, number_label(tick), {a.x - mark - 5, y}, Align::right, font);
  }
}

/// "wire" under the x axis; "tick (512 ns)" up the y axis with an arrow showing time runs downward.
void draw_axis_titles(cv::Mat& canvas, const PlotGeometry& plot, Font font, int left_offset) {
  const cv::Rect& a = plot.area;
  draw_text(canvas, "wire", {a.x + a.width / 2, a.br().y + 42}, Align::centre, font);
  const int x = a.x - left_offset;
  const int title_length = text_size("tick (512 ns)", font).width;
  draw_vertical_text(canvas, "tick (512 ns)", {x, a.y + a.height / 2 - 18}, font);
  const int arrow_top = a.y + a.height / 2 - 18 + title_length / 2 + 10;
  if (arrow_top + 50 > a.br().y) return;  // no room below the title for the time arrow
  cv::arrowedLine(canvas, {x, arrow_top}, {x, arrow_top + 32}, kInk, 1, cv::LINE_AA, 0, 0.3);
  draw_text(canvas, "time", {x, arrow_top + 46}, Align::centre, Font{font.scale * 0.8, 1}, kFaintInk);
}

/// Vertical bar of the colour scale, high values on top, with ADC numbers and a title.
void draw_colour_bar(cv::Mat& canvas, cv::Rect bar, const cv::Mat& lut, AdcRange range, Font numbers, Font title) {
  cv::Mat ramp(bar.height, 1, CV_8U);
  for (int row = 0; row < bar.height; ++row) {
    ramp.at<uchar>(row) = cv::saturate_cast<uchar>(255.0 * (bar.height - 1 - row) / std::max(1, bar.height - 1));
  }
  cv::Mat colours, wide;
  cv::applyColorMap(ramp, colours, lut);
  cv::resize(colours, wide, bar.size(), 0, 0, cv::INTER_NEAREST);
  wide.copyTo(canvas(bar));
  cv::rectangle(canvas, bar.tl() - cv::Point(1, 1), bar.br(), kInk, 1);
  const double span = range.max - range.min;
  int widest = 0;
  for (const double value : tick_values(range.min, range.max, tidy_step(span, bar.height / 45.0))) {
    const int y = bar.y + static_cast<int>(std::lround((range.max - value) / span * (bar.height - 1)));
    cv::line(canvas, {bar.br().x, y}, {bar.br().x + 5, y}, kInk, 1);
    const std::string label = number_label(value);
    draw_text(canvas, label, {bar.br().x + 9, y}, Align::left, numbers);
    widest = std::max(widest, text_size(label, numbers).width);
  }
  draw_vertical_text(canvas, "ADC above pedestal", {bar.br().x + widest + 26, bar.y + bar.height / 2}, title);
}

// ---------------------------------------------------------------- titles

const char* label_name(FrameLabel label) {
  return label == FrameLabel::signal ? "signal" : label == FrameLabel::partial ? "partial signal" : "background";
}
const cv::Scalar& label_ink(FrameLabel label) { return label == FrameLabel::signal ? kSignalInk : kBackgroundInk; }

std::string energy_summary(const FrameView& frame) {
  const FrameTruth& t = frame.truth;
  if (t.nu_energy_mev <= 0 && t.visible_energy_mev <= 0) return "no neutrino interaction";
  return fmt::format("E_nu {:.2f} MeV   E_e {:.2f} MeV   E_vis in frame {:.2f} MeV", t.nu_energy_mev,
                     t.electron_energy_mev, t.visible_energy_mev);
}

std::string vertex_summary(const FrameTruth& t) {
  std::string text = t.vertex_wire < 0 ? std::string("vertex: none")
                                        : fmt::format("vertex: wire {:.1f}, tick {:.1f}, drift {:.1f} cm",
                                                      t.vertex_wire, t.vertex_tick, t.vertex_drift_cm);
  if (t.wire_min >= 0) {
    text += fmt::format("    charge extent: wires {}-{}, ticks {}-{}", t.wire_min, t.wire_max, t.tick_min, t.tick_max);
  }
  return text;
}

std::string radiological_summary(const FrameTruth& t) {
  std::map<std::string, int> by_kind;
  for (const auto& d : t.radiological) ++by_kind[daq::sim::deposit_kind_name(d.kind)];
  std::string parts;
  for (const auto& [kind, count] : by_kind) parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", count, kind);
  return fmt::format("radiological deposits: {}{}", t.radiological.size(), parts.empty() ? "" : " (" + parts + ")");
}

/// The three title lines of a single-frame display.
struct EventTitle {
  std::string head, label, energies, details, origin;
  FrameLabel kind = FrameLabel::background;
};

constexpr Font kHeadingFont{0.65, 2};
constexpr Font kBodyFont{0.5, 1};

EventTitle event_title(const FrameView& frame, const std::string& source) {
  return {fmt::format("frame {}  ", frame.index), label_name(frame.truth.label), "   " + energy_summary(frame),
          vertex_summary(frame.truth) + "    " + radiological_summary(frame.truth),
          fmt::format("{}   timestamp {}   colour: ADC minus the wire's pedestal (median of its 64 ticks)", source,
                      frame.truth.timestamp),
          frame.truth.label};
}

int title_width(const EventTitle& t) {
  const int first_line = text_size(t.head + t.label + t.energies, kHeadingFont).width;
  return std::max({first_line, text_size(t.details, kBodyFont).width, text_size(t.origin, kBodyFont).width});
}

void draw_event_title(cv::Mat& canvas, const EventTitle& t, int x, int line_height) {
  const int head_width = text_size(t.head, kHeadingFont).width, label_width = text_size(t.label, kHeadingFont).width;
  draw_text(canvas, t.head, {x, line_height}, Align::left, kHeadingFont);
  draw_text(canvas, t.label, {x + head_width, line_height}, Align::left, kHeadingFont, label_ink(t.kind));
  draw_text(canvas, t.energies, {x + head_width + label_width, line_height}, Align::left, kHeadingFont);
  draw_text(canvas, t.details, {x, 2 * line_height}, Align::left, kBodyFont);
  draw_text(canvas, t.origin, {x, 3 * line_height}, Align::left, kBodyFont, kFaintInk);
}

std::string panel_title(const FrameView& frame) {
  const std::string title = fmt::format("#{}  {}  E_vis {:.1f} MeV", frame.index, label_name(frame.truth.label),
                                        frame.truth.visible_energy_mev);
  return frame.stage.empty() ? title : title + "   " + frame.stage;
}

std::string frame_span(std::span<const FrameView> frames) {
  if (frames.front().index == frames.back().index) return fmt::format("frame {}", frames.front().index);
  return fmt::format("frames {}-{}", frames.front().index, frames.back().index);
}

// ---------------------------------------------------------------- sheets

struct SheetLayout {
  int columns = 1, rows = 1;
  int margin = 20, header = 70, title = 24, axis_left = 40, axis_bottom = 26, gap = 18, bar_area = 130;
  int plot_width = 0, plot_height = 0;
  [[nodiscard]] int cell_width() const { return axis_left + plot_width + gap; }
  [[nodiscard]] int cell_height() const { return title + plot_height + axis_bottom + gap; }
  [[nodiscard]] cv::Rect plot_rect(std::size_t panel) const {
    const int row = static_cast<int>(panel) / columns, column = static_cast<int>(panel) % columns;
    return {margin + column * cell_width() + axis_left, header + row * cell_height() + title, plot_width, plot_height};
  }
};

void draw_panel(cv::Mat& canvas, const SheetLayout& layout, std::size_t panel, const FrameView& frame,
                const DisplayStyle& style, const cv::Mat& lut) {
  const PlotGeometry plot{layout.plot_rect(panel), style.pixels_per_wire, style.pixels_per_tick};
  draw_frame_pixels(canvas, plot, frame, lut, style.range);
  draw_truth_overlay(canvas, plot, frame.truth, style);
  draw_axes(canvas, plot, Font{0.4, 1}, 60);
  draw_text(canvas, panel_title(frame), {plot.area.x, plot.area.y - layout.title / 2 - 1}, Align::left,
            Font{0.5, 1}, label_ink(frame.truth.label));
}

constexpr const char* kSheetLegend = "x: wire    y: tick of 512 ns, time runs downward    colour: ADC above the wire's pedestal";

std::string sheet_heading(std::span<const FrameView> frames, const std::string& source, std::size_t dataset_size) {
  return fmt::format("{}: {} of {}", source, frame_span(frames), dataset_size);
}

int sheet_header_width(std::span<const FrameView> frames, const std::string& source, std::size_t dataset_size) {
  return std::max(text_size(sheet_heading(frames, source, dataset_size), kHeadingFont).width,
                  text_size(kSheetLegend, kBodyFont).width);
}

void draw_sheet_header(cv::Mat& canvas, std::span<const FrameView> frames, const std::string& source,
                       std::size_t dataset_size, int x) {
  draw_text(canvas, sheet_heading(frames, source, dataset_size), {x, 22}, Align::left, kHeadingFont);
  draw_text(canvas, kSheetLegend, {x, 48}, Align::left, kBodyFont, kFaintInk);
}

}  // namespace

std::vector<float> subtract_pedestals(std::span<const std::uint16_t, Frame::kPixels> adc) {
  std::vector<float> out(Frame::kPixels);
  std::array<std::uint16_t, Frame::kTicks> sorted{};
  for (std::size_t wire = 0; wire < Frame::kWires; ++wire) {
    const auto samples = adc.subspan(wire * Frame::kTicks, Frame::kTicks);
    std::copy(samples.begin(), samples.end(), sorted.begin());
    std::sort(sorted.begin(), sorted.end());
    const float pedestal = 0.5f * (static_cast<float>(sorted[Frame::kTicks / 2 - 1]) + sorted[Frame::kTicks / 2]);
    for (std::size_t tick = 0; tick < Frame::kTicks; ++tick) {
      out[wire * Frame::kTicks + tick] = static_cast<float>(samples[tick]) - pedestal;
    }
  }
  return out;
}

AdcRange parse_adc_range(const std::string& text) {
  const auto bad = [&text] {
    return std::invalid_argument(fmt::format("'{}' is not MIN:MAX in ADC counts above pedestal (e.g. -20:200)", text));
  };
  const auto colon = text.find(':', 1);
  if (colon == std::string::npos) throw bad();
  const auto number = [&bad](const std::string& part) {
    std::size_t used = 0;
    float value = 0;
    try {
      value = std::stof(part, &used);
    } catch (const std::exception&) {
      throw bad();
    }
    if (used != part.size() || !std::isfinite(value)) throw bad();
    return value;
  };
  const AdcRange range{number(text.substr(0, colon)), number(text.substr(colon + 1))};
  if (!(range.min < range.max)) {
    throw std::invalid_argument(fmt::format("'{}': MIN must be below MAX", text));
  }
  return range;
}

AdcRange automatic_range(std::span<const FrameView> frames) {
  std::vector<float> values, magnitudes;
  for (const auto& frame : frames) values.insert(values.end(), frame.above_pedestal.begin(), frame.above_pedestal.end());
  if (values.empty()) return {};
  magnitudes.reserve(values.size());
  for (const float v : values) magnitudes.push_back(std::abs(v));
  auto middle = magnitudes.begin() + static_cast<std::ptrdiff_t>(magnitudes.size() / 2);
  std::nth_element(magnitudes.begin(), middle, magnitudes.end());
  const double sigma = std::max(1.0, 1.4826 * *middle);  // robust noise RMS (median absolute deviation)
  auto high_quantile = values.begin() + static_cast<std::ptrdiff_t>(0.999 * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), high_quantile, values.end());
  const double high = std::max<double>(*high_quantile, 10 * sigma);
  const double high_step = tidy_step(high, 10);
  return {static_cast<float>(std::floor(-4 * sigma / 5) * 5), static_cast<float>(std::ceil(high / high_step) * high_step)};
}

cv::Mat render_event(const FrameView& frame, const DisplayStyle& style, const std::string& source) {
  const int line_height = 26, top = 3 * line_height + 22, left = 95, bottom = 62, right = 150;
  const PlotGeometry plot{cv::Rect(left, top, kWires * style.pixels_per_wire, kTicks * style.pixels_per_tick),
                          style.pixels_per_wire, style.pixels_per_tick};
  const EventTitle title = event_title(frame, source);
  const int width = std::max(left + plot.area.width + right, title_width(title) + 2 * 20);
  cv::Mat canvas(top + plot.area.height + bottom, width, CV_8UC3, kPaper);
  const cv::Mat lut = colour_lut(style.colour_map, style.range);
  draw_frame_pixels(canvas, plot, frame, lut, style.range);
  draw_truth_overlay(canvas, plot, frame.truth, style);
  draw_axes(canvas, plot, Font{0.45, 1}, 70);
  draw_axis_titles(canvas, plot, Font{0.55, 1}, 62);
  const cv::Rect bar(plot.area.br().x + 24, plot.area.y, 22, plot.area.height);
  draw_colour_bar(canvas, bar, lut, style.range, Font{0.45, 1}, Font{0.55, 1});
  draw_event_title(canvas, title, 20, line_height);
  return canvas;
}

cv::Mat render_contact_sheet(std::span<const FrameView> frames, int columns, const DisplayStyle& style,
                             const std::string& source, std::size_t dataset_size) {
  if (frames.empty()) throw std::invalid_argument("contact sheet without frames");
  SheetLayout layout;
  layout.columns = std::clamp(columns, 1, static_cast<int>(frames.size()));
  layout.rows = (static_cast<int>(frames.size()) + layout.columns - 1) / layout.columns;
  layout.plot_width = kWires * style.pixels_per_wire;
  layout.plot_height = kTicks * style.pixels_per_tick;
  const int grid_width = layout.margin + layout.columns * layout.cell_width();
  const int header_width = sheet_header_width(frames, source, dataset_size);
  const int width = std::max(grid_width + layout.bar_area, header_width + 2 * layout.margin);
  cv::Mat canvas(layout.header + layout.rows * layout.cell_height(), width, CV_8UC3, kPaper);
  const cv::Mat lut = colour_lut(style.colour_map, style.range);
  for (std::size_t i = 0; i < frames.size(); ++i) draw_panel(canvas, layout, i, frames[i], style, lut);
  const cv::Rect first = layout.plot_rect(0);
  const int grid_bottom = layout.plot_rect(static_cast<std::size_t>(layout.columns) * (layout.rows - 1)).br().y;
  const cv::Rect bar(grid_width, first.y, 20, std::min(grid_bottom - first.y, 420));
  draw_colour_bar(canvas, bar, lut, style.range, Font{0.45, 1}, Font{0.5, 1});
  draw_sheet_header(canvas, frames, source, dataset_size, layout.margin);
  return canvas;
}

void write_image(const std::filesystem::path& path, const cv::Mat& image) {
  std::vector<uchar> encoded;
  try {
    if (!cv::imencode(path.extension().string(), image, encoded)) throw std::runtime_error("encoder failed");
  } catch (const std::exception&) {
    throw std::runtime_error(fmt::format("{}: cannot encode the image as '{}'", path.string(), path.extension().string()));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("{}: cannot open for writing", path.string()));
  out.write(reinterpret_cast<const char*>(encoded.data()), static_cast<std::streamsize>(encoded.size()));
  out.close();
  if (!out) throw std::runtime_error(fmt::format("{}: writing the image failed", path.string()));
}

}  // namespace larsel::app::display
