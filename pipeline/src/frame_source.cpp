#include "frame_source.hpp"

#include <thread>

#include "thread_support.hpp"

namespace larsel::pipeline {

std::int64_t unix_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool SlotFeeder::take_free_slot(const std::atomic<bool>& stop) {
  IdleBackoff idle;
  while (!o_.free_slots.pop(spare_index_)) {
    if (!o_.wait_when_full || stop.load(std::memory_order_relaxed)) return false;
    idle.wait();
  }
  spare_ = true;
  return true;
}

bool SlotFeeder::queue(const std::atomic<bool>& stop) {
  IdleBackoff idle;
  while (!o_.out.push(spare_index_)) {
    if (!o_.wait_when_full || stop.load(std::memory_order_relaxed)) return false;
    idle.wait();
  }
  return true;
}

}  // namespace larsel::pipeline
