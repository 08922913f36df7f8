// larsel display as a user runs it: a small synthetic data set in, PNG images
// read back and checked for size and content, and its error messages.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <random>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "larsel/daq/sim/dataset.hpp"
#include "support.hpp"

using larsel::daq::Frame;
using larsel::daq::sim::FrameLabel;
using larsel::daq::sim::FrameTruth;
using larsel::test::run_larsel;

namespace {

constexpr int kTrackWireFrom = 100, kTrackWireTo = 200, kTrackTickFrom = 10, kTrackTickTo = 50;

/// The tick of the diagonal track on `wire` (inside [kTrackWireFrom, kTrackWireTo]).
int track_tick(int wire) {
  return kTrackTickFrom + (wire - kTrackWireFrom) * (kTrackTickTo - kTrackTickFrom) / (kTrackWireTo - kTrackWireFrom);
}

/// Per-wire pedestals around 3600 ADC plus Gaussian noise of 8 ADC; with_track adds a
/// 150 ADC diagonal track from (wire 100, tick 10) to (wire 200, tick 50).
std::vector<std::uint16_t> synthetic_frame(std::mt19937& rng, bool with_track) {
  std::normal_distribution<double> noise(0.0, 8.0);
  std::vector<std::uint16_t> adc(Frame::kPixels);
  for (std::size_t wire = 0; wire < Frame::kWires; ++wire) {
    const double pedestal = 3500.0 + static_cast<double>((wire * 37) % 200);
    for (std::size_t tick = 0; tick < Frame::kTicks; ++tick) {
      adc[wire * Frame::kTicks + tick] = static_cast<std::uint16_t>(std::lround(pedestal + noise(rng)));
    }
  }
  if (!with_track) return adc;
  for (int wire = kTrackWireFrom; wire <= kTrackWireTo; ++wire) {
    const int centre = track_tick(wire);
    for (int dt = -1; dt <= 1; ++dt) adc[static_cast<std::size_t>(wire * 64 + centre + dt)] += dt == 0 ? 150 : 60;
  }
  return adc;
}

FrameTruth signal_truth() {
  FrameTruth t;
  t.label = FrameLabel::signal;
  t.nu_energy_mev = 15.5f;
  t.electron_energy_mev = 12.25f;
  t.visible_energy_mev = 10.75f;
  t.wire_min = kTrackWireFrom;
  t.wire_max = kTrackWireTo;
  t.tick_min = kTrackTickFrom - 1;
  t.tick_max = kTrackTickTo + 1;
  t.vertex_wire = static_cast<float>(kTrackWireFrom);
  t.vertex_tick = static_cast<float>(kTrackTickFrom);
  t.vertex_drift_cm = 150.0f;
  t.radiological = {{larsel::daq::sim::DepositKind::ar39_beta, 350.5f, 20.0f, 80.0f, 0.3f}};
  return t;
}

/// Frame 0: signal with the track; frames 1-3: noise only, background.
void write_dataset(const std::filesystem::path& path) {
  std::mt19937 rng(12345);
  larsel::daq::sim::DatasetWriter writer(path, "test: synthetic\n", 12345);
  for (int i = 0; i < 4; ++i) {
    const auto adc = synthetic_frame(rng, i == 0);
    writer.append(larsel::daq::sim::FramePixels(adc.data(), Frame::kPixels), i == 0 ? signal_truth() : FrameTruth{});
  }
  writer.close();
}

/// Bounding boxes of the colour-mapped areas (saturated pixels: frame panels and colour bars), largest first.
std::vector<cv::Rect> coloured_areas(const cv::Mat& image) {
  cv::Mat hsv, saturated, labels, stats, centroids;
  cv::cvtColor(image, hsv, cv::COLOR_BGR2HSV);
  cv::extractChannel(hsv, saturated, 1);
  cv::threshold(saturated, saturated, 80, 255, cv::THRESH_BINARY);
  const int count = cv::connectedComponentsWithStats(saturated, labels, stats, centroids, 4);
  std::vector<cv::Rect> areas;
  for (int i = 1; i < count; ++i) {
    areas.emplace_back(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
                       stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT));
  }
  std::sort(areas.begin(), areas.end(), [](const cv::Rect& a, const cv::Rect& b) { return a.area() > b.area(); });
  return areas;
}

