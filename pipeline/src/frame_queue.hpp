#pragma once
// A bounded single-producer/single-consumer queue of slot indices between two
// pipeline threads (boost::lockfree::spsc_queue: wait-free, cache-line padded
// indices), with its occupancy sampled by the producer after every push, and
// the wakers its consumer (on pushes) and producer (on pops, when full) sleep on.
#include <cstdint>
#include <string>

#include <boost/lockfree/spsc_queue.hpp>

#include "larsel/monitoring/histogram.hpp"
#include "thread_support.hpp"

namespace larsel::pipeline {

class FrameQueue {
 public:
  FrameQueue(std::string name, std::size_t capacity) : name_(std::move(name)), queue_(capacity), occupancy_(capacity) {}

  /// Producer side. False when full (the caller drops and counts, or waits on pops()).
  bool push(std::uint32_t slot) noexcept {
    if (!queue_.push(slot)) return false;
    occupancy_.record(occupancy_.capacity() - queue_.write_available());
    pushes_.wake();
    return true;
  }
  /// Consumer side. False when empty (the caller waits on pushes()).
  bool pop(std::uint32_t& slot) noexcept {
    if (!queue_.pop(slot)) return false;
    pops_.wake();
    return true;
  }
  /// Moves on every push, and on signal(): the consumer sleeps on it.
  [[nodiscard]] Waker& pushes() noexcept { return pushes_; }
  /// Moves on every pop: a producer facing a full queue sleeps on it.
  [[nodiscard]] Waker& pops() noexcept { return pops_; }
  /// Wakes the consumer without a frame (its producer is done).
  void signal() noexcept { pushes_.wake(); }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const monitoring::OccupancyHistogram& occupancy() const noexcept { return occupancy_; }

 private:
  std::string name_;
  boost::lockfree::spsc_queue<std::uint32_t> queue_;
  monitoring::OccupancyHistogram occupancy_;
  alignas(64) Waker pushes_;  // written by the producer
  alignas(64) Waker pops_;    // written by the consumer
};

}  // namespace larsel::pipeline
