#include "pipeline_metrics.hpp"

#include <cmath>

namespace larsel::pipeline {
namespace {

using nlohmann::ordered_json;
constexpr double kNsToUs = 1e-3;

double rounded(double v, double digits = 1e3) { return std::round(v * digits) / digits; }

ordered_json queue_json(const monitoring::OccupancyHistogram& q) {
  const auto s = q.snapshot();
  return {{"capacity", q.capacity()},
          {"current", q.current()},
          {"max", q.maximum()},
          {"mean", rounded(s.mean())},
          {"histogram", monitoring::bins_json(s, 1.0)}};
}

ordered_json stage_times_json(const PipelineMetrics& m) {
  ordered_json t;
  t["preprocess"] = monitoring::summary_json(m.preprocess_ns.snapshot(), kNsToUs);
  for (std::size_t w = 0; w < m.inference_ns.size(); ++w) {
    t["inference_" + std::to_string(w)] = monitoring::summary_json(m.inference_ns[w].snapshot(), kNsToUs);
  }
  t["select_and_publish"] = monitoring::summary_json(m.selection.select_and_publish_ns.snapshot(), kNsToUs);
  return t;
}

ordered_json drops_json(const PipelineMetrics& m) {
  return {{"source_no_free_slot", m.source.dropped_no_free_slot.get()},
          {"source_queue_full", m.source.dropped_queue_full.get()},
          {"push_hwm", m.output.push_dropped_hwm.get()},
          {"recorder_queue_full", m.output.recorder_dropped_queue_full.get()},
          {"recorder_write_failed", m.output.recorder_write_failed.get()}};
}

ordered_json interval_json(const PipelineMetrics& m, MetricsBaseline& b) {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - b.time).count();
  const auto per_second = [seconds](std::uint64_t now_count, std::uint64_t then) {
    return seconds > 0 ? rounded(static_cast<double>(now_count - then) / seconds, 10) : 0.0;
  };
  const std::uint64_t accepted = m.source.frames_accepted.get(), decided = m.selection.frames_decided.get();
  const std::uint64_t selected = m.selection.frames_selected.get();
  const auto arrival = m.selection.arrival_to_decision_ns.snapshot();
  const auto timestamp = m.selection.timestamp_to_decision_ns.snapshot();
  ordered_json j{{"seconds", rounded(seconds)},
                 {"rate_accepted_hz", per_second(accepted, b.accepted)},
                 {"rate_decided_hz", per_second(decided, b.decided)},
                 {"rate_selected_hz", per_second(selected, b.selected)},
                 {"latency_us", {{"arrival_to_decision", monitoring::summary_json(arrival.since(b.arrival_to_decision), kNsToUs)},
                                 {"timestamp_to_decision", monitoring::summary_json(timestamp.since(b.timestamp_to_decision), kNsToUs)}}}};
  b = {now, accepted, decided, selected, arrival, timestamp};
  return j;
}

}  // namespace

ordered_json truth_json(const SelectionMetrics& s) {
  const std::uint64_t signal = s.truth_signal_frames.get(), background = s.truth_background_frames.get();
  if (signal + background == 0) return nullptr;
  const auto ratio = [](std::uint64_t k, std::uint64_t n) { return n == 0 ? 0.0 : static_cast<double>(k) / static_cast<double>(n); };
  return {{"signal_frames", signal},
          {"signal_selected", s.truth_signal_selected.get()},
          {"efficiency", ratio(s.truth_signal_selected.get(), signal)},
          {"background_frames", background},
          {"background_selected", s.truth_background_selected.get()},
          {"fake_rate", ratio(s.truth_background_selected.get(), background)}};
}

ordered_json metrics_json(const PipelineMetrics& m, double uptime_s, MetricsBaseline* interval) {
  ordered_json j;
  j["uptime_s"] = rounded(uptime_s);
  j["frames"] = {{"offered", m.source.frames_offered.get()},
                 {"accepted", m.source.frames_accepted.get()},
                 {"preprocessed", m.frames_preprocessed.get()},
                 {"decided", m.selection.frames_decided.get()},
                 {"selected", m.selection.frames_selected.get()},
                 {"prescaled", m.selection.frames_prescaled.get()}};
  nlohmann::json per_worker = nlohmann::json::array();
  for (const auto& c : m.frames_inferred) per_worker.push_back(c.get());
  j["frames"]["inferred_per_worker"] = per_worker;
  if (interval != nullptr) j["interval"] = interval_json(m, *interval);
  j["drops"] = drops_json(m);
  ordered_json queues;
  for (const FrameQueue* q : m.queues) queues[q->name()] = queue_json(q->occupancy());
  if (m.recorder_queue != nullptr) queues["recorder_in"] = queue_json(*m.recorder_queue);
  j["queues"] = queues;
  j["stage_time_us"] = stage_times_json(m);
  j["latency_us"] = {{"arrival_to_decision", monitoring::summary_json(m.selection.arrival_to_decision_ns.snapshot(), kNsToUs)},
                     {"timestamp_to_decision", monitoring::summary_json(m.selection.timestamp_to_decision_ns.snapshot(), kNsToUs)}};
  j["outputs"] = {{"selected_published", m.output.selected_published.get()},
                  {"decision_messages", m.output.decision_messages.get()},
                  {"metrics_messages", m.output.metrics_messages.get()},
                  {"push_sent", m.output.push_sent.get()},
                  {"subscriptions", m.output.subscriptions.load(std::memory_order_relaxed)},
                  {"recorder_queued", m.output.recorder_queued.get()},
                  {"recorder_frames_written", m.output.recorder_frames_written.get()},
                  {"recorder_write_failed", m.output.recorder_write_failed.get()}};
  j["truth"] = truth_json(m.selection);
  return j;
}

}  // namespace larsel::pipeline
