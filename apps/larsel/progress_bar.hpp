#pragma once
// A one-line progress bar on stderr ("label [#####.....] 512/845  text  ETA 4m12s"),
// redrawn at most five times a second and only when stderr is a terminal, so
// logs and tests see the per-step log lines alone.
#include <chrono>
#include <string>

namespace larsel::app {

/// "4m12s", "1h03m", "37s".
std::string format_duration(double seconds);

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// `eta_seconds` < 0: estimated from the rate so far.
  void update(std::size_t done, std::size_t total, const std::string& text = {}, double eta_seconds = -1);
  /// Clears the line (before a log line is printed, and at the end).
  void clear();
  void set_label(std::string label) { label_ = std::move(label); }

 private:
  std::string label_;
  bool terminal_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace larsel::app
