// Histograms behind the pipeline's metrics: bin edges, quantiles, interval differences, occupancy.
#include <catch2/catch.hpp>

#include "larsel/monitoring/histogram.hpp"

using namespace larsel::monitoring;

TEST_CASE("latency histogram bins hold their values and are at most 1/8 wide", "[monitoring]") {
  for (std::uint64_t v : {0ULL, 1ULL, 15ULL, 16ULL, 17ULL, 31ULL, 32ULL, 1000ULL, 32768ULL, 123456789ULL, (1ULL << 47) - 1}) {
    const std::size_t bin = LatencyHistogram::bin_of(v);
    INFO("value " << v << " bin " << bin);
    CHECK(v <= LatencyHistogram::upper_edge(bin));
    if (bin > 0) CHECK(v > LatencyHistogram::upper_edge(bin - 1));
  }
  for (std::size_t bin = LatencyHistogram::kExactBelow + 1; bin < LatencyHistogram::kBins; ++bin) {
    const double lower = static_cast<double>(LatencyHistogram::upper_edge(bin - 1)) + 1;
    const double width = static_cast<double>(LatencyHistogram::upper_edge(bin)) - lower + 1;
    CHECK(width <= lower / 8 + 1e-9);
  }
  CHECK(LatencyHistogram::bin_of(~0ULL) == LatencyHistogram::kBins - 1);
}

TEST_CASE("latency quantiles are within a bin of the exact ones, and intervals subtract", "[monitoring]") {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 10000; ++v) h.record(v * 100);  // 100 ns .. 1 ms, uniform
  const HistogramSnapshot first = h.snapshot();
  CHECK(first.total == 10000);
  CHECK(first.max == 1'000'000);
  CHECK(first.mean() == Approx(500'050.0));
  CHECK(static_cast<double>(first.quantile(0.5)) == Approx(500'000.0).epsilon(0.125));
  CHECK(static_cast<double>(first.quantile(0.99)) == Approx(990'000.0).epsilon(0.125));
  for (int i = 0; i < 100; ++i) h.record(5'000'000);
  const HistogramSnapshot interval = h.snapshot().since(first);
  CHECK(interval.total == 100);
  CHECK(static_cast<double>(interval.quantile(0.5)) == Approx(5'000'000.0).epsilon(0.125));
  CHECK(HistogramSnapshot{}.quantile(0.5) == 0);
}

TEST_CASE("queue occupancy keeps current, maximum and a histogram over the capacity", "[monitoring]") {
  OccupancyHistogram occupancy(512);
  for (std::size_t d : {0u, 1u, 2u, 300u, 512u, 5u}) occupancy.record(d);
  CHECK(occupancy.current() == 5);
  CHECK(occupancy.maximum() == 512);
  const HistogramSnapshot s = occupancy.snapshot();
  CHECK(s.total == 6);
  CHECK(s.counts.front() == 4);  // 0, 1, 2, 5
  CHECK(s.counts.back() == 1);   // full
  CHECK(s.upper_edges.back() == 512);
  for (std::size_t i = 1; i < s.upper_edges.size(); ++i) CHECK(s.upper_edges[i] > s.upper_edges[i - 1]);
  std::uint64_t binned = 0;
  for (const auto c : s.counts) binned += c;
  CHECK(binned == 6);
}
