#pragma once
// The unit that flows through the pipeline: one 480 x 64 image with what each
// stage adds to it. Slots are allocated once (SlotPool) and passed between
// threads as indices through SPSC queues, so the frame path never allocates.
#include <chrono>
#include <cstdint>
#include <vector>

#include "larsel/daq/frame.hpp"
#include "larsel/pipeline/wire_format.hpp"

namespace larsel::pipeline {

using SteadyClock = std::chrono::steady_clock;

struct FrameSlot {
  daq::FrameHandle owned;            // udp input: the built image, back to the receiver's pool on release
  const std::uint16_t* adc = nullptr;  // the image: owned's, or an entry of the emulator's pool (read only)
  std::uint64_t timestamp = 0;       // 62.5 MHz ticks of the first sample
  std::uint64_t sequence = 0;
  std::uint32_t face = 0;            // global face id
  std::uint32_t face_index = 0;      // 0 .. faces-1: which preprocessor holds this face's channel state
  std::uint32_t missing_streams = 0;
  std::uint8_t flags = 0;            // wire::flag bits known at the source (incomplete, truth)
  float truth_visible_energy_mev = 0, truth_nu_energy_mev = 0;
  SteadyClock::time_point arrival;   // image complete and handed to the pipeline
  std::vector<std::uint8_t> input;   // the CNN input (preprocessed), sized once
  double logit = 0;
};

/// All slots of a run; which thread may touch a slot follows from the queue it was taken from.
class SlotPool {
 public:
  SlotPool(std::size_t slots, std::size_t input_bytes) : slots_(slots) {
    for (auto& s : slots_) s.input.resize(input_bytes);
  }
  [[nodiscard]] FrameSlot& operator[](std::uint32_t index) noexcept { return slots_[index]; }
  [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }

 private:
  std::vector<FrameSlot> slots_;
};

}  // namespace larsel::pipeline
