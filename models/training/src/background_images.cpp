// Background frames simulated on the fly for the low-acceptance working
// points (1e-5 needs of order 10^6 frames: 30 GB as raw frames, 2 MB/s of
// images): one continuous background-only stream, preprocessed in blocks so the
// result does not depend on the thread count.
#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "frame_pipeline.hpp"
#include "image_cache.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/daq/sim/noise.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "larsel/models/image_preparation.hpp"

namespace larsel::models {
namespace {

using daq::Frame;

/// Frames per block: each block runs on a fresh pipeline warmed up on its own extra frames.
constexpr std::size_t kBlockFrames = 4096;

struct BackgroundJob {
  const daq::sim::SimConfig& sim;
  std::uint64_t seed;
  std::size_t count;
  const preprocess::PreprocessConfig& config;
  std::size_t warmup_frames;
  std::shared_ptr<const daq::sim::NoiseBank> bank;
};

/// Frames simulated per simulate_stream call (its reach overhead is 2 x kReachFrames per call).
constexpr std::size_t kStreamStep = 128;

void run_block(const BackgroundJob& job, std::size_t block, ImageSet& set) {
  daq::sim::FrameSimulator simulator(job.sim, job.seed, job.bank);
  detail::FramePipeline pipeline(job.config);
  std::vector<std::uint16_t> adc(kStreamStep * Frame::kPixels);
  std::vector<daq::sim::FrameTruth> truth(kStreamStep);
  std::vector<daq::sim::EventTruth> no_events;
  const std::size_t blocks = (job.count + kBlockFrames - 1) / kBlockFrames;
  // One background-only stream: the set's frames first, then each block's warm-up frames, so no frame is used twice.
  const daq::sim::StreamPlan plan{job.count + blocks * job.warmup_frames, 0};
  const auto run = [&](std::size_t first, std::size_t count, auto&& use) {
    for (std::size_t at = first; at < first + count; at += kStreamStep) {
      const std::size_t n = std::min(kStreamStep, first + count - at);
      simulator.simulate_stream(plan, at, n, std::span(adc.data(), n * Frame::kPixels), std::span(truth.data(), n), no_events);
      for (std::size_t k = 0; k < n; ++k) use(at + k, std::span<const std::uint16_t, Frame::kPixels>(adc.data() + k * Frame::kPixels, Frame::kPixels), truth[k]);
    }
  };
  run(job.count + block * job.warmup_frames, job.warmup_frames, [&](std::size_t, auto frame, const auto&) { pipeline.warm_up(frame); });
  const std::size_t first = block * kBlockFrames, last = std::min(job.count, first + kBlockFrames);
  run(first, last - first, [&](std::size_t i, auto frame, const daq::sim::FrameTruth& t) {
    pipeline.process(frame, set, i);
    detail::record_truth(set, i, t);
  });
}

ImageSet simulate_blocks(const BackgroundJob& job, unsigned threads, const ProgressCallback& progress) {
  ImageSet set;
  set.shape = {1, static_cast<int>(job.config.output_rows()), static_cast<int>(job.config.output_columns())};
  set.baseline_configs = detail::FramePipeline::baseline_count();
  set.resize(job.count);
  const std::size_t blocks = (job.count + kBlockFrames - 1) / kBlockFrames;
  std::atomic<std::size_t> next_block{0}, blocks_done{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&](bool reports) {  // only the calling thread reports progress
    for (std::size_t b; (b = next_block.fetch_add(1)) < blocks;) {
      try {
        run_block(job, b, set);
      } catch (...) {
        const std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next_block = blocks;
      }
      const std::size_t done = blocks_done.fetch_add(1) + 1;
      if (progress && reports) progress(std::min(job.count, done * kBlockFrames), job.count);
    }
  };
  std::vector<std::jthread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker, false);
  worker(true);
  pool.clear();
  if (failure) std::rethrow_exception(failure);
  return set;
}

}  // namespace

ImageSet simulate_background_images(const std::string& sim_config_yaml, std::uint64_t seed, std::size_t count,
                                    const preprocess::PreprocessConfig& config, unsigned threads,
                                    const PrepareOptions& options) {
  const std::string key = fmt::format("simulated background stream: seed {} frames {} warmup {} block {}\n{}\n{}", seed, count,
                                      options.warmup_frames, kBlockFrames, sim_config_yaml, detail::FramePipeline::describe(config));
  const detail::ImageCache cache(options.cache_dir, fmt::format("background-seed{}-n{}", seed, count), key);
  if (auto cached = cache.load()) return std::move(*cached);
  const daq::sim::SimConfig sim = daq::sim::parse_sim_config(sim_config_yaml, "simulation config");
  const BackgroundJob job{sim, seed, count, config, options.warmup_frames, std::make_shared<const daq::sim::NoiseBank>(seed)};
  ImageSet set = simulate_blocks(job, std::max(1u, threads), options.progress);
  try {
    cache.store(set, fmt::format("simulated background, seed {}", seed), preprocess::to_yaml(config));
  } catch (const std::runtime_error& e) {
    if (options.warn) options.warn(e.what());
  }
  return set;
}

}  // namespace larsel::models
