#include "plot.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace larsel::app {
namespace {

constexpr int kWidth = 900, kHeight = 620;
constexpr int kLeft = 90, kRight = 30, kTop = 50, kBottom = 70;
const cv::Scalar kBlack(0, 0, 0), kGrey(200, 200, 200);

class Frame {
 public:
  explicit Frame(const PlotAxes& a) : a_(a) {}
  [[nodiscard]] double fx(double x) const {
    const double lo = a_.log_x ? std::log10(a_.x_min) : a_.x_min, hi = a_.log_x ? std::log10(a_.x_max) : a_.x_max;
    const double v = a_.log_x ? std::log10(std::max(x, a_.x_min)) : x;
    return (v - lo) / (hi - lo);
  }
  [[nodiscard]] cv::Point pixel(double x, double y) const {
    const double u = std::clamp(fx(x), 0.0, 1.0), v = std::clamp((y - a_.y_min) / (a_.y_max - a_.y_min), 0.0, 1.0);
    return {kLeft + static_cast<int>(u * (kWidth - kLeft - kRight)), kHeight - kBottom - static_cast<int>(v * (kHeight - kTop - kBottom))};
  }

 private:
  PlotAxes a_;
};

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale = 0.5, int thickness = 1) {
  cv::putText(img, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, kBlack, thickness, cv::LINE_AA);
}

void draw_axes(cv::Mat& img, const PlotAxes& a, const Frame& f) {
  std::vector<double> x_ticks, y_ticks;
  if (a.log_x) {
    for (int e = static_cast<int>(std::floor(std::log10(a.x_min))); e <= static_cast<int>(std::ceil(std::log10(a.x_max))); ++e) x_ticks.push_back(std::pow(10.0, e));
  } else {
    for (int i = 0; i <= 10; ++i) x_ticks.push_back(a.x_min + (a.x_max - a.x_min) * i / 10.0);
  }
  for (int i = 0; i <= 10; ++i) y_ticks.push_back(a.y_min + (a.y_max - a.y_min) * i / 10.0);
  for (const double x : x_ticks) {
    if (x < a.x_min * 0.999 || x > a.x_max * 1.001) continue;
    cv::line(img, f.pixel(x, a.y_min), f.pixel(x, a.y_max), kGrey, 1);
    const std::string label = a.log_x ? fmt::format("1e{}", static_cast<int>(std::round(std::log10(x)))) : fmt::format("{:g}", x);
    text(img, label, f.pixel(x, a.y_min) + cv::Point(-14, 22));
  }
  for (const double y : y_ticks) {
    cv::line(img, f.pixel(a.x_min, y), f.pixel(a.x_max, y), kGrey, 1);
    text(img, fmt::format("{:.3g}", y), f.pixel(a.x_min, y) + cv::Point(-54, 5));
  }
  cv::rectangle(img, f.pixel(a.x_min, a.y_max), f.pixel(a.x_max, a.y_min), kBlack, 1);
  text(img, a.title, {kLeft, 30}, 0.65, 1);
  text(img, a.x_label, {kLeft + (kWidth - kLeft - kRight) / 2 - 80, kHeight - 20}, 0.55);
  cv::Mat label(30, kHeight - kTop - kBottom, CV_8UC3, cv::Scalar(255, 255, 255));
  text(label, a.y_label, {10, 22}, 0.55);
  cv::Mat rotated;
  cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
  rotated.copyTo(img(cv::Rect(8, kTop, rotated.cols, rotated.rows)));
}

/// The 68 % interval as a translucent band between the low and high ends.
void draw_band(cv::Mat& img, const Frame& f, const PlotSeries& s) {
  std::vector<cv::Point> outline;
  for (std::size_t i = 0; i < s.points.size(); ++i) outline.push_back(f.pixel(s.points[i].x, s.low[i]));
  for (std::size_t i = s.points.size(); i-- > 0;) outline.push_back(f.pixel(s.points[i].x, s.high[i]));
  cv::Mat overlay = img.clone();
  cv::fillPoly(overlay, std::vector<std::vector<cv::Point>>{outline}, s.colour, cv::LINE_AA);
  cv::addWeighted(overlay, 0.25, img, 0.75, 0, img);
}

