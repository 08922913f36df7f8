#pragma once
// In-process HDF5 recording (output.hdf5): the selector hands selected frames
// to a dedicated writer thread through a bounded SPSC queue of frame copies,
// so disk latency never stalls the decisions. A full queue drops the frame from
// the recording only (recorder_dropped_queue_full); it was still published.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>

#include "thread_support.hpp"

#include <boost/lockfree/spsc_queue.hpp>

#include "larsel/pipeline/selected_frame_writer.hpp"
#include "pipeline_metrics.hpp"

namespace larsel::pipeline {

class RecorderStage {
 public:
  /// Opens nothing yet (the writer creates its first file on the first frame).
  RecorderStage(const RecordingConfig& config, const wire::RunInfo& run, std::size_t queue_frames, OutputMetrics& metrics);
  ~RecorderStage();  // finish()
  RecorderStage(const RecorderStage&) = delete;
  RecorderStage& operator=(const RecorderStage&) = delete;

  /// Before start(): the run's attributes (its start time is known only when it starts).
  void set_run_info(const wire::RunInfo& run) { writer_.set_run_info(run); }
  void start();
  /// Selector thread: queue a copy of the frame (false, counted, when the queue is full).
  bool offer(const wire::FrameHeader& header, std::span<const std::uint16_t> adc) noexcept;
  /// Writes everything queued, closes the file; returns the files written. Rethrows a writer error.
  std::vector<std::filesystem::path> finish();
  [[nodiscard]] const monitoring::OccupancyHistogram& occupancy() const noexcept { return occupancy_; }

 private:
  struct Item {
    wire::FrameHeader header;
    std::array<std::uint16_t, wire::kWires * wire::kTicks> adc;
  };
  void run() noexcept;

  SelectedFrameWriter writer_;
  std::unique_ptr<boost::lockfree::spsc_queue<Item>> queue_;
  monitoring::OccupancyHistogram occupancy_;
  OutputMetrics& metrics_;
  std::atomic<bool> done_{false};
  Waker pushed_;  // moves on every offer() and at finish(): the writer thread sleeps on it
  std::exception_ptr error_;
  std::thread thread_;
  std::unique_ptr<Item> staging_;  // the item being filled before push (no large stack frames)
};

}  // namespace larsel::pipeline
