#pragma once
// A monotonic event counter with a single writer and any number of readers
// (DUNE-DAQ opmon style: one counter per thing counted, read while running).
// The writer's increment is a relaxed load + store, not a locked read-modify-write.
#include <atomic>
#include <cstdint>

namespace larsel::monitoring {

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// The largest value seen; single writer.
class Maximum {
 public:
  void update(std::uint64_t value) noexcept {
    if (value > value_.load(std::memory_order_relaxed)) value_.store(value, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace larsel::monitoring
