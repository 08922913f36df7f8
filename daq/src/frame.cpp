#include "larsel/daq/frame.hpp"

#include "larsel/core/errors.hpp"

namespace larsel::daq {

FramePool::FramePool(std::size_t capacity) : frames_(capacity), free_(capacity) {
  if (capacity == 0 || capacity > UINT32_MAX) throw core::ConfigError("frame pool capacity must be at least 1");
  for (std::uint32_t i = 0; i < capacity; ++i) free_.bounded_push(i);
}

FramePool::Handle FramePool::acquire() noexcept {
  std::uint32_t index;
  if (!free_.pop(index)) return Handle(nullptr, Returner{this});
  return Handle(&frames_[index], Returner{this});
}

void FramePool::release(Frame* frame) noexcept {
  // The pool preallocated a node per frame, so bounded_push cannot fail.
  free_.bounded_push(static_cast<std::uint32_t>(frame - frames_.data()));
}

}  // namespace larsel::daq
