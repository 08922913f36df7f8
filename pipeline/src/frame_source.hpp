#pragma once
// Where frames enter the pipeline. A source runs on its own thread and never
// blocks on the pipeline (except the emulator's max_rate mode, a benchmark):
// a frame that finds no free slot, or the preprocess queue full, is dropped and
// counted. Sources: the in-process emulator (whole frames from a simulated pool)
// and the UDP receiver (WIBEth datagrams -> frame builder), optionally fed by
// the UDP emulator on another thread of this process.
#include <atomic>
#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>

#include "frame_queue.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "frame_slot.hpp"
#include "larsel/pipeline/config.hpp"
#include "pipeline_metrics.hpp"

namespace larsel::pipeline {

/// The data clock that frame timestamps follow: 62.5 MHz ticks advancing at `speed` x real time
/// from (origin_ticks at origin_unix_ns). "Now" on that clock minus a frame's timestamp is its latency
/// (DUNE-DAQ trigger Latency.hpp; with a slowed emulator the same slowed clock must be used).
struct DataClock {
  std::uint64_t origin_ticks = 0;
  std::int64_t origin_unix_ns = 0;
  double speed = 1.0;
  [[nodiscard]] std::int64_t ticks_at(std::int64_t unix_ns) const noexcept {
    return static_cast<std::int64_t>(origin_ticks) + static_cast<std::int64_t>(static_cast<double>(unix_ns - origin_unix_ns) * 0.0625 * speed);
  }
};

std::int64_t unix_now_ns() noexcept;

/// What a source hands frames to.
struct SourceOutput {
  SlotPool& slots;
  FrameQueue& free_slots;  // consumer: the source
  FrameQueue& out;         // producer: the source
  SourceMetrics& metrics;
  bool wait_when_full = false;  // max_rate: wait for the pipeline instead of dropping
};

/// Takes a free slot, lets `fill` set it up and queues it; drops and counts when it cannot
/// (keeping a slot it could not queue for the next frame). Source thread only.
class SlotFeeder {
 public:
  explicit SlotFeeder(SourceOutput output) : o_(output) {}
  template <typename Fill>
  bool offer(Fill&& fill, const std::atomic<bool>& stop) {
    o_.metrics.frames_offered.add();
    if (!spare_ && !take_free_slot(stop)) {
      o_.metrics.dropped_no_free_slot.add();
      return false;
    }
    FrameSlot& slot = o_.slots[spare_index_];
    fill(slot);
    if (!queue(stop)) {
      slot.owned.reset();
      o_.metrics.dropped_queue_full.add();
      return false;
    }
    spare_ = false;
    o_.metrics.frames_accepted.add();
    return true;
  }

 private:
  bool take_free_slot(const std::atomic<bool>& stop);
  bool queue(const std::atomic<bool>& stop);
  SourceOutput o_;
  bool spare_ = false;
  std::uint32_t spare_index_ = 0;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  /// Produce until `stop`, the configured duration or frame count; returns when done.
  virtual void run(const std::atomic<bool>& stop, SourceOutput output) = 0;
  /// The clock of the frames' timestamps (valid once run() has started).
  [[nodiscard]] virtual DataClock data_clock() const = 0;
  /// Source-specific counters for the summary (receiver counters, emulator statistics).
  [[nodiscard]] virtual nlohmann::ordered_json report() const = 0;
  /// Frames lost on the way in so far, before any slot (the UDP receiver's incomplete and empty periods); any
  /// thread may ask while the source runs.
  [[nodiscard]] virtual std::uint64_t frames_lost_on_input() const { return 0; }
};

struct RunLimits {
  double seconds = 0;        // 0 = none
  std::uint64_t frames = 0;  // frame periods per face, 0 = none
};

/// The in-process emulator: preloads `pool_frames` background and `signal_pool_frames` signal
/// frames per face from the LArTPC simulation, then paces them out with fresh timestamps.
std::unique_ptr<FrameSource> make_emulated_source(const InputConfig& config, RunLimits limits);
/// The WIBEth UDP receiver and frame builder (and the UDP emulator when `config.udp_emulate`).
std::unique_ptr<FrameSource> make_udp_source(const InputConfig& config, RunLimits limits, std::size_t pipeline_slots);

}  // namespace larsel::pipeline
