#include "larsel/preprocess/test_support.hpp"

#include <algorithm>
#include <bit>
#include <vector>

#include "channel_update.hpp"
#include "median_network.hpp"

namespace larsel::preprocess::test_support {

std::pair<int, int> median_network_outputs(std::span<const int> values) {
  const MedianNetwork network(values.size());
  std::vector<int> slots(std::bit_ceil(values.size()), 0);
  std::copy(values.begin(), values.end(), slots.begin());
  for (const CompareExchange& c : network.steps()) {
    const int low = std::min(slots[c.low], slots[c.high]), high = std::max(slots[c.low], slots[c.high]);
    if (c.min_used) slots[c.low] = low;
    if (c.max_used) slots[c.high] = high;
  }
  return {slots[network.lower_slot()], slots[network.upper_slot()]};
}

std::size_t median_network_comparators(std::size_t inputs) { return MedianNetwork(inputs).steps().size(); }

std::size_t fixed_median_network_comparators_24() {
  constexpr auto fixed = make_fixed_median_network<24>();
  return fixed.steps.size();
}

std::int32_t divide_by_limit(std::int32_t a, unsigned limit) {
  return detail::divide_by_limit(a, detail::limit_reciprocal(limit));
}

}  // namespace larsel::preprocess::test_support
