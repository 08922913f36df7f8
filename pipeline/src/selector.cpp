#include "selector.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

namespace larsel::pipeline {
namespace {

constexpr std::int64_t kNsPerTick = 16;  // 62.5 MHz DAQ clock

}  // namespace

Selector::Selector(SelectionSettings settings, SlotPool& slots, WorkerQueues& workers, FrameQueue& free_slots, Publisher& publisher,
                   RecorderStage* recorder, PipelineMetrics& metrics, const FrameSource& source)
    : settings_(std::move(settings)), slots_(slots), workers_(workers), free_slots_(free_slots), publisher_(publisher),
      recorder_(recorder), metrics_(metrics), source_(source) {}

void Selector::run() {
  prepare_pipeline_thread("larsel-select");
  start_ = SteadyClock::now();
  next_metrics_ = start_ + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(settings_.metrics_interval_s));
  baseline_.time = start_;
  publisher_.publish_run_info(settings_.run_info);
  std::size_t next = 0;
  const std::size_t workers = workers_.out.size();
  std::uint32_t slot = 0;
  for (;;) {
    const std::uint32_t seen = workers_.out[next]->pushes().epoch();
    if (workers_.out[next]->pop(slot)) {
      handle(slot);
      next = (next + 1) % workers;
      continue;
    }
    // Frames were dealt in rotation: once the worker owing the next frame is done and
    // drained, no later frame exists.
    if (workers_.done[next].load(std::memory_order_acquire)) {
      if (workers_.out[next]->pop(slot)) {
        handle(slot);
        next = (next + 1) % workers;
        continue;
      }
      break;
    }
    const auto now = SteadyClock::now();
    periodic(now);
    // Until the worker owing the next frame pushes it, or the next metrics are due.
    const auto until_metrics = std::chrono::duration_cast<std::chrono::microseconds>(next_metrics_ - now);
    workers_.out[next]->pushes().wait(seen, std::clamp(until_metrics, std::chrono::microseconds(1), kWaitTimeout));
  }
  publisher_.flush_decisions(SteadyClock::now(), true);
}

wire::Decision Selector::decide(const FrameSlot& slot) noexcept {
  if (slot.logit >= settings_.threshold) return wire::Decision::selected;
  ++rejected_;
  if (settings_.prescale > 0 && rejected_ % settings_.prescale == 0) return wire::Decision::prescaled;
  return wire::Decision::rejected;
}

void Selector::count_truth(const FrameSlot& slot, bool selected) noexcept {
  if ((slot.flags & wire::flag::truth_known) == 0) return;
  SelectionMetrics& s = metrics_.selection;
  if ((slot.flags & wire::flag::truth_signal) != 0) {
    s.truth_signal_frames.add();
    if (selected) s.truth_signal_selected.add();
  } else {
    s.truth_background_frames.add();
    if (selected) s.truth_background_selected.add();
  }
}

void Selector::handle(std::uint32_t slot_index) {
  const auto start = SteadyClock::now();
  FrameSlot& slot = slots_[slot_index];
  if (!clock_known_) {
    clock_ = source_.data_clock();  // set by the source before its first frame (ordered by the queues)
    clock_known_ = true;
  }
  const wire::Decision decision = decide(slot);
  const bool selected = decision == wire::Decision::selected;
  SelectionMetrics& s = metrics_.selection;
  s.frames_decided.add();
  if (selected) s.frames_selected.add();
  if (decision == wire::Decision::prescaled) s.frames_prescaled.add();
  count_truth(slot, selected);
  const auto arrival_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(start - slot.arrival).count();
  s.arrival_to_decision_ns.record(static_cast<std::uint64_t>(std::max<std::int64_t>(arrival_ns, 0)));
  const std::int64_t age_ticks = clock_.ticks_at(unix_now_ns()) - static_cast<std::int64_t>(slot.timestamp);
  s.timestamp_to_decision_ns.record(static_cast<std::uint64_t>(std::max<std::int64_t>(age_ticks, 0) * kNsPerTick));
  const double arrival_us = static_cast<double>(arrival_ns) * 1e-3;
  wire::DecisionRecord record{slot.timestamp, slot.sequence, static_cast<float>(slot.logit), static_cast<float>(arrival_us), slot.face,
                              static_cast<std::uint8_t>(decision), slot.flags, 0};
  publisher_.add_decision(record, start);
  if (decision != wire::Decision::rejected) publish_kept(slot, decision, arrival_us);
  slot.owned.reset();  // a udp frame goes back to the receiver's pool
  free_slots_.push(slot_index);  // cannot fail: the free queue holds every slot
  const auto end = SteadyClock::now();
  s.select_and_publish_ns.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count()));
  periodic(end);
}

