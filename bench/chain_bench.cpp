// larsel bench chain (chain_bench.hpp): datagrams -> validation and frame
// building -> preprocess -> twin -> selection, one thread, per kernel set.
#include "larsel/bench/chain_bench.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "bench_kernel_sets.hpp"
#include "larsel/bench/bench_stats.hpp"
#include "larsel/core/data_path.hpp"
#include "larsel/core/kernel_set.hpp"
#include "larsel/daq/channel_map.hpp"
#include "larsel/daq/emulator.hpp"
#include "larsel/daq/frame_builder.hpp"
#include "larsel/daq/sim/physics_source.hpp"
#include "larsel/fpga/twin.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/model_setup.hpp"
#include "larsel/preprocess/preprocessor.hpp"

namespace larsel::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kFramePeriodUs = 32.768;
constexpr double kGoalUs = kFramePeriodUs, kStretchGoalUs = 16.0;  // issue 18

double us_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::micro>(b - a).count(); }

/// A face's simulated periods as WIBEth datagrams: physics background (noise, radiologicals), every fourth
/// period a supernova-like nu_e CC interaction.
std::vector<std::byte> simulate_datagrams(const daq::ChannelMap& map, std::uint32_t face, unsigned periods) {
  daq::sim::PhysicsWaveformSource source(daq::sim::SimConfig{}, 20261207);
  daq::sim::FrameTruth truth;
  return daq::encode_face_periods(map, face, periods, [&](unsigned p, daq::FaceWaveforms& w) {
    if (p % 4 == 0) {
      source.generate_signal(face, p / 4, w, truth);
    } else {
      source.generate(face, p, w);
    }
  });
}

/// One kernel set's chain: a frame builder whose sink preprocesses, scores and selects each image it completes.
class Chain {
 public:
  Chain(core::KernelSet set, const daq::ChannelMap& map, std::uint32_t face, models::ModelFile& file, double threshold)
      : set_(set), pre_(pipeline::model_preprocess_config(file, "the model file"), set), twin_(file.model, set), image_(file.model.input_shape().size()),
        threshold_(threshold), fraction_(twin_.logit_format().fractional_bits()),
        builder_(map, std::span(&face, 1), pool_, counters_, [this](daq::FrameHandle frame) { decide(*frame); }, builder_config(set)) {}

  /// The 20 datagrams of the chain's next period through it, their bytes from `datagrams` (as a sender would,
  /// with its timestamp and seq_id written in, untimed); the time it took, in us.
  double run_period(std::span<std::byte> datagrams) {
    const std::uint64_t period = next_period_++;
    for (std::size_t s = 0; s < daq::kStreamsPerFace; ++s) {  // the sender's work, not timed
      daq::wibeth::rewrite_time(view(datagrams, s), kFirstTimestamp + period * daq::wibeth::kTicksPerFrame, static_cast<std::uint16_t>(period % 4096));
    }
    const auto start = Clock::now();
    for (std::size_t s = 0; s < daq::kStreamsPerFace; ++s) builder_.on_datagram(view(datagrams, s), daq::wibeth::kFrameBytes, start);
    return us_between(start, Clock::now());
  }

  [[nodiscard]] core::KernelSet set() const noexcept { return set_; }
  [[nodiscard]] nlohmann::ordered_json kernels() const {
    return {{"wibeth_unpack", builder_.unpack_kernel_name()}, {"preprocess", pre_.kernel_name()}, {"twin", twin_.kernel_name()}};
  }
  /// Stage times summed over the frames decided since the last call (us), and their count.
  struct StageTotals {
    double preprocess = 0, twin = 0, select = 0;
    std::uint64_t frames = 0, selected = 0;
  };
  StageTotals take_totals() { return std::exchange(totals_, StageTotals{}); }
  [[nodiscard]] std::uint64_t anomalies() const { return counters_.anomalies(); }

 private:
  static constexpr std::uint64_t kFirstTimestamp = 1'000'000'000;
  static daq::FrameBuilderConfig builder_config(core::KernelSet set) {
    daq::FrameBuilderConfig config;
    config.kernels = set;
    return config;
  }
  static daq::wibeth::MutableFrameView view(std::span<std::byte> datagrams, std::size_t stream) {
    return daq::wibeth::MutableFrameView(datagrams.data() + stream * daq::wibeth::kFrameBytes, daq::wibeth::kFrameBytes);
  }
  void decide(const daq::Frame& frame) {
    const auto t0 = Clock::now();
    pre_.process(preprocess::FrameAdc(frame.adc.data(), daq::Frame::kPixels), {image_, {}, {}});
    const auto t1 = Clock::now();
    const std::int64_t raw = twin_.raw_logit(image_);
    const auto t2 = Clock::now();
    totals_.selected += std::ldexp(static_cast<double>(raw), -fraction_) > threshold_ ? 1 : 0;
    const auto t3 = Clock::now();
    totals_.preprocess += us_between(t0, t1), totals_.twin += us_between(t1, t2), totals_.select += us_between(t2, t3);
    ++totals_.frames;
  }

