#include "frame_source.hpp"

#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"

#include "thread_support.hpp"

namespace larsel::pipeline {

std::int64_t unix_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool SlotFeeder::take_free_slot(const std::atomic<bool>& stop) {
  for (;;) {
    const std::uint32_t seen = o_.free_slots.pushes().epoch();  // the selector pushes freed slots
    if (o_.free_slots.pop(spare_index_)) break;
    if (!o_.wait_when_full || stop.load(std::memory_order_relaxed)) return false;
    o_.free_slots.pushes().wait(seen, kWaitTimeout);
  }
  spare_ = true;
  return true;
}

bool SlotFeeder::queue(const std::atomic<bool>& stop) {
  for (;;) {
    const std::uint32_t seen = o_.out.pops().epoch();
    if (o_.out.push(spare_index_)) return true;
    if (!o_.wait_when_full || stop.load(std::memory_order_relaxed)) return false;
    o_.out.pops().wait(seen, kWaitTimeout);
  }
}

}  // namespace larsel::pipeline
