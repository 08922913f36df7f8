#pragma once
// Small line and error-bar plots written as PNG with OpenCV (ROC and
// efficiency curves for `larsel eval`): axes with ticks, optional log x, a legend.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace larsel::app {

struct PlotSeries {
  std::string label;
  cv::Scalar colour;                 // BGR
  std::vector<cv::Point2d> points;   // data coordinates
  std::vector<double> low, high;     // 68 % interval in y, drawn as a band with bars (empty: a plain line)
};

struct PlotAxes {
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  bool log_x = false;
};

/// Draws the series (lines through points, with error bars and markers when
/// `low`/`high` are given) and writes `path`; throws std::runtime_error if it cannot.
void write_plot(const std::string& path, const PlotAxes& axes, const std::vector<PlotSeries>& series,
                const std::vector<double>& x_markers = {});

struct BarSeries {
  std::string label;
  cv::Scalar colour;            // BGR
  std::vector<double> values;   // one per category
};

/// Grouped bars (one group per category, one bar per series) on a log10 y
/// axis from 1 to the largest value; writes `path` or throws std::runtime_error.
void write_bar_chart(const std::string& path, const std::string& title, const std::vector<std::string>& categories,
                     const std::vector<BarSeries>& series);

}  // namespace larsel::app
