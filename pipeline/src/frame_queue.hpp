#pragma once
// A bounded single-producer/single-consumer queue of slot indices between two
// pipeline threads (boost::lockfree::spsc_queue: wait-free, cache-line padded
// indices), with its occupancy sampled by the producer after every push.
#include <cstdint>
#include <string>

#include <boost/lockfree/spsc_queue.hpp>

#include "larsel/monitoring/histogram.hpp"

namespace larsel::pipeline {

class FrameQueue {
 public:
  FrameQueue(std::string name, std::size_t capacity) : name_(std::move(name)), queue_(capacity), occupancy_(capacity) {}

  /// Producer side. False when full (the caller drops and counts, or waits).
  bool push(std::uint32_t slot) noexcept {
    if (!queue_.push(slot)) return false;
    occupancy_.record(occupancy_.capacity() - queue_.write_available());
    return true;
  }
  /// Consumer side. False when empty.
  bool pop(std::uint32_t& slot) noexcept { return queue_.pop(slot); }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const monitoring::OccupancyHistogram& occupancy() const noexcept { return occupancy_; }

 private:
  std::string name_;
  boost::lockfree::spsc_queue<std::uint32_t> queue_;
  monitoring::OccupancyHistogram occupancy_;
};

}  // namespace larsel::pipeline
