#include "larsel/monitoring/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include <nlohmann/json.hpp>

namespace larsel::monitoring {
namespace {

/// Single-writer increment: a relaxed load + store, not a locked read-modify-write.
void bump(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) noexcept {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void raise(std::atomic<std::uint64_t>& a, std::uint64_t v) noexcept {
  if (v > a.load(std::memory_order_relaxed)) a.store(v, std::memory_order_relaxed);
}

/// A snapshot of the counters, with each bin's upper edge from `upper_edge(i)`.
template <std::size_t N, typename UpperEdge>
HistogramSnapshot snapshot_of(const std::array<std::atomic<std::uint64_t>, N>& counts, const std::atomic<std::uint64_t>& total,
                              const std::atomic<std::uint64_t>& sum, const std::atomic<std::uint64_t>& max,
                              UpperEdge upper_edge) {
  HistogramSnapshot s;
  s.counts.resize(N);
  s.upper_edges.resize(N);
  for (std::size_t i = 0; i < N; ++i) {
    s.counts[i] = counts[i].load(std::memory_order_relaxed);
    s.upper_edges[i] = upper_edge(i);
  }
  s.total = total.load(std::memory_order_relaxed);
  s.sum = sum.load(std::memory_order_relaxed);
  s.max = max.load(std::memory_order_relaxed);
  return s;
}

}  // namespace

HistogramSnapshot HistogramSnapshot::since(const HistogramSnapshot& earlier) const {
  HistogramSnapshot d = *this;
  if (earlier.counts.size() != counts.size()) return d;
  for (std::size_t i = 0; i < counts.size(); ++i) d.counts[i] -= std::min(d.counts[i], earlier.counts[i]);
  d.total -= std::min(d.total, earlier.total);
  d.sum -= std::min(d.sum, earlier.sum);
  return d;
}

std::uint64_t HistogramSnapshot::quantile(double q) const noexcept {
  std::uint64_t in_bins = 0;
  for (const auto c : counts) in_bins += c;
  if (in_bins == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(in_bins)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(upper_edges[i], max);
  }
  return max;
}

std::size_t LatencyHistogram::bin_of(std::uint64_t value) noexcept {
  if (value < kExactBelow) return static_cast<std::size_t>(value);
  const int exponent = std::bit_width(value) - 1;  // >= 4
  if (exponent > kMaxExponent) return kBins - 1;
  const auto sub = static_cast<std::size_t>((value >> (exponent - kSubBinBits)) & ((1u << kSubBinBits) - 1));
  return kExactBelow + static_cast<std::size_t>(exponent - 4) * (1u << kSubBinBits) + sub;
}

std::uint64_t LatencyHistogram::upper_edge(std::size_t bin) noexcept {
  if (bin < kExactBelow) return bin;
  const std::size_t k = bin - kExactBelow;
  const int exponent = 4 + static_cast<int>(k >> kSubBinBits);
  const std::uint64_t sub = k & ((1u << kSubBinBits) - 1);
  const std::uint64_t width = std::uint64_t{1} << (exponent - kSubBinBits);
  return ((std::uint64_t{1} << kSubBinBits) + sub + 1) * width - 1;
}

void LatencyHistogram::record(std::uint64_t value) noexcept {
  bump(counts_[bin_of(value)]);
  bump(total_);
  bump(sum_, value);
  raise(max_, value);
}

HistogramSnapshot LatencyHistogram::snapshot() const {
  return snapshot_of(counts_, total_, sum_, max_, [](std::size_t i) { return upper_edge(i); });
}

OccupancyHistogram::OccupancyHistogram(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

void OccupancyHistogram::record(std::size_t depth) noexcept {
  const std::size_t bin = std::min(kBins - 1, depth * kBins / (capacity_ + 1));
  bump(counts_[bin]);
  bump(total_);
  bump(sum_, depth);
  current_.store(depth, std::memory_order_relaxed);
  raise(max_, depth);
}

HistogramSnapshot OccupancyHistogram::snapshot() const {
  // Bin i's upper edge: the largest depth d with d * kBins / (capacity + 1) == i.
  const auto upper_edge = [this](std::size_t i) { return ((i + 1) * (capacity_ + 1) + kBins - 1) / kBins - 1; };
  return snapshot_of(counts_, total_, sum_, max_, upper_edge);
}

nlohmann::ordered_json summary_json(const HistogramSnapshot& s, double scale) {
  const auto scaled = [scale](double v) { return std::round(v * scale * 1000.0) / 1000.0; };
  return {{"count", s.total},
          {"mean", scaled(s.mean())},
          {"p50", scaled(static_cast<double>(s.quantile(0.50)))},
          {"p90", scaled(static_cast<double>(s.quantile(0.90)))},
          {"p99", scaled(static_cast<double>(s.quantile(0.99)))},
          {"max", scaled(static_cast<double>(s.max))}};
}

nlohmann::ordered_json bins_json(const HistogramSnapshot& s, double scale) {
  nlohmann::ordered_json edges = nlohmann::json::array(), counts = nlohmann::json::array();
  for (std::size_t i = 0; i < s.counts.size(); ++i) {
    if (s.counts[i] == 0) continue;
    edges.push_back(static_cast<double>(s.upper_edges[i]) * scale);
    counts.push_back(s.counts[i]);
  }
  return {{"upper_edges", edges}, {"counts", counts}};
}

}  // namespace larsel::monitoring