  core::KernelSet set_;
  daq::FramePool pool_{8};
  daq::ReceiveCounters counters_;
  preprocess::Preprocessor pre_;
  fpga::Twin twin_;
  std::vector<std::uint8_t> image_;
  double threshold_;
  int fraction_;
  StageTotals totals_;
  std::uint64_t next_period_ = 0;
  daq::FrameBuilder builder_;  // last: its sink uses the members above
};

/// A kernel set's figures over its rounds.
struct SetFigures {
  std::vector<double> frame_us, round_means;
  Chain::StageTotals totals;
};

nlohmann::ordered_json summary(const Chain& chain, const SetFigures& f) {
  const double frames = static_cast<double>(std::max<std::uint64_t>(1, f.totals.frames));
  double sum = 0;
  for (const double us : f.frame_us) sum += us;
  const double mean = sum / static_cast<double>(std::max<std::size_t>(1, f.frame_us.size()));
  const double stages = (f.totals.preprocess + f.totals.twin + f.totals.select) / frames;
  nlohmann::ordered_json j;
  j["kernels"] = chain.kernels();
  j["us_per_face_frame"] = {{"mean", mean}, {"median", quantile(f.frame_us, 0.5)}, {"p99", quantile(f.frame_us, 0.99)},
                            {"round_means", f.round_means}, {"frames", f.frame_us.size()}};
  j["stage_mean_us"] = {{"validate_and_build", mean - stages},
                        {"preprocess", f.totals.preprocess / frames},
                        {"twin", f.totals.twin / frames},
                        {"select", f.totals.select / frames}};
  j["faces_one_core_keeps_up_with"] = kFramePeriodUs / mean;
  j["goal_us"] = kGoalUs;
  j["stretch_goal_us"] = kStretchGoalUs;
  j["meets_goal"] = mean <= kGoalUs;
  j["meets_stretch_goal"] = mean <= kStretchGoalUs;
  j["selected_fraction"] = static_cast<double>(f.totals.selected) / frames;
  j["anomalies"] = chain.anomalies();
  return j;
}

}  // namespace

nlohmann::ordered_json run_chain_bench(const ChainBenchOptions& o) {
  const std::string model_path = core::find_data_file(o.model_path).string();
  models::ModelFile file = models::load_model(model_path);
  const double threshold = pipeline::selection_threshold(pipeline::SelectionConfig{}, file, model_path);
  const daq::ChannelMap map = daq::ChannelMap::emulated(1);
  const std::uint32_t face = map.faces().front();
  const unsigned periods = std::max(1u, o.periods);
  std::vector<std::byte> datagrams = simulate_datagrams(map, face, periods);
  const std::size_t period_bytes = daq::kStreamsPerFace * daq::wibeth::kFrameBytes;
  std::vector<std::unique_ptr<Chain>> chains;
  for (const core::KernelSet set : kernel_sets_to_time(o.kernel_sets, "bench chain")) chains.push_back(std::make_unique<Chain>(set, map, face, file, threshold));
  std::vector<SetFigures> figures(chains.size());
  for (unsigned round = 0; round < std::max(1u, o.rounds); ++round) {
    for (std::size_t c = 0; c < chains.size(); ++c) {  // the kernel sets in turn: the machine's drift hits them all
      Chain& chain = *chains[c];
      chain.take_totals();
      double sum = 0;
      for (unsigned f = 0; f < o.frames; ++f) {
        const double us = chain.run_period(std::span(datagrams).subspan((f % periods) * period_bytes, period_bytes));
        figures[c].frame_us.push_back(us);
        sum += us;
      }
      figures[c].round_means.push_back(sum / std::max(1u, o.frames));
      const Chain::StageTotals t = chain.take_totals();
      figures[c].totals.preprocess += t.preprocess, figures[c].totals.twin += t.twin, figures[c].totals.select += t.select;
      figures[c].totals.frames += t.frames, figures[c].totals.selected += t.selected;
    }
  }
  nlohmann::ordered_json j;
  j["what"] = "one face's WIBEth datagrams from memory through validation, frame building (WIBEth unpack), preprocess, twin and "
              "selection, all on one thread; us of that thread per face-frame (a face delivers one every 32.768 us)";
  j["model"] = model_path;
  j["periods_in_memory"] = fmt::format("{} simulated periods (1 in 4 with a nu_e CC interaction), 20 datagrams each, cycled", periods);
  j["selection_threshold_logit"] = threshold;
  for (std::size_t c = 0; c < chains.size(); ++c) j["kernel_sets"][std::string(core::name(chains[c]->set()))] = summary(*chains[c], figures[c]);
  return j;
}

}  // namespace larsel::bench
