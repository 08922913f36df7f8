#pragma once
// Compare-exchange network that leaves the median of n values in known slots:
// Batcher's odd-even merge sort on the next power of two, with the padding
// (+infinity) inputs folded away and every comparator that cannot reach the
// middle outputs removed. Applied to whole rows at once (one vector min and
// max per comparator for 64 ticks), it computes the per-tick median of a
// coherent-noise group without branches, as FPGA median filters do.
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace larsel::preprocess {

struct CompareExchange {
  std::uint8_t low = 0;   // slot that receives min(slot[low], slot[high])
  std::uint8_t high = 0;  // slot that receives max(...)
  bool min_used = true;   // the min result is read later (or is an output)
  bool max_used = true;   // the max result is read later (or is an output)
};

namespace network_detail {

using Pair = std::pair<std::size_t, std::size_t>;

/// Batcher's odd-even merge sort network for `size` (a power of two) inputs,
/// in execution order (Knuth, TAOCP vol. 3, 5.3.4).
constexpr std::vector<Pair> odd_even_merge_sort(std::size_t size) {
  std::vector<Pair> pairs;
  for (std::size_t p = 1; p < size; p <<= 1) {
    for (std::size_t k = p; k >= 1; k >>= 1) {
      for (std::size_t j = k % p; j + k < size; j += 2 * k) {
        for (std::size_t i = 0; i < std::min(k, size - j - k); ++i) {
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p)) pairs.emplace_back(i + j, i + j + k);
        }
      }
    }
  }
  return pairs;
}

/// Executes the network symbolically: positions >= inputs hold +infinity, so a
/// comparator against one is either nothing or a relabelling of slots. Returns
/// the real comparators on physical slots and the slot finally at each position.
constexpr std::vector<CompareExchange> fold_padding(const std::vector<Pair>& pairs, std::size_t inputs, std::size_t size,
                                          std::vector<std::size_t>& slot_at) {
  // Filled element by element: clang 14 rejects libstdc++'s sized construction of trivial elements in a
  // constant expression (it assigns to not-yet-constructed objects).
  std::vector<char> infinite;
  slot_at.clear();
  for (std::size_t p = 0; p < size; ++p) {
    slot_at.push_back(p);
    infinite.push_back(p >= inputs);
  }
  std::vector<CompareExchange> steps;
  for (const auto& [lo, hi] : pairs) {
    if (infinite[hi]) continue;  // min(v, inf) = v stays low, inf stays high
    if (infinite[lo]) {          // the finite value moves down, the infinity up
      std::swap(slot_at[lo], slot_at[hi]);
      std::swap(infinite[lo], infinite[hi]);
      continue;
    }
    steps.push_back({static_cast<std::uint8_t>(slot_at[lo]), static_cast<std::uint8_t>(slot_at[hi]), true, true});
  }
  return steps;
}

/// Drops comparators none of whose results reach `outputs`, and marks results nobody reads.
constexpr std::vector<CompareExchange> prune(const std::vector<CompareExchange>& steps, std::size_t slots,
                                             std::size_t lower, std::size_t upper) {
  std::vector<char> live;
  for (std::size_t s = 0; s < slots; ++s) live.push_back(0);  // not live(slots, 0): see fold_padding
  live[lower] = live[upper] = 1;
  std::vector<CompareExchange> kept;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    CompareExchange step = *it;
    step.min_used = live[step.low];
    step.max_used = live[step.high];
    if (!step.min_used && !step.max_used) continue;
    live[step.low] = live[step.high] = 1;  // both inputs are needed
    kept.push_back(step);
  }
  std::reverse(kept.begin(), kept.end());
  return kept;
}

/// The pruned steps for `inputs` values; sets the two output slots.
constexpr std::vector<CompareExchange> median_steps(std::size_t inputs, std::uint8_t& lower, std::uint8_t& upper) {
  const std::size_t size = std::bit_ceil(inputs);
  std::vector<std::size_t> slot_at;
  const auto steps = fold_padding(odd_even_merge_sort(size), inputs, size, slot_at);
  lower = static_cast<std::uint8_t>(slot_at[(inputs - 1) / 2]);
  upper = static_cast<std::uint8_t>(slot_at[inputs / 2]);
  return prune(steps, size, lower, upper);
}

}  // namespace network_detail

/// A network fixed at compile time (the kernels keep all rows in registers).
template <std::size_t Inputs>
struct FixedMedianNetwork {
  static constexpr std::size_t size() {
    std::uint8_t lower = 0, upper = 0;
    return network_detail::median_steps(Inputs, lower, upper).size();
  }
  std::array<CompareExchange, size()> steps{};
  std::uint8_t lower_slot = 0, upper_slot = 0;
};
template <std::size_t Inputs>
consteval FixedMedianNetwork<Inputs> make_fixed_median_network() {
  FixedMedianNetwork<Inputs> n;
  const auto steps = network_detail::median_steps(Inputs, n.lower_slot, n.upper_slot);
  for (std::size_t i = 0; i < steps.size(); ++i) n.steps[i] = steps[i];
  return n;
}

class MedianNetwork {
 public:
  static constexpr std::size_t kMaxInputs = 128;
  /// Throws std::invalid_argument unless 1 <= inputs <= kMaxInputs.
  explicit MedianNetwork(std::size_t inputs);

  [[nodiscard]] std::size_t inputs() const noexcept { return inputs_; }
  [[nodiscard]] const std::vector<CompareExchange>& steps() const noexcept { return steps_; }
  /// After the steps, slot lower_slot() holds the (n-1)/2-th smallest value and
  /// slot upper_slot() the n/2-th (the same slot when n is odd).
  [[nodiscard]] std::uint8_t lower_slot() const noexcept { return lower_slot_; }
  [[nodiscard]] std::uint8_t upper_slot() const noexcept { return upper_slot_; }

 private:
  std::size_t inputs_;
  std::vector<CompareExchange> steps_;
  std::uint8_t lower_slot_ = 0, upper_slot_ = 0;
};

}  // namespace larsel::preprocess