void Selector::publish_kept(const FrameSlot& slot, wire::Decision decision, double arrival_to_decision_us) {
  wire::FrameHeader header;
  header.face = slot.face;
  header.timestamp = slot.timestamp;
  header.sequence = slot.sequence;
  header.score = slot.logit;
  header.threshold = settings_.threshold;
  header.decision = decision;
  header.missing_streams = slot.missing_streams;
  header.flags = slot.flags;
  if ((slot.flags & wire::flag::truth_known) != 0) {
    header.truth_visible_energy_mev = slot.truth_visible_energy_mev;
    header.truth_nu_energy_mev = slot.truth_nu_energy_mev;
  }
  header.arrival_to_decision_us = arrival_to_decision_us;
  const std::span<const std::uint16_t> adc(slot.adc, daq::Frame::kPixels);
  publisher_.publish_selected(header, adc);  // sets header.message and run
  if (recorder_ != nullptr) recorder_->offer(header, adc);
}

nlohmann::ordered_json Selector::metrics_now(bool with_interval) {
  const double uptime = std::chrono::duration<double>(SteadyClock::now() - start_).count();
  return metrics_json(metrics_, uptime, with_interval ? &baseline_ : nullptr);
}

void Selector::periodic(SteadyClock::time_point now) {
  publisher_.flush_decisions(now, false);
  if (now < next_metrics_) return;
  next_metrics_ += std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(settings_.metrics_interval_s));
  if (next_metrics_ < now) next_metrics_ = now;
  publisher_.poll_subscriptions();
  nlohmann::ordered_json m = metrics_now(true);
  if (settings_.log_metrics) {
    log_status(m);
    warn_of_losses(m);
  }
  publisher_.publish_metrics(std::move(m));
  publisher_.publish_run_info(settings_.run_info);  // late subscribers (recorders) learn the run too
}

void Selector::log_status(const nlohmann::ordered_json& m) const {
  const auto& i = m["interval"];
  const auto& lat = i["latency_us"]["timestamp_to_decision"];
  std::uint64_t deepest = 0;
  for (const auto& [name, q] : m["queues"].items()) deepest = std::max(deepest, q["max"].get<std::uint64_t>());
  const auto& d = m["drops"];
  spdlog::info("{:.0f} frames/s decided, {:.1f}/s selected; latency p50 {:.0f} us, p99 {:.0f} us; deepest queue {}; drops {}",
               i["rate_decided_hz"].get<double>(), i["rate_selected_hz"].get<double>(), lat["p50"].get<double>(), lat["p99"].get<double>(), deepest,
               d["source_no_free_slot"].get<std::uint64_t>() + d["source_queue_full"].get<std::uint64_t>());
}

/// A warning as soon as frames are lost (at the next metrics interval): a run that does not keep up says so
/// while it runs, not only in its summary.
void Selector::warn_of_losses(const nlohmann::ordered_json& m) {
  const auto& d = m["drops"];
  const std::uint64_t no_slot = d["source_no_free_slot"].get<std::uint64_t>(), queue_full = d["source_queue_full"].get<std::uint64_t>();
  const std::uint64_t input = source_.frames_lost_on_input(), lost = no_slot + queue_full + input;
  if (lost <= lost_reported_) return;
  spdlog::warn("lost {} frames since the last report, {} in all (source queue full {}, no free slot {}, incomplete or missing on input "
               "{}): the pipeline is not keeping up with its input",
               lost - lost_reported_, lost, queue_full, no_slot, input);
  lost_reported_ = lost;
}

}  // namespace larsel::pipeline
