#include "stages.hpp"

#include <string>

namespace larsel::pipeline {
namespace {

std::uint64_t elapsed_ns(SteadyClock::time_point since) noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - since).count());
}

}  // namespace

void run_preprocess_stage(FrameQueue& in, const std::atomic<bool>& source_done, std::vector<preprocess::Preprocessor>& per_face,
                          SlotPool& slots, WorkerQueues& workers, PipelineMetrics& metrics, std::atomic<bool>& done) {
  prepare_pipeline_thread("larsel-prep");
  std::size_t next_worker = 0;
  consume_until_done(in, source_done, [&](std::uint32_t index) {
    FrameSlot& slot = slots[index];
    const auto start = SteadyClock::now();
    per_face[slot.face_index].process(preprocess::FrameAdc(slot.adc, daq::Frame::kPixels), {.image = slot.input, .denoised = {}, .filtered = {}});
    metrics.preprocess_ns.record(elapsed_ns(start));
    metrics.frames_preprocessed.add();
    push_waiting(*workers.in[next_worker], index);
    next_worker = (next_worker + 1) % workers.in.size();
  });
  done.store(true, std::memory_order_release);
}

void run_inference_worker(unsigned index, const std::atomic<bool>& preprocess_done, fpga::InferenceBackend& backend, SlotPool& slots,
                          WorkerQueues& workers, PipelineMetrics& metrics) {
  prepare_pipeline_thread("larsel-infer" + std::to_string(index));
  consume_until_done(*workers.in[index], preprocess_done, [&](std::uint32_t slot_index) {
    FrameSlot& slot = slots[slot_index];
    const auto start = SteadyClock::now();
    backend.infer(slot.input, std::span<double>(&slot.logit, 1));
    metrics.inference_ns[index].record(elapsed_ns(start));
    metrics.frames_inferred[index].add();
    push_waiting(*workers.out[index], slot_index);
  });
  workers.done[index].store(true, std::memory_order_release);
}

}  // namespace larsel::pipeline
