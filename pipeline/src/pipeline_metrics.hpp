#pragma once
// Everything `larsel run` counts and times, one writer per field (the stage
// that owns it), read live by the selector thread for the metrics message and
// at the end for the summary. Counter names say what they count.
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "frame_queue.hpp"
#include "larsel/monitoring/counter.hpp"
#include "larsel/monitoring/histogram.hpp"

namespace larsel::pipeline {

using monitoring::Counter;
using SteadyClock = std::chrono::steady_clock;
using monitoring::LatencyHistogram;

struct SourceMetrics {
  Counter frames_offered;        // images the source produced (emulator) or built (udp)
  Counter frames_accepted;       // ... that entered the pipeline
  Counter dropped_no_free_slot;  // every slot in use downstream
  Counter dropped_queue_full;    // the preprocess queue was full
};

struct SelectionMetrics {
  Counter frames_decided, frames_selected, frames_prescaled;
  Counter truth_signal_frames, truth_signal_selected;  // emulated data only
  Counter truth_background_frames, truth_background_selected;
  LatencyHistogram arrival_to_decision_ns;    // image handed to the pipeline -> decision (steady clock)
  LatencyHistogram timestamp_to_decision_ns;  // data clock now minus the frame's timestamp (16 ns ticks)
  LatencyHistogram select_and_publish_ns;     // the selector's time per frame
};

struct OutputMetrics {
  Counter selected_published;     // frame.selected messages on the XPUB socket
  Counter decision_messages;      // frame.decision batches
  Counter metrics_messages;
  Counter push_sent, push_dropped_hwm;  // PUSH: a full peer queue drops the frame for PUSH (counted)
  Counter recorder_queued, recorder_dropped_queue_full;
  Counter recorder_frames_written;  // selected frames written to a file
  Counter recorder_write_failed;    // selected frames the recorder could not write (disk full, I/O error)
  std::atomic<std::uint64_t> subscriptions{0};  // current XPUB subscriptions (all topics)
};

struct PipelineMetrics {
  explicit PipelineMetrics(unsigned workers) : inference_ns(workers), frames_inferred(workers) {}
  SourceMetrics source;
  Counter frames_preprocessed;
  LatencyHistogram preprocess_ns;
  std::vector<LatencyHistogram> inference_ns;  // per worker
  std::vector<Counter> frames_inferred;        // per worker
  SelectionMetrics selection;
  OutputMetrics output;
  std::vector<const FrameQueue*> queues;       // in data-flow order
  const monitoring::OccupancyHistogram* recorder_queue = nullptr;  // selected frames waiting for the HDF5 writer
};

/// Snapshots kept between two metrics messages, to report the interval's rates and latencies.
struct MetricsBaseline {
  std::chrono::steady_clock::time_point time;
  std::uint64_t accepted = 0, decided = 0, selected = 0;
  monitoring::HistogramSnapshot arrival_to_decision, timestamp_to_decision;
};

/// The metrics message body (also the core of the final summary). `interval` may be null (cumulative only).
nlohmann::ordered_json metrics_json(const PipelineMetrics& m, double uptime_s, MetricsBaseline* interval);
/// Efficiency and fake rate against the emulator's truth (null when no truth).
nlohmann::ordered_json truth_json(const SelectionMetrics& s);

}  // namespace larsel::pipeline
