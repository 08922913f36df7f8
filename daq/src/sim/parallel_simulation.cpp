#include "larsel/daq/sim/parallel_simulation.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "larsel/daq/sim/frame_simulator.hpp"

namespace larsel::daq::sim {
namespace {

using Block = FrameBlock;

/// Blocks finished by the workers, waiting to be consumed in order.
class OrderedBlocks {
 public:
  explicit OrderedBlocks(std::uint64_t max_ahead) : max_ahead_(max_ahead) {}
  /// Worker: wait until block `index` may be produced without running too far ahead.
  bool wait_turn(std::uint64_t index) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return failed_ || index < consumed_ + max_ahead_; });
    return !failed_;
  }
  void put(std::uint64_t index, Block block) {
    std::lock_guard lock(mutex_);
    ready_.emplace(index, std::move(block));
    changed_.notify_all();
  }
  Block take(std::uint64_t index) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return failed_ || ready_.contains(index); });
    if (failed_) std::rethrow_exception(error_);
    Block block = std::move(ready_.at(index));
    ready_.erase(index);
    ++consumed_;
    changed_.notify_all();
    return block;
  }
  void fail(std::exception_ptr error) {
    std::lock_guard lock(mutex_);
    if (!failed_) error_ = error;
    failed_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, Block> ready_;
  std::uint64_t consumed_ = 0, max_ahead_;
  bool failed_ = false;
  std::exception_ptr error_;
};

}  // namespace

namespace {

using BlockMaker = std::function<void(FrameSimulator&, Block&)>;

ParallelSimulationStats run_blocks(const SimConfig& config, std::uint64_t seed, std::uint64_t total, unsigned threads,
                                   std::size_t block_frames, const BlockMaker& make, const BlockEncoder& encode,
                                   const BlockConsumer& consume) {
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t kBlockFrames = std::max<std::size_t>(block_frames, 1);
  const std::uint64_t blocks = (total + kBlockFrames - 1) / kBlockFrames;
  threads = std::max(1u, threads);
  auto bank = std::make_shared<const NoiseBank>(seed);
  OrderedBlocks ordered(2 * threads);
  std::atomic<std::uint64_t> next_block{0};
  auto work = [&] {
    try {
      FrameSimulator simulator(config, seed, bank);
      for (std::uint64_t b = next_block++; b < blocks; b = next_block++) {
        if (!ordered.wait_turn(b)) return;
        const std::uint64_t first = b * kBlockFrames, count = std::min(kBlockFrames, total - first);
        Block block{first, std::vector<std::uint16_t>(count * Frame::kPixels), std::vector<FrameTruth>(count), {}, {}};
        make(simulator, block);
        if (encode) encode(block);
        ordered.put(b, std::move(block));
      }
    } catch (...) {
      ordered.fail(std::current_exception());
    }
  };
  std::vector<std::jthread> workers;
  for (unsigned t = 0; t < threads; ++t) workers.emplace_back(work);
  try {
    for (std::uint64_t b = 0; b < blocks; ++b) consume(ordered.take(b));
  } catch (...) {
    ordered.fail(std::current_exception());
    throw;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {seconds, seconds > 0 ? static_cast<double>(total) / seconds : 0.0};
}

}  // namespace

ParallelSimulationStats simulate_frames(const SimConfig& config, std::uint64_t seed, std::uint64_t signal,
                                        std::uint64_t background, unsigned threads, std::size_t block_frames,
                                        const BlockEncoder& encode, const BlockConsumer& consume) {
  const auto make = [signal](FrameSimulator& simulator, Block& block) {
    for (std::uint64_t i = 0; i < block.truth.size(); ++i) {
      const std::uint64_t index = block.first + i;
      simulator.simulate(index, index < signal ? FrameLabel::signal : FrameLabel::background,
                         std::span<std::uint16_t, Frame::kPixels>(block.pixels.data() + i * Frame::kPixels, Frame::kPixels),
                         block.truth[i]);
    }
  };
  return run_blocks(config, seed, signal + background, threads, block_frames, make, encode, consume);
}

ParallelSimulationStats simulate_stream(const SimConfig& config, std::uint64_t seed, const StreamPlan& plan, unsigned threads,
                                        std::size_t block_frames, const BlockEncoder& encode, const BlockConsumer& consume) {
  const auto make = [&plan](FrameSimulator& simulator, Block& block) {
    simulator.simulate_stream(plan, block.first, block.truth.size(), block.pixels, block.truth, block.events);
  };
  return run_blocks(config, seed, plan.frames, threads, block_frames, make, encode, consume);
}

}  // namespace larsel::daq::sim
