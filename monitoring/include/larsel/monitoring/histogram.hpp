#pragma once
// Histograms filled on the frame path and read live by the metrics publisher.
// One writer each (the stage that owns it), relaxed atomics, no allocation
// after construction; readers take a Snapshot and diff two of them to get an
// interval's distribution (so nothing is ever reset under the writer).
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace larsel::monitoring {

/// Counts per bin at one moment, with the bins' upper edges.
struct HistogramSnapshot {
  std::vector<std::uint64_t> counts;
  std::vector<std::uint64_t> upper_edges;  // bin i holds values in (upper_edges[i-1], upper_edges[i]]
  std::uint64_t total = 0;
  std::uint64_t sum = 0;
  std::uint64_t max = 0;

  /// This snapshot minus an earlier one of the same histogram (max stays this one's).
  [[nodiscard]] HistogramSnapshot since(const HistogramSnapshot& earlier) const;
  /// Upper edge of the bin holding quantile q in [0, 1] (0 when empty).
  [[nodiscard]] std::uint64_t quantile(double q) const noexcept;
  [[nodiscard]] double mean() const noexcept { return total == 0 ? 0.0 : static_cast<double>(sum) / static_cast<double>(total); }
};

/// Log-linear bins for durations in nanoseconds (or any non-negative integer):
/// exact below 16, then 8 bins per power of two (bin width <= 1/8 of its
/// lower edge, so quantiles are within 12.5 %), up to 2^47 (~39 h in ns).
class LatencyHistogram {
 public:
  static constexpr int kSubBinBits = 3;
  static constexpr std::uint64_t kExactBelow = 16;
  static constexpr int kMaxExponent = 47;
  static constexpr std::size_t kBins = kExactBelow + (kMaxExponent - 3) * (1u << kSubBinBits);

  static std::size_t bin_of(std::uint64_t value) noexcept;
  static std::uint64_t upper_edge(std::size_t bin) noexcept;

  void record(std::uint64_t value) noexcept;
  [[nodiscard]] HistogramSnapshot snapshot() const;

 private:
  std::array<std::atomic<std::uint64_t>, kBins> counts_{};
  std::atomic<std::uint64_t> total_{0}, sum_{0}, max_{0};
};

/// Occupancy of a bounded queue: the current and largest depth and a
/// histogram of the depth sampled by the producer after each push, in
/// kBins equal bins of the capacity (bin 0 holds depth 0 and 1).
class OccupancyHistogram {
 public:
  static constexpr std::size_t kBins = 16;
  explicit OccupancyHistogram(std::size_t capacity);

  void record(std::size_t depth) noexcept;
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::uint64_t current() const noexcept { return current_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t maximum() const noexcept { return max_.load(std::memory_order_relaxed); }
  [[nodiscard]] HistogramSnapshot snapshot() const;

 private:
  std::size_t capacity_;
  std::array<std::atomic<std::uint64_t>, kBins> counts_{};
  std::atomic<std::uint64_t> current_{0}, max_{0}, total_{0}, sum_{0};
};

/// {"count", "mean", "p50", "p90", "p99", "max"} with values scaled by `scale` (e.g. 1e-3: ns -> us).
nlohmann::ordered_json summary_json(const HistogramSnapshot& snapshot, double scale);
/// {"upper_edges": [...], "counts": [...]} of the non-empty bins only.
nlohmann::ordered_json bins_json(const HistogramSnapshot& snapshot, double scale);

}  // namespace larsel::monitoring
