#pragma once
// The middle of the pipeline: the preprocess thread (one Preprocessor per face,
// which carries that face's channel state from frame to frame, so one thread
// sees every frame in order) and the inference workers. Preprocess deals frames
// to the workers in strict rotation and the selector collects them in the same
// rotation, which restores the frame order whatever the worker count. Inner
// stages wait when the next queue is full (back-pressure): only the source drops.
#include <atomic>
#include <memory>
#include <vector>

#include "frame_queue.hpp"
#include "frame_slot.hpp"
#include "larsel/fpga/backend.hpp"
#include "larsel/preprocess/preprocessor.hpp"
#include "pipeline_metrics.hpp"
#include "thread_support.hpp"

namespace larsel::pipeline {

/// Calls `handle(slot)` for every slot from `in` until `upstream_done` is set and `in` is empty.
template <typename Handle>
void consume_until_done(FrameQueue& in, const std::atomic<bool>& upstream_done, Handle&& handle) {
  std::uint32_t slot = 0;
  for (;;) {
    const std::uint32_t seen = in.pushes().epoch();  // before the pop: a push after it moves the epoch
    if (in.pop(slot)) {
      handle(slot);
      continue;
    }
    if (upstream_done.load(std::memory_order_acquire)) {
      if (in.pop(slot)) {  // pushed just before upstream finished
        handle(slot);
        continue;
      }
      return;
    }
    in.pushes().wait(seen, kWaitTimeout);
  }
}

/// Pushes, sleeping while `out` is full until its consumer pops.
inline void push_waiting(FrameQueue& out, std::uint32_t slot) {
  for (;;) {
    const std::uint32_t seen = out.pops().epoch();
    if (out.push(slot)) return;
    out.pops().wait(seen, kWaitTimeout);
  }
}

struct WorkerQueues {
  std::vector<std::unique_ptr<FrameQueue>> in, out;
  std::unique_ptr<std::atomic<bool>[]> done;
};

void run_preprocess_stage(FrameQueue& in, const std::atomic<bool>& source_done, std::vector<preprocess::Preprocessor>& per_face,
                          SlotPool& slots, WorkerQueues& workers, PipelineMetrics& metrics, std::atomic<bool>& done);

void run_inference_worker(unsigned index, const std::atomic<bool>& preprocess_done, fpga::InferenceBackend& backend, SlotPool& slots,
                          WorkerQueues& workers, PipelineMetrics& metrics);

}  // namespace larsel::pipeline