void draw_series(cv::Mat& img, const Frame& f, const PlotSeries& s) {
  const bool bars = s.low.size() == s.points.size() && s.high.size() == s.points.size() && !s.points.empty();
  if (bars) draw_band(img, f, s);
  for (std::size_t i = 0; i + 1 < s.points.size(); ++i) {
    cv::line(img, f.pixel(s.points[i].x, s.points[i].y), f.pixel(s.points[i + 1].x, s.points[i + 1].y), s.colour, 2, cv::LINE_AA);
  }
  if (!bars) return;
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    cv::line(img, f.pixel(s.points[i].x, s.low[i]), f.pixel(s.points[i].x, s.high[i]), s.colour, 1);
    cv::circle(img, f.pixel(s.points[i].x, s.points[i].y), 4, s.colour, cv::FILLED, cv::LINE_AA);
  }
}

}  // namespace

void write_plot(const std::string& path, const PlotAxes& axes, const std::vector<PlotSeries>& series, const std::vector<double>& x_markers) {
  if (!(axes.x_max > axes.x_min) || !(axes.y_max > axes.y_min) || (axes.log_x && !(axes.x_min > 0))) {
    throw std::invalid_argument(fmt::format("{}: empty plot range x [{}, {}], y [{}, {}]", path, axes.x_min, axes.x_max, axes.y_min, axes.y_max));
  }
  cv::Mat img(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  const Frame f(axes);
  draw_axes(img, axes, f);
  for (const double x : x_markers) cv::line(img, f.pixel(x, axes.y_min), f.pixel(x, axes.y_max), cv::Scalar(120, 120, 120), 1, cv::LINE_4);
  for (const PlotSeries& s : series) draw_series(img, f, s);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const cv::Point at(kWidth - kRight - 260, kHeight - kBottom - 20 - 24 * static_cast<int>(series.size() - 1 - i));
    cv::line(img, at + cv::Point(0, -5), at + cv::Point(30, -5), series[i].colour, 3);
    text(img, series[i].label, at + cv::Point(38, 0));
  }
  if (!cv::imwrite(path, img)) throw std::runtime_error(fmt::format("{}: cannot write the plot", path));
}

void write_bar_chart(const std::string& path, const std::string& title, const std::vector<std::string>& categories,
                     const std::vector<BarSeries>& series) {
  double largest = 10;
  for (const BarSeries& s : series) {
    for (const double v : s.values) largest = std::max(largest, v);
  }
  const double decades = std::ceil(std::log10(largest));
  cv::Mat img(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  const int plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  const auto y_pixel = [&](double v) { return kHeight - kBottom - static_cast<int>(std::log10(std::max(v, 1.0)) / decades * plot_h); };
  for (int e = 0; e <= static_cast<int>(decades); ++e) {
    const int y = y_pixel(std::pow(10.0, e));
    cv::line(img, {kLeft, y}, {kWidth - kRight, y}, kGrey, 1);
    text(img, fmt::format("1e{}", e), {kLeft - 45, y + 5});
  }
  const int group = categories.empty() ? plot_w : plot_w / static_cast<int>(categories.size());
  const int bar = std::max(2, (group - 10) / std::max<int>(1, static_cast<int>(series.size())));
  for (std::size_t c = 0; c < categories.size(); ++c) {
    const int x0 = kLeft + static_cast<int>(c) * group + 5;
    for (std::size_t s = 0; s < series.size(); ++s) {
      const double v = c < series[s].values.size() ? series[s].values[c] : 0.0;
      const int x = x0 + static_cast<int>(s) * bar;
      if (v >= 1) cv::rectangle(img, {x, y_pixel(v)}, {x + bar - 2, kHeight - kBottom}, series[s].colour, cv::FILLED);
    }
    text(img, categories[c], {x0, kHeight - kBottom + 20}, 0.4);
  }
  cv::rectangle(img, {kLeft, kTop}, {kWidth - kRight, kHeight - kBottom}, kBlack, 1);
  text(img, title, {kLeft, 30}, 0.65);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const cv::Point at(kWidth - kRight - 260, kTop + 24 + 24 * static_cast<int>(i));
    cv::rectangle(img, at + cv::Point(0, -12), at + cv::Point(30, 0), series[i].colour, cv::FILLED);
    text(img, series[i].label, at + cv::Point(38, 0));
  }
  if (!cv::imwrite(path, img)) throw std::runtime_error(fmt::format("{}: cannot write the chart", path));
}

}  // namespace larsel::app
