#pragma once
// The selector thread: collects inferred frames in their original order,
// decides (score threshold, optional prescale of rejected frames), publishes
// decisions and selected frames, hands selected frames to the recorder, frees
// the slots, and every metrics interval publishes and logs the metrics.
#include <atomic>
#include <cstdint>

#include "frame_source.hpp"
#include "publisher.hpp"
#include "recorder_stage.hpp"
#include "stages.hpp"

namespace larsel::pipeline {

struct SelectionSettings {
  double threshold = 0;         // logit
  std::uint32_t prescale = 0;   // keep 1 in N rejected frames
  double metrics_interval_s = 1;
  bool log_metrics = true;
  wire::RunInfo run_info;
};

class Selector {
 public:
  Selector(SelectionSettings settings, SlotPool& slots, WorkerQueues& workers, FrameQueue& free_slots, Publisher& publisher,
           RecorderStage* recorder, PipelineMetrics& metrics, const FrameSource& source);

  /// Runs until every worker is done and drained; then flushes the decisions.
  void run();
  /// The metrics message body (selector thread, or after run()).
  [[nodiscard]] nlohmann::ordered_json metrics_now(bool with_interval);

 private:
  void handle(std::uint32_t slot_index);
  [[nodiscard]] wire::Decision decide(const FrameSlot& slot) noexcept;
  void count_truth(const FrameSlot& slot, bool kept) noexcept;
  void publish_kept(const FrameSlot& slot, wire::Decision decision, double arrival_to_decision_us);
  void periodic(SteadyClock::time_point now);
  void log_status(const nlohmann::ordered_json& m) const;
  void warn_of_losses(const nlohmann::ordered_json& m);

  SelectionSettings settings_;
  SlotPool& slots_;
  WorkerQueues& workers_;
  FrameQueue& free_slots_;
  Publisher& publisher_;
  RecorderStage* recorder_;
  PipelineMetrics& metrics_;
  const FrameSource& source_;
  DataClock clock_;
  bool clock_known_ = false;
  std::uint64_t rejected_ = 0;
  std::uint64_t lost_reported_ = 0;  // frames lost that a warning has named
  SteadyClock::time_point start_, next_metrics_;
  MetricsBaseline baseline_;
};

}  // namespace larsel::pipeline
