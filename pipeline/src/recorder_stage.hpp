#pragma once
// In-process HDF5 recording (output.hdf5): the selector hands selected frames
// to a dedicated writer thread through a bounded SPSC queue of frame copies,
// so disk latency never stalls the decisions. A full queue drops the frame from
// the recording only (recorder_dropped_queue_full); it was still published.
// A write error (disk full, I/O error) is logged once with the file and the
// reason; from then on selected frames are counted in recorder_write_failed and
// not written, and with hdf5.on_write_error: fail_run the run is asked to stop.
// Files closed before the error stay valid; the file open at the error is kept
// as *.writing with its frames up to the last flush (`larsel recover`).
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "thread_support.hpp"

#include <boost/lockfree/spsc_queue.hpp>

#include "larsel/pipeline/config.hpp"
#include "larsel/pipeline/selected_frame_writer.hpp"
#include "pipeline_metrics.hpp"

namespace larsel::pipeline {

/// What the recorder reports at the end of a run.
struct RecorderReport {
  std::vector<std::filesystem::path> files;             // closed, complete
  std::vector<std::filesystem::path> incomplete_files;  // given up after a write error (*.writing)
  std::string error;                                    // the first write error ("" if none)
};

class RecorderStage {
 public:
  /// Opens nothing yet (the writer creates its first file on the first frame).
  RecorderStage(const Hdf5OutputConfig& config, const wire::RunInfo& run, std::size_t queue_frames, OutputMetrics& metrics);
  ~RecorderStage();  // finish()
  RecorderStage(const RecorderStage&) = delete;
  RecorderStage& operator=(const RecorderStage&) = delete;

  /// Before start(): the run's attributes (its start time is known only when it starts).
  void set_run_info(const wire::RunInfo& run) { writer_.set_run_info(run); }
  void start();
  /// Selector thread: queue a copy of the frame (false, counted, when the queue is full).
  bool offer(const wire::FrameHeader& header, std::span<const std::uint16_t> adc) noexcept;
  /// Writes everything queued and closes the file (errors are reported, not thrown).
  RecorderReport finish();
  /// True once a write error occurred and the configuration says the run must then stop.
  [[nodiscard]] bool run_must_stop() const noexcept { return failed_.load(std::memory_order_acquire) && fail_run_; }
  [[nodiscard]] const monitoring::OccupancyHistogram& occupancy() const noexcept { return occupancy_; }

 private:
  struct Item {
    wire::FrameHeader header;
    std::array<std::uint16_t, wire::kWires * wire::kTicks> adc;
  };
  void run() noexcept;
  void record(const Item& item);
  /// Runs a writer call; a failure stops the recording (once, logged) instead of escaping.
  template <typename Call>
  void attempt(Call&& call);
  void sync_counters();

  SelectedFrameWriter writer_;
  bool fail_run_;
  std::unique_ptr<boost::lockfree::spsc_queue<Item>> queue_;
  monitoring::OccupancyHistogram occupancy_;
  OutputMetrics& metrics_;
  std::atomic<bool> done_{false};
  std::atomic<bool> failed_{false};  // a write error stopped the recording
  std::string error_;                // the first one (writer thread; read after join)
  std::uint64_t written_seen_ = 0, lost_seen_ = 0;  // the writer's stats already in the metrics
  Waker pushed_;  // moves on every offer() and at finish(): the writer thread sleeps on it
  std::thread thread_;
  std::unique_ptr<Item> staging_;  // the item being filled before push (no large stack frames)
};

}  // namespace larsel::pipeline