/// Mean grey level of the display pixel of (wire, tick) for the listed cells.
double mean_brightness(const cv::Mat& grey, const cv::Rect& plot, const std::vector<std::array<int, 2>>& cells) {
  const int px_wire = plot.width / 480, px_tick = plot.height / 64;
  double sum = 0;
  for (const auto& [wire, tick] : cells) {
    sum += grey.at<uchar>(plot.y + tick * px_tick + px_tick / 2, plot.x + wire * px_wire + px_wire / 2);
  }
  return sum / static_cast<double>(cells.size());
}

std::string quoted(const std::filesystem::path& path) {
  std::string text(1, '\'');
  text.append(path.string()).push_back('\'');
  return text;
}

}  // namespace

TEST_CASE("display renders one frame: plot size from the pixel scale, the track brighter than noise", "[display]") {
  larsel::test::TempDir dir;
  write_dataset(dir / "set.h5");
  const auto r = run_larsel("display " + quoted(dir / "set.h5") + " --index 0 --out " + quoted(dir / "f0.png"));
  REQUIRE(r.exit_code == 0);
  const cv::Mat image = cv::imread((dir / "f0.png").string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(image.empty());
  const auto areas = coloured_areas(image);
  REQUIRE_FALSE(areas.empty());
  const cv::Rect plot = areas.front();
  CHECK(plot.width == 480 * 2);  // default 2 px per wire, 8 px per tick
  CHECK(plot.height == 64 * 8);
  CHECK(image.cols > plot.width + 100);  // room for the axes and the colour bar
  CHECK(image.rows > plot.height + 100);  // and for the title

  std::vector<std::array<int, 2>> track, quiet;
  for (int wire = kTrackWireFrom; wire <= kTrackWireTo; ++wire) track.push_back({wire, track_tick(wire)});
  for (int wire = 300; wire <= 400; ++wire) quiet.push_back({wire, 10 + (wire - 300) * 40 / 100});
  cv::Mat grey;
  cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
  CHECK(mean_brightness(grey, plot, track) > mean_brightness(grey, plot, quiet) + 80);

  const auto noise = run_larsel("display " + quoted(dir / "set.h5") + " --index 1 --out " + quoted(dir / "f1.png"));
  REQUIRE(noise.exit_code == 0);
  cv::Mat noise_grey;
  cv::cvtColor(cv::imread((dir / "f1.png").string(), cv::IMREAD_COLOR), noise_grey, cv::COLOR_BGR2GRAY);
  CHECK(std::abs(mean_brightness(noise_grey, plot, track) - mean_brightness(noise_grey, plot, quiet)) < 15);
}

TEST_CASE("display options: pixel scale, ranges, colour maps, truth overlays", "[display]") {
  larsel::test::TempDir dir;
  write_dataset(dir / "set.h5");
  const std::string base = "display " + quoted(dir / "set.h5") + " --out " + quoted(dir / "o.png") + " ";
  for (const char* options : {"--wire-px 3 --tick-px 6", "--range=-30:300", "--range -30:300", "--range auto",
                              "--colormap inferno --truth-box", "--colormap coolwarm --mark-radiological"}) {
    INFO(options);
    const auto r = run_larsel(base + options);
    REQUIRE(r.exit_code == 0);
    const cv::Mat image = cv::imread((dir / "o.png").string(), cv::IMREAD_COLOR);
    REQUIRE_FALSE(image.empty());
    if (std::string(options).starts_with("--wire-px")) {
      CHECK(coloured_areas(image).front().size() == cv::Size(480 * 3, 64 * 6));
    }
  }
}

TEST_CASE("display --grid makes a contact sheet of frame panels", "[display]") {
  larsel::test::TempDir dir;
  write_dataset(dir / "set.h5");
  const std::string base = "display " + quoted(dir / "set.h5") + " --out ";
  REQUIRE(run_larsel(base + quoted(dir / "one.png")).exit_code == 0);
  const auto r = run_larsel(base + quoted(dir / "sheet.png") + " --grid 4 --truth-box");
  REQUIRE(r.exit_code == 0);
  const cv::Mat one = cv::imread((dir / "one.png").string(), cv::IMREAD_COLOR);
  const cv::Mat sheet = cv::imread((dir / "sheet.png").string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(sheet.empty());
  CHECK(sheet.cols * sheet.rows > one.cols * one.rows);
  const auto areas = coloured_areas(sheet);
  const auto panels = std::count_if(areas.begin(), areas.end(), [](const cv::Rect& a) { return a.size() == cv::Size(480, 256); });
  CHECK(panels == 4);  // 1 px per wire, 4 px per tick, 2 x 2

  const auto clipped = run_larsel(base + quoted(dir / "sheet.png") + " --grid 9 --first 2 --columns 3");
  CHECK(clipped.exit_code == 0);  // only frames 2-3 exist: shown with a warning
  CHECK_THAT(clipped.err, Catch::Contains("showing 2 instead of 9"));
}

/// Fraction of the panel's pixels whose colour differs from its most common colour.
double fraction_not_background(const cv::Mat& panel) {
  std::map<std::array<uchar, 3>, int> counts;
  for (int r = 0; r < panel.rows; ++r) {
    for (int c = 0; c < panel.cols; ++c) {
      const auto& p = panel.at<cv::Vec3b>(r, c);
      ++counts[{p[0], p[1], p[2]}];
    }
  }
  int most = 0;
  for (const auto& [colour, n] : counts) most = std::max(most, n);
  return 1.0 - static_cast<double>(most) / panel.total();
}

TEST_CASE("display --preprocess stacks the raw frame, its denoised plane and the CNN input", "[display][preprocess]") {
  larsel::test::TempDir dir;
  write_dataset(dir / "set.h5");
  const std::string base = "display " + quoted(dir / "set.h5") + " --wire-px 1 --tick-px 4 --index 0 --out ";
  const auto r = run_larsel(base + quoted(dir / "pre.png") + " --preprocess");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const cv::Mat image = cv::imread((dir / "pre.png").string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(image.empty());
  auto areas = coloured_areas(image);
  areas.erase(std::remove_if(areas.begin(), areas.end(), [](const cv::Rect& a) { return a.size() != cv::Size(480, 256); }),
              areas.end());
  REQUIRE(areas.size() == 3);
  std::sort(areas.begin(), areas.end(), [](const cv::Rect& a, const cv::Rect& b) { return a.y < b.y; });
  const double raw = fraction_not_background(image(areas[0])), denoised = fraction_not_background(image(areas[1])),
               cnn = fraction_not_background(image(areas[2]));
  CHECK(raw > 0.5);  // noise everywhere
  CHECK(denoised > 0.005);  // the 101-wire track survives ...
  CHECK(denoised < 0.03);   // ... and the noise does not
  CHECK(cnn > denoised);    // 4 x 4 pooling widens the track
  CHECK(cnn < 0.15);

  const std::filesystem::path yaml = dir / "bad.yaml";
  std::ofstream(yaml) << "downsize:\n  wires: 7\n";
  const auto bad = run_larsel(base + quoted(dir / "x.png") + " --preprocess --pre-config " + quoted(yaml));
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("does not divide 480"));
  CHECK(run_larsel(base + quoted(dir / "x.png") + " --warmup 3").exit_code == 2);  // needs --preprocess
}

TEST_CASE("display errors: one line, exit 1 at run time and 2 for bad options", "[display]") {
  larsel::test::TempDir dir;
  write_dataset(dir / "set.h5");
  const std::string input = quoted(dir / "set.h5"), out = " --out " + quoted(dir / "x.png");

  const auto missing = run_larsel("display /no/such/set.h5" + out);
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "larsel: error: /no/such/set.h5: no such file\n");
  const auto beyond = run_larsel("display " + input + " --index 4" + out);
  CHECK(beyond.exit_code == 1);
  CHECK_THAT(beyond.err, Catch::Contains("frame index 4 is out of range (the data set has 4 frames, 0-3)"));
  CHECK(run_larsel("display " + input + " --grid 2 --first 7" + out).exit_code == 1);
  const auto unwritable = run_larsel("display " + input + " --out /no/such/dir/x.png");
  CHECK(unwritable.exit_code == 1);
  CHECK(unwritable.err == "larsel: error: /no/such/dir/x.png: cannot open for writing\n");
  CHECK_FALSE(std::filesystem::exists(dir / "x.png"));  // no output from the failed runs above

  for (const char* usage : {"--range 200:-20", "--range=abc", "--colormap jet", "--grid 0", "--index 1 --grid 2",
                            "--first 1", "--columns 2", "--wire-px 0", "--out x.unknown"}) {
    INFO(usage);
    const auto r = run_larsel("display " + input + out + " " + usage);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(r.err.empty());
  }
  CHECK(run_larsel("display " + input).exit_code == 2);  // --out is required
}
