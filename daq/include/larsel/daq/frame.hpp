#pragma once
// The 480 x 64 collection image of one APA face over one 32.768 us period,
// and a fixed pool that recycles them so the frame path never allocates.
//
// Layout: wire-major, adc[wire * 64 + tick]. Each wire's 64 ticks are one
// contiguous 128-byte run (two cache lines), so the per-channel denoising of
// the next stages (pedestal, noise estimate, threshold, FIR) runs along
// contiguous memory and vectorises over ticks; rows are then the image's
// height (480 wires) and columns its width (64 ticks), the raster order in
// which a streaming (hls4ml io_stream style) CNN consumes it.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <boost/lockfree/queue.hpp>

#include "larsel/daq/channel_map.hpp"

namespace larsel::daq {

struct Frame {
  static constexpr std::size_t kWires = kWiresPerFace;  // 480
  static constexpr std::size_t kTicks = 64;              // 64 x 512 ns
  static constexpr std::size_t kPixels = kWires * kTicks;
  static constexpr std::uint32_t kAllStreams = (1u << kStreamsPerFace) - 1;

  alignas(64) std::array<std::uint16_t, kPixels> adc{};  // 14-bit ADC counts, wire-major
  std::uint64_t timestamp = 0;  // 62.5 MHz ticks of the first sample
  std::uint64_t sequence = 0;   // frame periods since the face's first frame
  std::uint32_t face = 0;       // global face id (2 * APA + face in APA)
  /// Bit i set when stream i of the face's FaceLayout contributed.
  std::uint32_t stream_present_mask = 0;

  [[nodiscard]] bool complete() const noexcept { return stream_present_mask == kAllStreams; }
  [[nodiscard]] std::uint32_t missing_streams() const noexcept { return kAllStreams & ~stream_present_mask; }
  [[nodiscard]] int missing_stream_count() const noexcept { return std::popcount(missing_streams()); }
  [[nodiscard]] std::span<std::uint16_t, kTicks> wire(std::size_t w) noexcept {
    return std::span<std::uint16_t, kTicks>(adc.data() + w * kTicks, kTicks);
  }
  [[nodiscard]] std::span<const std::uint16_t, kTicks> wire(std::size_t w) const noexcept {
    return std::span<const std::uint16_t, kTicks>(adc.data() + w * kTicks, kTicks);
  }
};

/// Fixed set of Frames allocated once. acquire() and the handle's release are
/// lock-free and may happen on different threads.
class FramePool {
 public:
  struct Returner {
    FramePool* pool = nullptr;
    void operator()(Frame* frame) const noexcept { pool->release(frame); }
  };
  using Handle = std::unique_ptr<Frame, Returner>;

  explicit FramePool(std::size_t capacity);
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;

  /// Empty handle when every frame is in use (the caller counts that).
  [[nodiscard]] Handle acquire() noexcept;
  [[nodiscard]] std::size_t capacity() const noexcept { return frames_.size(); }

 private:
  void release(Frame* frame) noexcept;
  std::vector<Frame> frames_;
  boost::lockfree::queue<std::uint32_t> free_;
};

using FrameHandle = FramePool::Handle;

}  // namespace larsel::daq
